// Package testenv finds the test services that scripts/test-services.sh starts
// on 127.0.0.1 (MinIO, versitygw, fake-gcs-server, ...) and hands tests a
// fresh, isolated resource on them (a bucket, a prefix).
//
// A test that needs a service calls e.g. testenv.MinIO(t). When the service is
// not reachable the test is skipped with a message naming the command that
// starts it, so a plain `go test ./...` passes on any machine. When
// CIVICPORT_REQUIRE_SERVICES=1 (set by scripts/test-services.sh, and so by CI)
// a missing service fails the test instead: the full run must never skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartCommand is the command that installs and starts every test service.
const StartCommand = "scripts/test-services.sh"

// Default credentials accepted by every S3-style test service the script starts.
const (
	DefaultAccessKey = "emuadmin"
	DefaultSecretKey = "emuadmin-secret"
	DefaultRegion    = "us-east-1"
)

// Required reports whether missing services must fail tests instead of
// skipping them.
func Required() bool { return os.Getenv("CIVICPORT_REQUIRE_SERVICES") == "1" }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

var awsEnvOnce sync.Once

// ensureAWSEnv makes sure the AWS SDK (used by gocloud's s3blob, awskms,
// awssnssqs) finds static credentials and never asks a cloud metadata
// endpoint. Values already set in the environment win.
func ensureAWSEnv() {
	awsEnvOnce.Do(func() {
		for k, v := range map[string]string{
			"AWS_ACCESS_KEY_ID":         DefaultAccessKey,
			"AWS_SECRET_ACCESS_KEY":     DefaultSecretKey,
			"AWS_REGION":                DefaultRegion,
			"AWS_EC2_METADATA_DISABLED": "true",
		} {
			if os.Getenv(k) == "" {
				os.Setenv(k, v)
			}
		}
	})
}

// serviceHost is the host:port of a test service: $envKey, else def. When
// probe(host) fails, t is skipped (or failed when services are required).
func serviceHost(t testing.TB, service, envKey, def string, probe func(host string) error) string {
	t.Helper()
	host := env(envKey, def)
	if err := probe(host); err != nil {
		unavailable(t, service, host, err)
	}
	return host
}

// probePath is a probe for serviceHost: an HTTP GET of path on the host.
func probePath(path string) func(host string) error {
	return func(host string) error { return probeHTTP("http://" + host + path) }
}

// cleanupLogged runs del when t ends, logging rather than failing when it
// fails: what is left behind stays on a throw-away test server.
func cleanupLogged(t testing.TB, what string, del func(ctx context.Context) error) {
	t.Cleanup(func() {
		if err := del(context.Background()); err != nil {
			t.Logf("cleanup: %s: %v", what, err)
		}
	})
}

// unavailable skips t (or fails it when services are required).
func unavailable(t testing.TB, service, addr string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s not reachable at %s (%v); start the test services with: %s", service, addr, err, StartCommand)
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// probe checks an HTTP health endpoint; cached per URL for the process.
var (
	probeMu    sync.Mutex
	probeCache = map[string]error{}
)

func probeHTTP(url string) error {
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probeCache[url]; ok {
		return err
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			err = fmt.Errorf("health check %s: HTTP %d", url, resp.StatusCode)
		}
	}
	probeCache[url] = err
	return err
}

func probeTCP(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// UniqueName returns prefix + "-" + a random lower-case hex suffix, short
// enough for a bucket name (3-63 characters) and unique across runs.
func UniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	name := strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	return name
}

// Context returns a context cancelled when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// MainSkipping runs m (from a TestMain) with patterns added to -test.skip:
// subtests a package leaves out because their behaviour is a known
// difference, asserted instead by tests of its own.
func MainSkipping(m *testing.M, patterns []string) int {
	flag.Parse()
	skip := flag.Lookup("test.skip")
	pats := make([]string, 0, len(patterns)+1)
	if v := skip.Value.String(); v != "" {
		pats = append(pats, v)
	}
	pats = append(pats, patterns...)
	if err := skip.Value.Set(strings.Join(pats, "|")); err != nil {
		panic(err)
	}
	return m.Run()
}

// NoAWSCredentials leaves the AWS SDK without any credentials for the rest
// of t: none in the environment, no config or credentials file, and the
// instance metadata endpoint (off this machine) disabled.
func NoAWSCredentials(t testing.TB) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

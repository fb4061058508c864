package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// GCS is the fake-gcs-server test server (Google Cloud Storage JSON API).
type GCS struct {
	Host string // host:port, e.g. 127.0.0.1:4443
}

var gcsEnvOnce sync.Once

// FakeGCS returns the fake-gcs-server test server (CIVICPORT_FAKEGCS_ADDR,
// default 127.0.0.1:4443), skipping t if it is not running. It points
// STORAGE_EMULATOR_HOST at the server for the whole test process, so gocloud's
// gcsblob talks to it.
func FakeGCS(t testing.TB) GCS {
	t.Helper()
	g := GCS{Host: serviceHost(t, "fake-gcs-server", "CIVICPORT_FAKEGCS_ADDR", "127.0.0.1:4443", probePath("/storage/v1/b"))}
	gcsEnvOnce.Do(func() {
		if os.Getenv("STORAGE_EMULATOR_HOST") == "" {
			os.Setenv("STORAGE_EMULATOR_HOST", g.Host)
		}
	})
	return g
}

// NewBucket creates a bucket with a unique name and deletes its objects and
// the bucket when t ends. It returns the bucket name.
func (g GCS) NewBucket(t testing.TB) string {
	t.Helper()
	name := UniqueName("cp-gcs")
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+g.Host+"/storage/v1/b?project=civicport", "application/json",
		bytes.NewReader([]byte(fmt.Sprintf(`{"name":%q}`, name))))
	if err != nil {
		t.Fatalf("create gcs bucket %s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("create gcs bucket %s: HTTP %d", name, resp.StatusCode)
	}
	t.Cleanup(func() {
		// fake-gcs-server refuses to delete a non-empty bucket; the data
		// lives in the script's throw-away directory, so leftovers are harmless.
		req, _ := http.NewRequest(http.MethodDelete, "http://"+g.Host+"/storage/v1/b/"+name, nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return name
}

// GSURL is a gocloud gs:// URL for bucket on this server (anonymous access).
func (g GCS) GSURL(bucket string) string { return "gs://" + bucket + "?anonymous=true" }

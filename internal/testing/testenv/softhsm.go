package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SoftHSM token settings used by scripts/test-services.sh.
const (
	SoftHSMTokenLabel = "civicport"
	SoftHSMPIN        = "1234"
	SoftHSMSOPIN      = "5678"
)

// HSM is a PKCS#11 token for tests.
type HSM struct {
	Module string // PKCS#11 library path
	Token  string // token label
	PIN    string // user PIN
	Conf   string // SOFTHSM2_CONF
}

// runDir is where scripts/test-services.sh keeps data, logs and env.sh.
func runDir() string {
	if r := os.Getenv("CIVICPORT_RUN"); r != "" {
		return r
	}
	return filepath.Join(filepath.Dir(filepath.Dir(minioBinary())), "run")
}

// SoftHSM returns the SoftHSM2 token scripts/test-services.sh initialises
// (module CIVICPORT_SOFTHSM_MODULE, default /usr/lib/softhsm/libsofthsm2.so;
// configuration SOFTHSM2_CONF, default $CIVICPORT_RUN/softhsm/softhsm2.conf),
// skipping t (or failing it when services are required) if either is
// missing. It sets SOFTHSM2_CONF for the process.
func SoftHSM(t testing.TB) HSM {
	t.Helper()
	h := HSM{
		Module: env("CIVICPORT_SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
		Token:  SoftHSMTokenLabel,
		PIN:    SoftHSMPIN,
		Conf:   env("SOFTHSM2_CONF", filepath.Join(runDir(), "softhsm", "softhsm2.conf")),
	}
	if _, err := os.Stat(h.Module); err != nil {
		unavailable(t, "SoftHSM2 module", h.Module, err)
	}
	if _, err := os.Stat(h.Conf); err != nil {
		unavailable(t, "SoftHSM2 configuration", h.Conf, err)
	}
	dir, err := tokenDir(h.Conf)
	if err == nil {
		var tokens []string
		tokens, err = filepath.Glob(filepath.Join(dir, "*"))
		if err == nil && len(tokens) == 0 {
			err = errors.New("no token initialised")
		}
	}
	if err != nil {
		unavailable(t, "SoftHSM2 token "+h.Token, h.Conf, err)
	}
	os.Setenv("SOFTHSM2_CONF", h.Conf)
	return h
}

// KeyGenerator makes a key labelled label on a PKCS#11 token:
// adapters/pkcs11's GenerateKey, passed in by the tests so that this package
// links no cgo PKCS#11.
type KeyGenerator = func(ctx context.Context, module, token, pin, label string) error

// NewKey makes a fresh key on h's token with generate and returns its label.
func (h HSM) NewKey(t testing.TB, generate KeyGenerator) string {
	t.Helper()
	label := UniqueName("key")
	if err := generate(context.Background(), h.Module, h.Token, h.PIN, label); err != nil {
		t.Fatalf("generate key %s on token %s: %v", label, h.Token, err)
	}
	return label
}

// URL is the pkcs11:// URL of the key labelled label on h's token, naming the
// module (the PIN comes from $PKCS11_PIN, as the keeper reads it).
func (h HSM) URL(label string) string {
	return fmt.Sprintf("pkcs11://%s/%s?module=%s", h.Token, label, url.QueryEscape(h.Module))
}

// NewKeyURL makes a fresh key on h's token with generate and returns its
// pkcs11:// URL.
func (h HSM) NewKeyURL(t testing.TB, generate KeyGenerator) string {
	t.Helper()
	return h.URL(h.NewKey(t, generate))
}

// tokenDir reads directories.tokendir from a SoftHSM2 configuration file.
func tokenDir(conf string) (string, error) {
	b, err := os.ReadFile(conf)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "directories.tokendir" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("no directories.tokendir in " + conf)
}

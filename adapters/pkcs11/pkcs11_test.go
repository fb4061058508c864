package pkcs11_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"

	"github.com/civicport/civicport/adapters/pkcs11"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func open(t *testing.T, h testenv.HSM, label string) *secrets.Keeper {
	t.Helper()
	k, err := pkcs11.OpenKeeper(context.Background(), pkcs11.Options{Module: h.Module, Token: h.Token, Key: label, PIN: h.PIN})
	require.NoError(t, err)
	return k
}

type harness struct {
	t *testing.T
	h testenv.HSM
}

func (h harness) MakeDriver(ctx context.Context) (driver.Keeper, driver.Keeper, error) {
	k1 := open(h.t, h.h, h.h.NewKey(h.t, pkcs11.GenerateKey))
	k2 := open(h.t, h.h, h.h.NewKey(h.t, pkcs11.GenerateKey))
	return driveradapter.Keeper(k1), driveradapter.Keeper(k2), nil
}

func (harness) Close() {}

func TestConformanceSoftHSM(t *testing.T) {
	h := testenv.SoftHSM(t)
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		return harness{t: t, h: h}, nil
	}, nil)
}

func TestURL(t *testing.T) {
	h := testenv.SoftHSM(t)
	ctx := context.Background()
	label := testenv.UniqueName("url")
	t.Setenv(pkcs11.EnvPIN, "")
	pinFile := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(pinFile, []byte(h.PIN+"\n"), 0o600))
	u := fmt.Sprintf("pkcs11://%s/%s?module=%s&pin_file=%s&create=true", h.Token, label, url.QueryEscape(h.Module), url.QueryEscape(pinFile))

	k, err := secrets.OpenKeeper(ctx, u)
	require.NoError(t, err)
	ct, err := k.Encrypt(ctx, []byte("tally"))
	require.NoError(t, err)
	require.NoError(t, k.Close())

	// Reopen without create: the key persists on the token; the PIN from the environment.
	t.Setenv(pkcs11.EnvPIN, h.PIN)
	t.Setenv(pkcs11.EnvModule, h.Module)
	k2, err := secrets.OpenKeeper(ctx, fmt.Sprintf("pkcs11://%s/%s", h.Token, label))
	require.NoError(t, err)
	defer k2.Close()
	pt, err := k2.Decrypt(ctx, ct)
	require.NoError(t, err)
	assert.Equal(t, "tally", string(pt))

	// Tampering is detected.
	ct[len(ct)-1] ^= 1
	_, err = k2.Decrypt(ctx, ct)
	require.Error(t, err)
}

func TestURLErrorsNeverShowThePIN(t *testing.T) {
	h := testenv.SoftHSM(t)
	ctx := context.Background()
	t.Setenv(pkcs11.EnvModule, h.Module)
	for name, tc := range map[string]struct {
		url, pin, want string
	}{
		"pin in URL":    {url: "pkcs11://" + h.Token + "/k?pin=98765432", pin: h.PIN, want: "must not be in the URL"},
		"wrong PIN":     {url: "pkcs11://" + h.Token + "/k", pin: "98765432", want: "login"},
		"no token":      {url: "pkcs11://no-such-token/k", pin: h.PIN, want: `no token labelled "no-such-token"`},
		"no key":        {url: "pkcs11://" + h.Token + "/no-such-key", pin: h.PIN, want: `no AES key labelled "no-such-key"`},
		"bad module":    {url: "pkcs11://" + h.Token + "/k?module=/nonexistent.so", pin: h.PIN, want: "cannot load module"},
		"unknown param": {url: "pkcs11://" + h.Token + "/k?colour=red", pin: h.PIN, want: "unknown URL parameter"},
		"no key label":  {url: "pkcs11://" + h.Token, pin: h.PIN, want: "want pkcs11://TOKENLABEL/KEYLABEL"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(pkcs11.EnvPIN, tc.pin)
			_, err := secrets.OpenKeeper(ctx, tc.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "98765432")
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	h := testenv.SoftHSM(t)
	ctx := context.Background()
	k := open(t, h, h.NewKey(t, pkcs11.GenerateKey))
	defer k.Close()
	other := open(t, h, h.NewKey(t, pkcs11.GenerateKey)) // a second keeper on the same module
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			msg := []byte(strings.Repeat("x", i))
			ct, err := k.Encrypt(ctx, msg)
			if err == nil {
				var pt []byte
				pt, err = k.Decrypt(ctx, ct)
				if err == nil && string(pt) != string(msg) {
					err = fmt.Errorf("round trip %d: got %q", i, pt)
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Closing one keeper leaves the other (same module) working.
	require.NoError(t, other.Close())
	_, err := k.Encrypt(ctx, []byte("still open"))
	require.NoError(t, err)
}

func TestGenerateKeyTwiceFails(t *testing.T) {
	h := testenv.SoftHSM(t)
	label := h.NewKey(t, pkcs11.GenerateKey)
	err := pkcs11.GenerateKey(context.Background(), h.Module, h.Token, h.PIN, label)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already has a key labelled")
}

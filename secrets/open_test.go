package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/adapters/pkcs11"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/gcpkmsfake"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
	"github.com/civicport/civicport/secrets/ring"
)

func base64KeyURL(t *testing.T) string {
	t.Helper()
	k, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	return "base64key://" + base64.URLEncoding.EncodeToString(k[:])
}

func ringURL(members ...string) string {
	q := url.Values{"keeper": members}
	return "ring://?" + q.Encode()
}

func roundTrip(t *testing.T, urlstr string) {
	t.Helper()
	ctx := context.Background()
	k, err := secrets.Open(ctx, urlstr)
	require.NoError(t, err)
	defer k.Close()
	ct, err := k.Encrypt(ctx, []byte("canvass"))
	require.NoError(t, err)
	pt, err := k.Decrypt(ctx, ct)
	require.NoError(t, err)
	assert.Equal(t, "canvass", string(pt))
}

func TestSchemes(t *testing.T) {
	s := secrets.Schemes()
	for _, want := range []string{"awskms", "base64key", "gcpkms", "pkcs11", "ring"} {
		assert.Contains(t, s, want)
	}
}

func TestOpenBase64Key(t *testing.T) { roundTrip(t, base64KeyURL(t)) }

func TestOpenBadURLs(t *testing.T) {
	ctx := context.Background()
	key := base64KeyURL(t)
	secret := strings.TrimPrefix(key, "base64key://")
	for name, tc := range map[string]struct{ url, want string }{
		"empty":          {"", "empty URL"},
		"no scheme":      {"just-a-key", "URL has no scheme"},
		"unknown scheme": {"vault://x/y", `unknown scheme "vault"`},
		"malformed":      {"awskms://k\x7f?region=x", "malformed URL"},
		"bad base64key":  {"base64key://" + secret[:10], "open keeper base64key://sha256:"},
		"bad awskms":     {"awskms://k?region=us-east-1&bogus=1", "bogus"},
		"ring no member": {"ring://", "no members"},
		"ring bad param": {"ring://?keeper=" + url.QueryEscape(key) + "&pin=123456", `unknown parameter "pin"`},
		"ring bad member": {ringURL(key, "vault://x"),
			`ring member 2: open keeper vault://x: unknown scheme "vault"`},
		"ring same member twice": {ringURL(key, key), "given twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := secrets.Open(ctx, tc.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), secret[:10], "key material in the error")
			assert.NotContains(t, err.Error(), "123456")
			var oe *secrets.OpenError
			if errors.As(err, &oe) && oe.Err != nil {
				assert.NotContains(t, oe.Err.Error(), secret[:10], "key material in the cause")
				assert.NotContains(t, oe.Err.Error(), "123456")
			}
			if strings.Contains(tc.want, "scheme") || name == "empty" || name == "malformed" {
				assert.Contains(t, err.Error(), "awskms, base64key, gcpkms, pkcs11, ring", "lists the schemes")
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	key := base64KeyURL(t)
	r := secrets.RedactURL(key)
	assert.True(t, strings.HasPrefix(r, "base64key://sha256:"), r)
	assert.NotEqual(t, r, secrets.RedactURL(base64KeyURL(t)), "distinct keys, distinct ids")
	ring := secrets.RedactURL(ringURL(key, "pkcs11://tok/k?pin=1234"))
	assert.NotContains(t, ring, strings.TrimPrefix(key, "base64key://"))
	assert.NotContains(t, ring, "1234")
	assert.Contains(t, ring, url.QueryEscape(r))
}

func TestOpenRing(t *testing.T) {
	ctx := context.Background()
	a, b := base64KeyURL(t), base64KeyURL(t)
	roundTrip(t, ringURL(a, b))

	r, err := secrets.Open(ctx, ringURL(a, b))
	require.NoError(t, err)
	defer r.Close()
	ct, err := r.Encrypt(ctx, []byte("precinct 7"))
	require.NoError(t, err)

	// A ring holding only the second member, plus an unrelated key, still decrypts
	// and reports which member did, by its redacted URL.
	r2, err := secrets.Open(ctx, ringURL(base64KeyURL(t), b))
	require.NoError(t, err)
	defer r2.Close()
	pt, used, err := ring.DecryptWith(ctx, r2, ct)
	require.NoError(t, err)
	assert.Equal(t, "precinct 7", string(pt))
	assert.Equal(t, secrets.RedactURL(b), used)
	// No key material in the ciphertext's member ids.
	assert.False(t, bytes.Contains(ct, []byte(strings.TrimPrefix(b, "base64key://"))))
}

// keeperURLHarness runs gocloud's drivertest on keepers opened by URL.
type keeperURLHarness struct {
	t   *testing.T
	url func() string
}

func (h keeperURLHarness) MakeDriver(ctx context.Context) (driver.Keeper, driver.Keeper, error) {
	k1, err := secrets.Open(ctx, h.url())
	if err != nil {
		return nil, nil, err
	}
	k2, err := secrets.Open(ctx, h.url())
	if err != nil {
		return nil, nil, err
	}
	return driveradapter.Keeper(k1), driveradapter.Keeper(k2), nil
}

func (keeperURLHarness) Close() {}

func runConformance(t *testing.T, url func() string) {
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		return keeperURLHarness{t: t, url: url}, nil
	}, nil)
}

// envelopeRoundTrip encrypts 1 MiB under the keeper at urlstr and reads it back.
func envelopeRoundTrip(t *testing.T, urlstr string) {
	t.Helper()
	k, err := secrets.Open(context.Background(), urlstr)
	require.NoError(t, err)
	defer k.Close()
	testenv.EnvelopeRoundTrip(t, envelope.KEK{ID: secrets.RedactURL(urlstr), Keeper: k}, 1<<20)
}

func TestAWSKMSLocal(t *testing.T) {
	kms := testenv.LocalKMS(t)
	t.Run("conformance", func(t *testing.T) {
		runConformance(t, func() string { return kms.NewKeyURL(t) })
	})
	t.Run("envelope", func(t *testing.T) { envelopeRoundTrip(t, kms.NewKeyURL(t)) })
	t.Run("region defaults for a non-AWS endpoint", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		roundTrip(t, "awskms://"+kms.NewKey(t)+"?endpoint="+url.QueryEscape(kms.Endpoint()))
	})
	t.Run("unknown key", func(t *testing.T) {
		ctx := context.Background()
		k, err := secrets.Open(ctx, kms.URL("00000000-0000-0000-0000-000000000000"))
		require.NoError(t, err)
		defer k.Close()
		_, err = k.Encrypt(ctx, []byte("x"))
		require.Error(t, err)
	})
}

func TestPKCS11SoftHSM(t *testing.T) {
	h := testenv.SoftHSM(t)
	t.Setenv(pkcs11.EnvPIN, h.PIN)
	newURL := func() string { return h.NewKeyURL(t, pkcs11.GenerateKey) }
	t.Run("conformance", func(t *testing.T) { runConformance(t, newURL) })
	t.Run("envelope", func(t *testing.T) { envelopeRoundTrip(t, newURL()) })
}

// TestRingAcrossProviders rings AWS KMS (local-kms), an HSM (SoftHSM2) and a
// local key, then decrypts with each provider alone.
func TestRingAcrossProviders(t *testing.T) {
	kms := testenv.LocalKMS(t)
	h := testenv.SoftHSM(t)
	t.Setenv(pkcs11.EnvPIN, h.PIN)
	ctx := context.Background()
	members := []string{kms.NewKeyURL(t), h.NewKeyURL(t, pkcs11.GenerateKey), base64KeyURL(t)}

	runConformance(t, func() string { return ringURL(members...) })

	r, err := secrets.Open(ctx, ringURL(members...))
	require.NoError(t, err)
	defer r.Close()
	ct, err := r.Encrypt(ctx, []byte("certified results"))
	require.NoError(t, err)
	for _, m := range members {
		alone, err := secrets.Open(ctx, ringURL(m))
		require.NoError(t, err)
		pt, used, err := ring.DecryptWith(ctx, alone, ct)
		require.NoError(t, err, m)
		assert.Equal(t, "certified results", string(pt))
		assert.Equal(t, secrets.RedactURL(m), used)
		require.NoError(t, alone.Close())
	}
}

func TestGCPKMSFakeByURL(t *testing.T) {
	fake, err := gcpkmsfake.NewServer()
	require.NoError(t, err)
	defer fake.Close()
	n := 0
	newURL := func() string {
		n++
		name, err := fake.CreateKey("p", "global", "civicport", fmt.Sprintf("k%d", n))
		require.NoError(t, err)
		return "gcpkms://" + name + "?endpoint=" + fake.Addr()
	}
	t.Run("conformance", func(t *testing.T) { runConformance(t, newURL) })
	t.Run("envelope", func(t *testing.T) { envelopeRoundTrip(t, newURL()) })
	t.Run("rotation", func(t *testing.T) {
		ctx := context.Background()
		u := newURL()
		k, err := secrets.Open(ctx, u)
		require.NoError(t, err)
		defer k.Close()
		old, err := k.Encrypt(ctx, []byte("before"))
		require.NoError(t, err)
		_, err = fake.Rotate(strings.TrimPrefix(strings.Split(u, "?")[0], "gcpkms://"))
		require.NoError(t, err)
		pt, err := k.Decrypt(ctx, old)
		require.NoError(t, err)
		assert.Equal(t, "before", string(pt))
	})
	t.Run("bad params", func(t *testing.T) {
		_, err := secrets.Open(context.Background(), "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k?endpoint=nohostport")
		assert.ErrorContains(t, err, "not HOST:PORT")
		_, err = secrets.Open(context.Background(), "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k?endpoint=127.0.0.1:1&colour=red")
		assert.ErrorContains(t, err, `unknown parameter "colour"`)
	})
}

// No key of a base64key:// keeper, alone or as a ring member, survives in
// a message, written or %-escaped.
func TestRedactMessage(t *testing.T) {
	key := "smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	member := "base64key://" + key
	ring := "ring://?keeper=" + url.QueryEscape(member) + "&keeper=" + url.QueryEscape("awskms://alias/x?region=us-east-1")
	for _, u := range []string{member, ring} {
		msg := "open " + u + ": key " + key + " escaped " + url.QueryEscape(key)
		got := secrets.RedactMessage(msg, u)
		assert.NotContains(t, got, key)
		assert.NotContains(t, got, url.QueryEscape(key))
		if u == member {
			assert.Contains(t, got, secrets.RedactURL(member), "the keeper is still named, by its fingerprint")
		}
	}
}

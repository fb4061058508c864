package secretstest

// The suite against every keeper civicport tests: a local key (always), a
// ring, AWS KMS (local-kms), an HSM (SoftHSM2 through pkcs11://) and the
// in-repo fake Cloud KMS, each opened by URL as `civicport conform --secrets`
// opens it, with a second key on the same backend (Options.Second) and,
// where the backend can rotate a key itself, Options.Rotate. The services
// tests skip (or fail with CIVICPORT_REQUIRE_SERVICES=1) when their server
// is not running.
//
// Each test asserts the whole matrix it expects and logs it as MATRIX lines.

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/adapters/pkcs11"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
	"github.com/civicport/civicport/internal/testing/gcpkmsfake"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets"
)

// serviceLarge is secrets.large_plaintext's size on the service backends
// (the keeper only wraps one data key, so the size measures the envelope,
// which the base64key test measures at the default size).
const serviceLarge = 16 << 20

func logMatrix(t *testing.T, name string, res []conformance.Result) {
	t.Helper()
	for _, r := range res {
		t.Logf("MATRIX %s | %s | %s | %v | %s", name, r.Capability, r.Status, r.Duration.Round(time.Millisecond), r.Detail)
	}
}

// expectAllPass runs the suite with Test, logs the matrix as name and
// asserts that every capability passed, each detail containing the notes
// given for it.
func expectAllPass(t *testing.T, name string, open Opener, o *Options, notes map[string][]string) []conformance.Result {
	t.Helper()
	start := time.Now()
	res := Test(t, open, o)
	t.Logf("%s: whole suite in %v", name, time.Since(start).Round(time.Millisecond))
	logMatrix(t, name, res)
	require.Len(t, res, len(conformance.SecretsCapabilities()))
	for _, r := range res {
		assert.Equal(t, conformance.Pass, r.Status, "%s", r)
		for _, n := range notes[r.Capability] {
			assert.Contains(t, r.Detail, n, "%s", r.Capability)
		}
	}
	return res
}

func randomKeyURL(t *testing.T) string {
	t.Helper()
	return "base64key://" + base64.URLEncoding.EncodeToString(random(32))
}

func TestBase64Key(t *testing.T) {
	// base64key:// alone is a new random key on every call.
	expectAllPass(t, "base64key", URLOpener("base64key://"), &Options{Second: URLOpener("base64key://")}, map[string][]string{
		conformance.SecretsRoundtrip:      {"a 32-byte data key encrypts to 72 bytes", "an empty plaintext round-trips", "largest plaintext tried that round-trips: 1 MiB"},
		conformance.SecretsLargePlaintext: {"64 MiB streamed through an envelope", "SHA-256 matched"},
		conformance.SecretsKeyRotation:    {"rotated to Options.Second's key", "provider-side rotation not measured"},
	})
}

func TestRingOfLocalKeys(t *testing.T) {
	ring := "ring://?" + url.Values{"keeper": {randomKeyURL(t), randomKeyURL(t)}}.Encode()
	o := &Options{Second: URLOpener("base64key://"), LargePlaintextSize: serviceLarge}
	expectAllPass(t, "ring(base64key,base64key)", URLOpener(ring), o, map[string][]string{
		// A ring ciphertext holds one entry per member and decrypts with
		// the first that works: a change to another member's entry goes
		// unnoticed while that member is not needed.
		conformance.SecretsTamperDetect: {"bit flips still decrypted to the original plaintext (bytes not authenticated)"},
		// Each member's ciphertext must fit a ring entry.
		conformance.SecretsRoundtrip: {"1 MiB refused at Encrypt", "more than a ring entry holds"},
	})
}

func TestAWSKMSLocal(t *testing.T) {
	kms := testenv.LocalKMS(t)
	o := &Options{Second: URLOpener(kms.NewKeyURL(t)), LargePlaintextSize: serviceLarge}
	expectAllPass(t, "awskms (local-kms)", URLOpener(kms.NewKeyURL(t)), o, map[string][]string{
		// AWS KMS takes at most 4 KiB of plaintext, and none.
		conformance.SecretsRoundtrip: {"an empty plaintext is refused at Encrypt", "4 KiB + 1 refused at Encrypt", "largest plaintext tried that round-trips: 4 KiB"},
		// AWS KMS finds the key from the ciphertext: a keeper for key B
		// decrypts key A's ciphertexts (access policy is what separates
		// keys).
		conformance.SecretsTamperDetect: {"NOTE decrypted to the original plaintext: the same plaintext encrypted by Options.Second's key"},
		conformance.SecretsKeyRotation:  {"NOTE the old key's keeper decrypts data keys wrapped under the new key"},
	})
}

func TestPKCS11SoftHSM(t *testing.T) {
	h := testenv.SoftHSM(t)
	t.Setenv(pkcs11.EnvPIN, h.PIN)
	newURL := func() string { return h.NewKeyURL(t, pkcs11.GenerateKey) }
	o := &Options{Second: URLOpener(newURL()), LargePlaintextSize: serviceLarge}
	expectAllPass(t, "pkcs11 (SoftHSM2)", URLOpener(newURL()), o, nil)
}

func TestGCPKMSFake(t *testing.T) {
	fake, err := gcpkmsfake.NewServer()
	require.NoError(t, err)
	defer fake.Close()
	newKey := func(name string) (string, string) {
		key, err := fake.CreateKey("p", "global", "secretstest", name)
		require.NoError(t, err)
		return key, "gcpkms://" + key + "?endpoint=" + fake.Addr()
	}
	key, u := newKey("k1")
	_, u2 := newKey("k2")
	rotations := 0
	o := &Options{
		Second:             URLOpener(u2),
		LargePlaintextSize: serviceLarge,
		// The Opener always opens key k1, so the hook rotates it.
		Rotate: func(context.Context, *gcsecrets.Keeper) error {
			rotations++
			_, err := fake.Rotate(key)
			return err
		},
	}
	expectAllPass(t, "gcpkms (fake)", URLOpener(u), o, map[string][]string{
		conformance.SecretsRoundtrip:   {"64 KiB + 1 refused at Encrypt", "largest plaintext tried that round-trips: 64 KiB"},
		conformance.SecretsKeyRotation: {"provider rotation (Options.Rotate): old ciphertexts and envelopes still decrypt", "rotated to Options.Second's key"},
	})
	assert.Equal(t, 1, rotations)
}

// URLOpener opens a URL through civicport's secrets.Open: errors name the
// URL with the key removed.
func TestURLOpenerRedacts(t *testing.T) {
	u := "base64key://c2hvcnQ=" // not 32 bytes
	res := Run(t.Context(), URLOpener(u), &Options{Capabilities: []string{conformance.SecretsRoundtrip}})
	require.Len(t, res, 1)
	assert.Equal(t, conformance.Fail, res[0].Status)
	assert.Contains(t, res[0].Detail, "opening the keeper: open keeper "+secrets.RedactURL(u))
	assert.False(t, strings.Contains(res[0].Detail, "c2hvcnQ"), res[0].Detail)
}

// The capability names are a public contract: see resulttest.AssertStableNames.
func TestSecretsCapabilityNamesAreStable(t *testing.T) {
	resulttest.AssertStableNames(t, conformance.SecretsCapabilities, func(c string) bool { return checks[c] != nil },
		"secrets.roundtrip",
		"secrets.tamper_detect",
		"secrets.large_plaintext",
		"secrets.key_rotation",
	)
}

package secretstest

// The failing case first: these tests prove the suite can fail. Each builds a
// deliberately broken keeper (a test-only driver, turned into a portable
// keeper with secrets.NewKeeper) and asserts that the suite reports a fail,
// with evidence, for the capability that is broken, while capabilities the
// fault does not touch still pass.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
)

// fast keeps the faulty tests quick.
func fast(t *testing.T, caps ...string) *Options {
	return &Options{Capabilities: caps, LargePlaintextSize: 4 << 20, CheckTimeout: time.Minute, Logf: t.Logf}
}

func runAll(t *testing.T, open Opener, o *Options) []conformance.Result {
	t.Helper()
	res := Run(t.Context(), open, o)
	want := len(o.Capabilities)
	if want == 0 {
		want = len(conformance.SecretsCapabilities())
	}
	require.Len(t, res, want)
	for _, r := range res {
		t.Logf("%s (%v)", r, r.Duration.Round(time.Millisecond))
	}
	return res
}

var requireStatus = resulttest.RequireStatus

// keeperOf opens a fresh portable keeper over d on every call.
func keeperOf(d func() driver.Keeper) Opener {
	return func(context.Context) (*gcsecrets.Keeper, error) { return gcsecrets.NewKeeper(d()), nil }
}

// base is the methods every fake needs besides Encrypt and Decrypt.
type base struct{}

func (base) Close() error                           { return nil }
func (base) ErrorAs(error, any) bool                { return false }
func (base) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }

// --- identity "encryption": the ciphertext is the plaintext ---

type identity struct{ base }

func (identity) Encrypt(_ context.Context, pt []byte) ([]byte, error) { return bytes.Clone(pt), nil }
func (identity) Decrypt(_ context.Context, ct []byte) ([]byte, error) { return bytes.Clone(ct), nil }

func TestFaultyIdentity(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(func() driver.Keeper { return identity{} }), fast(t))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail,
		"32 B: the ciphertext equals the plaintext (no encryption)", "1 KiB: the ciphertext equals the plaintext")
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Fail,
		"48 of 48 bit flips decrypted to a different plaintext and no error (first: bit 0 of byte 0 flipped: 48 bytes, first difference at byte 0 (got 0x",
		"truncated to 47 of 48 bytes: Decrypt returned a different plaintext and no error (got 47 bytes, want 48)")
	// The envelope still works over it (the data key is merely unprotected):
	// roundtrip is the line that says this keeper does not encrypt.
	requireStatus(t, res, conformance.SecretsLargePlaintext, conformance.Pass, "4 MiB streamed", "SHA-256 matched")
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Pass)
}

// --- a stream cipher without authentication: ignores tampering ---

// noAuth XORs with a keystream from a random 8-byte nonce (prepended) and
// checks nothing on Decrypt.
type noAuth struct {
	base
	key [32]byte
}

func (k noAuth) xor(nonce, in []byte) []byte {
	seed := sha256.Sum256(append(k.key[:], nonce...))
	ks := make([]byte, len(in))
	_, _ = mrand.NewChaCha8(seed).Read(ks)
	for i := range ks {
		ks[i] ^= in[i]
	}
	return ks
}

func (k noAuth) Encrypt(_ context.Context, pt []byte) ([]byte, error) {
	nonce := random(8)
	return append(nonce, k.xor(nonce, pt)...), nil
}

func (k noAuth) Decrypt(_ context.Context, ct []byte) ([]byte, error) {
	if len(ct) < 8 {
		return nil, errors.New("noAuth: too short")
	}
	return k.xor(ct[:8], ct[8:]), nil
}

func newNoAuth() driver.Keeper {
	var k noAuth
	copy(k.key[:], random(32))
	return k
}

func TestFaultyIgnoresTampering(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(newNoAuth), fast(t))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Pass)
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Fail,
		"56 of 56 bit flips decrypted to a different plaintext and no error (first: bit 0 of byte 0 flipped: 48 bytes, first difference at byte 0 (got 0x",
		"truncated to 55 of 56 bytes: Decrypt returned a different plaintext and no error (got 47 bytes, want 48)",
		"extended by one byte: Decrypt returned a different plaintext",
		"56 random bytes: Decrypt returned a different plaintext",
		"the same plaintext encrypted by a random local key: Decrypt returned a different plaintext")
	requireStatus(t, res, conformance.SecretsLargePlaintext, conformance.Pass)
}

// --- a keeper that silently keeps only the first 16 bytes ---

type truncating struct {
	base
	k *gcsecrets.Keeper
}

func (k truncating) Encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	return k.k.Encrypt(ctx, pt[:min(len(pt), 16)])
}
func (k truncating) Decrypt(ctx context.Context, ct []byte) ([]byte, error) {
	return k.k.Decrypt(ctx, ct)
}

func TestFaultyTruncates(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(func() driver.Keeper { return truncating{k: newLocalKeeper()} }), fast(t))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail,
		"32 B: decrypted plaintext differs: got 16 bytes, want 32", "17 B: decrypted plaintext differs: got 16 bytes, want 17")
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Fail,
		"the untouched ciphertext decrypts to a different plaintext: got 16 bytes, want 48")
	requireStatus(t, res, conformance.SecretsLargePlaintext, conformance.Fail,
		"decrypting 4 MiB through an envelope: NewDecrypter:", "unwrapped 16 bytes, not a 32-byte data key")
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Fail,
		"rotated onto the keeper, the envelope does not decrypt with the keeper alone:", "unwrapped 16 bytes")
}

// --- a keeper whose Decrypt refuses everything ---

type refuseAll struct{ driver.Keeper }

func (refuseAll) Decrypt(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("refuseAll: no")
}

func TestFaultyRefusesEverything(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(func() driver.Keeper { return refuseAll{newLocalKeeperDriver()} }), fast(t))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "32 B: Decrypt of its own ciphertext: ", "refuseAll: no")
	// Refusing a changed ciphertext proves nothing when the good one is
	// refused too.
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Fail, "the untouched ciphertext does not decrypt, so refusals prove nothing")
	requireStatus(t, res, conformance.SecretsLargePlaintext, conformance.Fail, "refuseAll: no")
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Fail, "refuseAll: no")
}

// --- deterministic encryption: a note, not a fail ---

// deterministic returns the first ciphertext it made for a plaintext every
// time that plaintext is encrypted again.
type deterministic struct {
	driver.Keeper
	mu   sync.Mutex
	seen map[string][]byte
}

func (d *deterministic) Encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ct, ok := d.seen[string(pt)]; ok {
		return bytes.Clone(ct), nil
	}
	ct, err := d.Keeper.Encrypt(ctx, pt)
	if err == nil {
		d.seen[string(pt)] = bytes.Clone(ct)
	}
	return ct, err
}

func TestDeterministicIsANote(t *testing.T) {
	t.Parallel()
	open := keeperOf(func() driver.Keeper {
		return &deterministic{Keeper: newLocalKeeperDriver(), seen: map[string][]byte{}}
	})
	res := runAll(t, open, fast(t, conformance.SecretsRoundtrip, conformance.SecretsTamperDetect))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Pass, "NOTE deterministic: two encryptions of one plaintext gave the same ciphertext")
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Pass)

	// A randomised keeper has no such note.
	res = runAll(t, keeperOf(func() driver.Keeper { return newLocalKeeperDriver() }), fast(t, conformance.SecretsRoundtrip))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Pass, "a 32-byte data key encrypts to 60 bytes", "largest plaintext tried that round-trips: 1 MiB", "an empty plaintext round-trips")
	assert.NotContains(t, res[0].Detail, "deterministic")
}

// --- provider rotation that loses the old key ---

// forgetful is a key whose rotation replaces it: what was encrypted before
// no longer decrypts.
type forgetful struct {
	base
	mu sync.Mutex
	k  localKeeper
}

func (f *forgetful) cur() localKeeper {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.k
}
func (f *forgetful) Encrypt(ctx context.Context, pt []byte) ([]byte, error) {
	return f.cur().Encrypt(ctx, pt)
}
func (f *forgetful) Decrypt(ctx context.Context, ct []byte) ([]byte, error) {
	return f.cur().Decrypt(ctx, ct)
}
func (f *forgetful) rotate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.k = newLocalKeeperDriver()
}

func TestFaultyRotationLosesOldKey(t *testing.T) {
	t.Parallel()
	f := &forgetful{k: newLocalKeeperDriver()}
	o := fast(t, conformance.SecretsKeyRotation)
	o.Rotate = func(context.Context, *gcsecrets.Keeper) error { f.rotate(); return nil }
	res := runAll(t, keeperOf(func() driver.Keeper { return f }), o)
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Fail,
		"after the provider rotation, a ciphertext made before it no longer decrypts")

	// A rotation hook that fails is a fail, with its error.
	o.Rotate = func(context.Context, *gcsecrets.Keeper) error { return errors.New("permission denied") }
	res = runAll(t, keeperOf(func() driver.Keeper { return newLocalKeeperDriver() }), o)
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Fail, "Options.Rotate: permission denied")

	// A rotation that keeps old versions passes.
	o.Rotate = func(context.Context, *gcsecrets.Keeper) error { return nil }
	res = runAll(t, keeperOf(func() driver.Keeper { return newLocalKeeperDriver() }), o)
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Pass, "provider rotation (Options.Rotate): old ciphertexts and envelopes still decrypt")
}

// --- Second is the same key as the keeper: notes, not fails ---

// A "second" keeper on the same key decrypts the keeper's ciphertexts and
// vice versa: the right plaintext, so notes (as AWS KMS does for any key the
// caller may use).
func TestSecondSameKeyIsANote(t *testing.T) {
	t.Parallel()
	u := "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	o := fast(t, conformance.SecretsTamperDetect, conformance.SecretsKeyRotation)
	o.Second = URLOpener(u)
	res := runAll(t, URLOpener(u), o)
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Pass,
		"NOTE decrypted to the original plaintext: the same plaintext encrypted by Options.Second's key")
	requireStatus(t, res, conformance.SecretsKeyRotation, conformance.Pass,
		"NOTE the old key's keeper decrypts data keys wrapped under the new key", "rotated to Options.Second's key")
}

// --- unimplemented, panicking, hanging, unopenable ---

type unimplemented struct{ base }

var errUnimplemented = errors.New("encrypt: not on this key")

func (unimplemented) Encrypt(context.Context, []byte) ([]byte, error) { return nil, errUnimplemented }
func (unimplemented) Decrypt(context.Context, []byte) ([]byte, error) { return nil, errUnimplemented }
func (unimplemented) ErrorCode(error) gcerrors.ErrorCode              { return gcerrors.Unimplemented }

func TestUnimplementedIsUnsupported(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(func() driver.Keeper { return unimplemented{} }), fast(t))
	for _, c := range conformance.SecretsCapabilities() {
		requireStatus(t, res, c, conformance.Unsupported, "Unimplemented", "not on this key")
	}
}

type panicky struct{ base }

func (panicky) Encrypt(context.Context, []byte) ([]byte, error) { panic("driver bug") }
func (panicky) Decrypt(context.Context, []byte) ([]byte, error) { panic("driver bug") }

type hanging struct{ base }

func (hanging) Encrypt(ctx context.Context, _ []byte) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (hanging) Decrypt(ctx context.Context, _ []byte) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestBrokenOpenersAndDrivers(t *testing.T) {
	t.Parallel()
	res := runAll(t, keeperOf(func() driver.Keeper { return panicky{} }), fast(t, conformance.SecretsRoundtrip, conformance.SecretsLargePlaintext))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "the check panicked: driver bug")
	requireStatus(t, res, conformance.SecretsLargePlaintext, conformance.Fail, "driver bug")

	o := fast(t, conformance.SecretsRoundtrip)
	o.CheckTimeout = 200 * time.Millisecond
	res = runAll(t, keeperOf(func() driver.Keeper { return hanging{} }), o)
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "check did not finish within 200ms (Options.CheckTimeout)")

	res = runAll(t, func(context.Context) (*gcsecrets.Keeper, error) { return nil, errors.New("no such key") }, fast(t, conformance.SecretsRoundtrip))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "opening the keeper: no such key")
	res = runAll(t, func(context.Context) (*gcsecrets.Keeper, error) { return nil, nil }, fast(t, conformance.SecretsRoundtrip))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "nil keeper")
	res = runAll(t, nil, fast(t, conformance.SecretsRoundtrip))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "the Opener is nil")
	res = runAll(t, URLOpener("nosuch://key"), fast(t, conformance.SecretsRoundtrip))
	requireStatus(t, res, conformance.SecretsRoundtrip, conformance.Fail, "opening the keeper: open keeper nosuch://key")

	o = fast(t, conformance.SecretsTamperDetect)
	o.Second = func(context.Context) (*gcsecrets.Keeper, error) { return nil, errors.New("second down") }
	res = runAll(t, URLOpener("base64key://"), o)
	requireStatus(t, res, conformance.SecretsTamperDetect, conformance.Fail, "opening Options.Second: second down")

	// Unknown capability names are skipped, saying what the suite knows.
	res = runAll(t, URLOpener("base64key://"), fast(t, "secrets.nope"))
	requireStatus(t, res, "secrets.nope", conformance.Skipped, `unknown capability "secrets.nope": secretstest measures secrets.roundtrip`)

	// A cancelled context skips everything.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, r := range Run(ctx, URLOpener("base64key://"), nil) {
		assert.Equal(t, conformance.Skipped, r.Status, "%s", r)
	}
}

package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/secrets"
)

// ringHarness makes two rings of two local keys each, with the same member
// ids but different keys, so that TestMultipleKeys exercises a real mismatch.
type ringHarness struct{}

func (ringHarness) MakeDriver(context.Context) (driver.Keeper, driver.Keeper, error) {
	mk := func() driver.Keeper {
		return driveradapter.Keeper(secrets.NewRing(localKEK("a"), localKEK("b")))
	}
	return mk(), mk(), nil
}

func (ringHarness) Close() {}

func TestRingConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return ringHarness{}, nil
	}, nil)
}

// broken is a keeper whose every call fails with code.
type broken struct {
	msg  string
	code gcerrors.ErrorCode
}

type brokenErr struct{ msg string }

func (e *brokenErr) Error() string { return e.msg }

func (b broken) Encrypt(context.Context, []byte) ([]byte, error) { return nil, &brokenErr{b.msg} }
func (b broken) Decrypt(context.Context, []byte) ([]byte, error) { return nil, &brokenErr{b.msg} }
func (broken) Close() error                                      { return nil }
func (broken) ErrorAs(err error, i any) bool {
	p, ok := i.(**brokenErr)
	return ok && errors.As(err, p)
}
func (b broken) ErrorCode(error) gcerrors.ErrorCode { return b.code }

func TestRingSurvivesBrokenMembers(t *testing.T) {
	ctx := context.Background()
	a, b, c := newKEK(t, "aws"), newKEK(t, "gcp"), newKEK(t, "hsm")
	ct, err := secrets.NewRing(a, b, c).Encrypt(ctx, []byte("results"))
	require.NoError(t, err)

	// Only "hsm" still works: the first two members are unreachable.
	down := func(id, msg string) secrets.KEK {
		return secrets.KEK{ID: id, Keeper: gcsecrets.NewKeeper(broken{msg: msg, code: gcerrors.DeadlineExceeded})}
	}
	r := secrets.NewRing(down("aws", "aws kms timed out"), down("gcp", "gcp kms unreachable"), c)
	pt, used, err := secrets.DecryptWith(ctx, r, ct)
	require.NoError(t, err)
	assert.Equal(t, "results", string(pt))
	assert.Equal(t, "hsm", used)

	// The first reachable member in the ring's order wins.
	_, used, err = secrets.DecryptWith(ctx, secrets.NewRing(down("aws", "x"), b, c), ct)
	require.NoError(t, err)
	assert.Equal(t, "gcp", used)

	// All broken: the error names each member's failure and keeps codes/As.
	all := secrets.NewRing(down("aws", "aws kms timed out"), down("gcp", "gcp kms unreachable"), down("hsm", "token removed"))
	_, err = all.Decrypt(ctx, ct)
	require.Error(t, err)
	for _, s := range []string{`"aws": aws kms timed out`, `"gcp": gcp kms unreachable`, `"hsm": token removed`} {
		assert.Contains(t, err.Error(), s)
	}
	assert.Equal(t, gcerrors.DeadlineExceeded, gcerrors.Code(err))
	var be *brokenErr
	assert.True(t, all.ErrorAs(err, &be), "ErrorAs reaches a member's error")

	// A member whose key differs fails like any other, and is named.
	_, err = secrets.NewRing(newKEK(t, "aws")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"aws"`)
}

func TestRingEncryptNeedsEveryMember(t *testing.T) {
	ctx := context.Background()
	r := secrets.NewRing(newKEK(t, "a"), secrets.KEK{ID: "b", Keeper: gcsecrets.NewKeeper(broken{msg: "offline", code: gcerrors.Internal})})
	_, err := r.Encrypt(ctx, []byte("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"b": offline`)
}

func TestRingMismatchAndMalformed(t *testing.T) {
	ctx := context.Background()
	ct, err := secrets.NewRing(newKEK(t, "a")).Encrypt(ctx, []byte("x"))
	require.NoError(t, err)

	_, err = secrets.NewRing(newKEK(t, "z")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ring ciphertext is for members ["a"]; this ring has ["z"]`)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))

	r := secrets.NewRing(newKEK(t, "a"))
	for _, bad := range [][]byte{nil, []byte("cpring"), ct[:len(ct)-1], append(append([]byte{}, ct...), 0)} {
		_, err := r.Decrypt(ctx, bad)
		require.Error(t, err)
		assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
	}
}

func TestRingInvalid(t *testing.T) {
	ctx := context.Background()
	for name, r := range map[string]*gcsecrets.Keeper{
		"empty":     secrets.NewRing(),
		"duplicate": secrets.NewRing(newKEK(t, "a"), newKEK(t, "a")),
		"no id":     secrets.NewRing(newKEK(t, "")),
		"no keeper": secrets.NewRing(secrets.KEK{ID: "a"}),
	} {
		_, err := r.Encrypt(ctx, []byte("x"))
		assert.Error(t, err, name)
		assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), name)
	}
}

func TestDecryptWithPlainKeeper(t *testing.T) {
	ctx := context.Background()
	k := localsecrets.NewKeeper([32]byte{1})
	ct, err := k.Encrypt(ctx, []byte("x"))
	require.NoError(t, err)
	pt, used, err := secrets.DecryptWith(ctx, k, ct)
	require.NoError(t, err)
	assert.Equal(t, "x", string(pt))
	assert.Empty(t, used)
}

func TestRingAsEnvelopeKEK(t *testing.T) {
	// A ring is a keeper like any other, so it can wrap envelope data keys.
	r := secrets.KEK{ID: "ring", Keeper: secrets.NewRing(newKEK(t, "a"), newKEK(t, "b"))}
	pt := plaintext(100_000, 7)
	got, used, err := decrypt(encrypt(t, pt, []secrets.KEK{r}, 0), []secrets.KEK{r})
	require.NoError(t, err)
	assert.Equal(t, pt, got)
	assert.Equal(t, "ring", used)
}

// A member's id is its URL at encryption time. Opened later under another
// URL (an endpoint added, a PKCS#11 module moved), the same key still
// decrypts, and DecryptWith names it by its id now; only members that match
// no entry are tried on entries that match no member.
func TestRingMemberUnderANewURL(t *testing.T) {
	ctx := context.Background()
	key, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	hsm := newKEK(t, "pkcs11://county-hsm/elections?module=/usr/lib/softhsm/libsofthsm2.so")
	state := secrets.KEK{ID: "awskms:///alias/state?region=us-east-1", Keeper: localsecrets.NewKeeper(key)}
	ct, err := secrets.NewRing(hsm, state).Encrypt(ctx, []byte("precinct 12: 412 ballots"))
	require.NoError(t, err)

	// The state key under a new id; the HSM gone.
	moved := secrets.KEK{ID: "awskms:///alias/state?region=us-east-1&endpoint=https://kms-fips.us-east-1.amazonaws.com", Keeper: localsecrets.NewKeeper(key)}
	offline := secrets.KEK{ID: hsm.ID, Keeper: gcsecrets.NewKeeper(broken{msg: "token not present", code: gcerrors.Internal})}
	pt, used, err := secrets.DecryptWith(ctx, secrets.NewRing(offline, moved), ct)
	require.NoError(t, err)
	assert.Equal(t, "precinct 12: 412 ballots", string(pt))
	assert.Equal(t, moved.ID, used)

	// A key that is not among the members still fails, naming the ids.
	_, err = secrets.NewRing(newKEK(t, "other")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "this ring has [\"other\"] (none of which decrypts it)")
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
}

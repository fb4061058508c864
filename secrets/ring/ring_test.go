package ring_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets/envelope"
	"github.com/civicport/civicport/secrets/ring"
)

// ringHarness makes two rings of two local keys each, with the same member
// ids but different keys, so that TestMultipleKeys exercises a real mismatch.
type ringHarness struct{}

func (ringHarness) MakeDriver(context.Context) (driver.Keeper, driver.Keeper, error) {
	mk := func() (driver.Keeper, error) {
		k, err := ring.New([]envelope.KEK{localKEK("a"), localKEK("b")}, &ring.Options{CloseMembers: true})
		return driveradapter.Keeper(k), err
	}
	k1, err := mk()
	if err != nil {
		return nil, nil, err
	}
	k2, err := mk()
	return k1, k2, err
}

func (ringHarness) Close() {}

func localKEK(id string) envelope.KEK {
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		panic(err)
	}
	return envelope.KEK{ID: id, Keeper: localsecrets.NewKeeper(key)}
}

func newKEK(t testing.TB, id string) envelope.KEK {
	t.Helper()
	k := localKEK(id)
	t.Cleanup(func() { k.Keeper.Close() })
	return k
}

// newRing is ring.New that must succeed.
func newRing(t testing.TB, keks ...envelope.KEK) *gcsecrets.Keeper {
	t.Helper()
	r, err := ring.New(keks, nil)
	require.NoError(t, err)
	return r
}

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
	ct, err := newRing(t, a, b, c).Encrypt(ctx, []byte("results"))
	require.NoError(t, err)

	// Only "hsm" still works: the first two members are unreachable.
	down := func(id, msg string) envelope.KEK {
		return envelope.KEK{ID: id, Keeper: gcsecrets.NewKeeper(broken{msg: msg, code: gcerrors.DeadlineExceeded})}
	}
	r := newRing(t, down("aws", "aws kms timed out"), down("gcp", "gcp kms unreachable"), c)
	pt, used, err := ring.DecryptWith(ctx, r, ct)
	require.NoError(t, err)
	assert.Equal(t, "results", string(pt))
	assert.Equal(t, "hsm", used)

	// The first reachable member in the ring's order wins.
	_, used, err = ring.DecryptWith(ctx, newRing(t, down("aws", "x"), b, c), ct)
	require.NoError(t, err)
	assert.Equal(t, "gcp", used)

	// All broken: the error names each member's failure and keeps codes/As.
	all := newRing(t, down("aws", "aws kms timed out"), down("gcp", "gcp kms unreachable"), down("hsm", "token removed"))
	_, err = all.Decrypt(ctx, ct)
	require.Error(t, err)
	for _, s := range []string{`"aws": aws kms timed out`, `"gcp": gcp kms unreachable`, `"hsm": token removed`} {
		assert.Contains(t, err.Error(), s)
	}
	assert.Equal(t, gcerrors.DeadlineExceeded, gcerrors.Code(err))
	var be *brokenErr
	assert.True(t, all.ErrorAs(err, &be), "ErrorAs reaches a member's error")

	// A member whose key differs fails like any other, and is named.
	_, err = newRing(t, newKEK(t, "aws")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"aws"`)
}

func TestRingEncryptNeedsEveryMember(t *testing.T) {
	ctx := context.Background()
	r := newRing(t, newKEK(t, "a"), envelope.KEK{ID: "b", Keeper: gcsecrets.NewKeeper(broken{msg: "offline", code: gcerrors.Internal})})
	_, err := r.Encrypt(ctx, []byte("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"b": offline`)
}

func TestRingMismatchAndMalformed(t *testing.T) {
	ctx := context.Background()
	ct, err := newRing(t, newKEK(t, "a")).Encrypt(ctx, []byte("x"))
	require.NoError(t, err)

	_, err = newRing(t, newKEK(t, "z")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ring ciphertext is for members ["a"]; this ring has ["z"]`)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))

	r := newRing(t, newKEK(t, "a"))
	for _, bad := range [][]byte{nil, []byte("cpring"), ct[:len(ct)-1], append(append([]byte{}, ct...), 0)} {
		_, err := r.Decrypt(ctx, bad)
		require.Error(t, err)
		assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
	}
}

func TestRingInvalid(t *testing.T) {
	a := newKEK(t, "a")
	many := make([]envelope.KEK, 65)
	for i := range many {
		many[i] = envelope.KEK{ID: fmt.Sprint(i), Keeper: a.Keeper}
	}
	for _, c := range []struct {
		keks []envelope.KEK
		want string
	}{
		{nil, "ring: no members"},
		{many, "ring: 65 members; at most 64"},
		{[]envelope.KEK{a, a}, `ring: member id "a" given twice`},
		{[]envelope.KEK{a, {ID: "", Keeper: a.Keeper}}, `ring: member 2 id "" must be 1 to 1024 bytes`},
		{[]envelope.KEK{{ID: "b"}}, `ring: member "b" has no keeper`},
	} {
		r, err := ring.New(c.keks, nil)
		assert.Nil(t, r)
		assert.EqualError(t, err, c.want)
	}
}

// Closing a ring closes its members only when it was told it owns them.
func TestRingCloseMembers(t *testing.T) {
	ctx := context.Background()
	for _, owns := range []bool{false, true} {
		a := localKEK("a")
		r, err := ring.New([]envelope.KEK{a}, &ring.Options{CloseMembers: owns})
		require.NoError(t, err)
		require.NoError(t, r.Close())
		_, err = a.Keeper.Encrypt(ctx, []byte("x"))
		if owns {
			assert.Error(t, err, "member still open after closing the ring that owns it")
		} else {
			assert.NoError(t, err, "ring closed a member it does not own")
			a.Keeper.Close()
		}
	}
}

func TestDecryptWithPlainKeeper(t *testing.T) {
	ctx := context.Background()
	k := localsecrets.NewKeeper([32]byte{1})
	ct, err := k.Encrypt(ctx, []byte("x"))
	require.NoError(t, err)
	pt, used, err := ring.DecryptWith(ctx, k, ct)
	require.NoError(t, err)
	assert.Equal(t, "x", string(pt))
	assert.Empty(t, used)
}

func TestRingAsEnvelopeKEK(t *testing.T) {
	// A ring is a keeper like any other, so it can wrap envelope data keys.
	testenv.EnvelopeRoundTrip(t, envelope.KEK{ID: "ring", Keeper: newRing(t, newKEK(t, "a"), newKEK(t, "b"))}, 160_000)
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
	state := envelope.KEK{ID: "awskms:///alias/state?region=us-east-1", Keeper: localsecrets.NewKeeper(key)}
	ct, err := newRing(t, hsm, state).Encrypt(ctx, []byte("precinct 12: 412 ballots"))
	require.NoError(t, err)

	// The state key under a new id; the HSM gone.
	moved := envelope.KEK{ID: "awskms:///alias/state?region=us-east-1&endpoint=https://kms-fips.us-east-1.amazonaws.com", Keeper: localsecrets.NewKeeper(key)}
	offline := envelope.KEK{ID: hsm.ID, Keeper: gcsecrets.NewKeeper(broken{msg: "token not present", code: gcerrors.Internal})}
	pt, used, err := ring.DecryptWith(ctx, newRing(t, offline, moved), ct)
	require.NoError(t, err)
	assert.Equal(t, "precinct 12: 412 ballots", string(pt))
	assert.Equal(t, moved.ID, used)

	// A key that is not among the members still fails, naming the ids.
	_, err = newRing(t, newKEK(t, "other")).Decrypt(ctx, ct)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "this ring has [\"other\"] (none of which decrypts it)")
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
}

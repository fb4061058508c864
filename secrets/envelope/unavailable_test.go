package envelope_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"github.com/civicport/civicport/internal/testing/testenv"
	cpsecrets "github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

// flaky is a keeper whose service refuses connections for its first down
// calls, then answers through inner.
type flaky struct {
	inner *secrets.Keeper
	down  int32
	calls atomic.Int32
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func (f *flaky) Decrypt(ctx context.Context, b []byte) ([]byte, error) {
	if f.calls.Add(1) <= f.down {
		return nil, errRefused
	}
	return f.inner.Decrypt(ctx, b)
}
func (f *flaky) Encrypt(ctx context.Context, b []byte) ([]byte, error) {
	if f.calls.Add(1) <= f.down {
		return nil, errRefused
	}
	return f.inner.Encrypt(ctx, b)
}
func (f *flaky) Close() error                       { return nil }
func (f *flaky) ErrorAs(error, any) bool            { return false }
func (f *flaky) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }

var _ driver.Keeper = (*flaky)(nil)

func TestUnreachableKeyServiceIsRetriedAndDistinct(t *testing.T) {
	defer envelope.SetKeeperRetry(3, time.Millisecond)()
	kek := newKEK(t, "county-kms")
	ct := encrypt(t, plaintext(300, 9), []envelope.KEK{kek}, 100)

	// Down for two calls: the third answers.
	f := &flaky{inner: kek.Keeper, down: 2}
	pt, _, err := decrypt(ct, []envelope.KEK{{ID: "county-kms", Keeper: secrets.NewKeeper(f)}})
	require.NoError(t, err)
	assert.Equal(t, plaintext(300, 9), pt)
	assert.EqualValues(t, 3, f.calls.Load())

	// Down for good: ErrKeyUnavailable after three tries, not ErrWrongKey.
	f = &flaky{inner: kek.Keeper, down: 100}
	_, _, err = decrypt(ct, []envelope.KEK{{ID: "county-kms", Keeper: secrets.NewKeeper(f)}})
	require.ErrorIs(t, err, envelope.ErrKeyUnavailable)
	assert.NotErrorIs(t, err, envelope.ErrWrongKey)
	assert.EqualValues(t, 3, f.calls.Load())
	assert.Contains(t, err.Error(), `"county-kms": unreachable after 3 tries`)
	var oe *net.OpError
	assert.True(t, errors.As(err, &oe), "the network error is still there")

	// One service down, another KEK refusing: unavailable wins (the right
	// key may be behind the one that did not answer).
	second := newKEK(t, "state-hsm")
	ct2 := encrypt(t, plaintext(300, 9), []envelope.KEK{kek, second}, 100)
	f = &flaky{inner: kek.Keeper, down: 100}
	_, _, err = decrypt(ct2, []envelope.KEK{
		{ID: "county-kms", Keeper: secrets.NewKeeper(f)},
		{ID: "state-hsm", Keeper: newKEK(t, "x").Keeper},
	})
	require.ErrorIs(t, err, envelope.ErrKeyUnavailable)
	assert.Contains(t, err.Error(), `"state-hsm": `)

	// A wrong key is not retried.
	wrong := &flaky{inner: newKEK(t, "x").Keeper}
	_, _, err = decrypt(ct, []envelope.KEK{{ID: "county-kms", Keeper: secrets.NewKeeper(wrong)}})
	require.ErrorIs(t, err, envelope.ErrWrongKey)
	assert.EqualValues(t, 1, wrong.calls.Load())

	// Writing under a service that stays down.
	f = &flaky{inner: kek.Keeper, down: 100}
	_, err = envelope.NewEncrypter(context.Background(), &discard{}, []envelope.KEK{{ID: "county-kms", Keeper: secrets.NewKeeper(f)}}, nil)
	require.ErrorIs(t, err, envelope.ErrKeyUnavailable)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// The real thing: an envelope sealed by local-kms, opened with the same key
// through an endpoint where no KMS answers.
func TestUnreachableAWSKMS(t *testing.T) {
	kms := testenv.LocalKMS(t)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	defer envelope.SetKeeperRetry(2, 10*time.Millisecond)()
	ctx := context.Background()
	keyID := kms.NewKey(t)
	k, err := cpsecrets.Open(ctx, kms.URL(keyID))
	require.NoError(t, err)
	defer k.Close()
	ct := encrypt(t, plaintext(100, 2), []envelope.KEK{{ID: "aws", Keeper: k}}, 64)

	down := kms
	down.Host = "127.0.0.1:1"
	dk, err := cpsecrets.Open(ctx, down.URL(keyID))
	require.NoError(t, err)
	defer dk.Close()
	_, _, err = decrypt(ct, []envelope.KEK{{ID: "aws", Keeper: dk}})
	require.ErrorIs(t, err, envelope.ErrKeyUnavailable, "%v", err)
	assert.NotErrorIs(t, err, envelope.ErrWrongKey)
	assert.Contains(t, err.Error(), "unreachable after 2 tries")
}

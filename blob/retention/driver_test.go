package retention

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
)

// fakeDriver is a retention Driver over a memblob bucket, keeping
// retentions and holds in memory, to test this package's registry and
// error wrapping without a server. It claims only the buckets in
// fakeBuckets. The version of an object is its metadata "version".
type fakeDriver struct {
	mu    sync.Mutex
	b     *blob.Bucket
	err   error // returned by every method, if set
	kept  map[string]Retention
	holds map[string]bool
}

var fakeBuckets sync.Map // *blob.Bucket -> *fakeDriver

func init() {
	open := func(b *blob.Bucket) (Driver, bool, error) {
		d, ok := fakeBuckets.Load(b)
		if !ok {
			return nil, false, nil
		}
		if d == nil {
			return nil, true, fmt.Errorf("%w: fake bucket without a driver", ErrUnsupported)
		}
		return d.(*fakeDriver), true, nil
	}
	Register("fake", open)
	// Registered second, so never asked about a fake bucket.
	Register("fake-second", func(b *blob.Bucket) (Driver, bool, error) {
		if _, ok := fakeBuckets.Load(b); ok {
			panic("the second driver was asked before the first")
		}
		return nil, false, nil
	})
}

// openFake returns a memblob bucket served by a fresh fakeDriver.
func openFake(t *testing.T) (*blob.Bucket, *fakeDriver) {
	b := memblob.OpenBucket(nil)
	d := &fakeDriver{b: b, kept: map[string]Retention{}, holds: map[string]bool{}}
	fakeBuckets.Store(b, d)
	t.Cleanup(func() { fakeBuckets.Delete(b); b.Close() })
	return b, d
}

// fakeReply is a backend's error reply; the fake classifies it as code
// (Unknown: it does not know it).
type fakeReply struct {
	code   gcerrors.ErrorCode
	status int
}

func (e *fakeReply) Error() string       { return fmt.Sprintf("reply %v (HTTP %d)", e.code, e.status) }
func (e *fakeReply) HTTPStatusCode() int { return e.status }

func (f *fakeDriver) Name() string { return "the fake driver" }

func (f *fakeDriver) Supported(context.Context, bool) error { return f.err }

func (f *fakeDriver) id(key, version string) string { return key + "@" + version }

func (f *fakeDriver) SetRetention(_ context.Context, key, version string, r Retention, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kept[f.id(key, version)] = r
	return f.err
}

func (f *fakeDriver) GetRetention(_ context.Context, key, version string) (Retention, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kept[f.id(key, version)], f.err
}

func (f *fakeDriver) SetLegalHold(_ context.Context, key, version string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holds[f.id(key, version)] = on
	return f.err
}

func (f *fakeDriver) LegalHold(_ context.Context, key, version string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holds[f.id(key, version)], f.err
}

func (f *fakeDriver) DeleteVersion(ctx context.Context, key, version string, _ bool) error {
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.kept[f.id(key, version)].IsZero() || f.holds[f.id(key, version)] {
		return &fakeReply{code: gcerrors.PermissionDenied}
	}
	return f.b.Delete(ctx, key)
}

func (f *fakeDriver) VersionOf(a *blob.Attributes) (string, bool) {
	v, ok := a.Metadata["version"]
	return v, ok
}

func (f *fakeDriver) ErrorCode(err error) gcerrors.ErrorCode {
	var r *fakeReply
	if errors.As(err, &r) {
		return r.code
	}
	return gcerrors.Unknown
}

func TestRegisterPanics(t *testing.T) {
	noop := func(*blob.Bucket) (Driver, bool, error) { return nil, false, nil }
	assert.PanicsWithValue(t, "retention: Register called twice for driver fake", func() { Register("fake", noop) })
	assert.Panics(t, func() { Register("", noop) })
	assert.Panics(t, func() { Register("nil-open", nil) })
}

// The functions reach the registered driver, with their arguments checked
// and completed.
func TestDriverCalls(t *testing.T) {
	ctx := t.Context()
	b, d := openFake(t)
	require.NoError(t, b.WriteAll(ctx, "k", []byte("x"), &blob.WriterOptions{Metadata: map[string]string{"version": "7"}}))
	require.NoError(t, Supported(ctx, b))
	require.NoError(t, LegalHoldSupported(ctx, b))

	v, err := CurrentVersion(ctx, b, "k")
	require.NoError(t, err)
	assert.Equal(t, "7", v)

	until := time.Now().Add(time.Hour)
	require.NoError(t, Set(ctx, b, "k", Retention{Mode: Governance, Until: until}, VersionID("7")))
	r, err := Get(ctx, b, "k", VersionID("7"))
	require.NoError(t, err)
	assert.Equal(t, Governance, r.Mode)
	assert.Equal(t, roundUp(until), r.Until, "the driver gets the date rounded up, in UTC")
	assert.Equal(t, time.UTC, r.Until.Location())

	require.NoError(t, SetLegalHold(ctx, b, "k", true))
	on, err := LegalHold(ctx, b, "k")
	require.NoError(t, err)
	assert.True(t, on)
	require.NoError(t, SetLegalHold(ctx, b, "k", false))

	// Delete without VersionID deletes the current version, "7", which is
	// retained: the driver's refusal is an *Error with the driver's code,
	// naming the resolved version and the backend.
	err = Delete(ctx, b, "k")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err))
	assert.ErrorIs(t, err, gcerrors.ErrPermissionDenied)
	assert.Equal(t, "7", e.Version)
	assert.Equal(t, "the fake driver", e.Backend)
	assert.Equal(t, `retention: delete of "k" (version "7") on the fake driver: PermissionDenied: reply PermissionDenied (HTTP 0)`, err.Error())

	delete(d.kept, "k@7")
	require.NoError(t, Delete(ctx, b, "k"))
	ok, err := b.Exists(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok)
}

// How causes are classified: this package's sentinels, the driver's
// ErrorCode, gocloud's codes, then an HTTP status.
func TestClassify(t *testing.T) {
	ctx := t.Context()
	b, d := openFake(t)
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{fmt.Errorf("%w: no object lock", ErrNotEnabled), gcerrors.FailedPrecondition},
		{fmt.Errorf("%w: no", ErrUnsupported), gcerrors.Unimplemented},
		{fmt.Errorf("sending: %w", context.DeadlineExceeded), gcerrors.DeadlineExceeded},
		{&fakeReply{code: gcerrors.NotFound, status: http.StatusBadRequest}, gcerrors.NotFound},
		{&fakeReply{code: gcerrors.Unknown, status: http.StatusTooManyRequests}, gcerrors.ResourceExhausted},
		{&fakeReply{code: gcerrors.Unknown, status: http.StatusTeapot}, gcerrors.Unknown},
		{errors.New("no code"), gcerrors.Unknown},
	} {
		d.err = tc.err
		err := Supported(ctx, b)
		assert.Equal(t, tc.want, gcerrors.Code(err), "%v", err)
		assert.ErrorIs(t, err, tc.err)
	}
	// gocloud's own errors keep their code (memblob: NotFound).
	d.err = nil
	_, err := CurrentVersion(ctx, b, "missing")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
}

// A bucket without a version id, and a driver that refuses the bucket.
func TestDriverRefusals(t *testing.T) {
	ctx := t.Context()
	b, _ := openFake(t)
	require.NoError(t, b.WriteAll(ctx, "k", []byte("x"), nil))
	_, err := CurrentVersion(ctx, b, "k")
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, "no version id visible through Attributes.As")

	require.NoError(t, b.WriteAll(ctx, "k", []byte("x"), &blob.WriterOptions{Metadata: map[string]string{"version": ""}}))
	err = Delete(ctx, b, "k")
	assert.ErrorIs(t, err, ErrNotEnabled)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))

	refused := memblob.OpenBucket(nil)
	defer refused.Close()
	fakeBuckets.Store(refused, nil)
	defer fakeBuckets.Delete(refused)
	err = Supported(ctx, refused)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, "fake bucket without a driver")
}

// A bucket no driver knows is unsupported; the error lists the drivers.
func TestNoDriver(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	err := Supported(t.Context(), b)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.ErrorContains(t, err, "fake, fake-second")
}

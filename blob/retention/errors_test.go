package retention

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
)

// Backends without retention say so, with Unimplemented: never a silent
// no-op.
func TestUnsupportedBackends(t *testing.T) {
	fb, err := fileblob.OpenBucket(t.TempDir(), nil)
	require.NoError(t, err)
	for name, b := range map[string]*blob.Bucket{"mem": memblob.OpenBucket(nil), "file": fb} {
		t.Run(name, func(t *testing.T) {
			defer b.Close()
			ctx := t.Context()
			require.NoError(t, b.WriteAll(ctx, "k", []byte("x"), nil))
			until := time.Now().Add(time.Hour)
			_, getErr := Get(ctx, b, "k")
			_, holdErr := LegalHold(ctx, b, "k")
			_, verErr := CurrentVersion(ctx, b, "k")
			for what, err := range map[string]error{
				"Supported":          Supported(ctx, b),
				"LegalHoldSupported": LegalHoldSupported(ctx, b),
				"Set":                Set(ctx, b, "k", Retention{Mode: Compliance, Until: until}),
				"Get":                getErr,
				"SetLegalHold":       SetLegalHold(ctx, b, "k", true),
				"LegalHold":          holdErr,
				"Delete":             Delete(ctx, b, "k", VersionID("1")),
				"CurrentVersion":     verErr,
			} {
				require.Error(t, err, what)
				assert.ErrorIs(t, err, ErrUnsupported, what)
				assert.ErrorIs(t, err, gcerrors.ErrUnimplemented, what)
				assert.Equal(t, gcerrors.Unimplemented, gcerrors.Code(err), "%s: %v", what, err)
				var e *Error
				require.ErrorAs(t, err, &e, what)
			}
			err := Set(ctx, b, "k", Retention{Mode: Compliance, Until: until})
			assert.Contains(t, err.Error(), `"k"`)
			assert.Contains(t, err.Error(), "COMPLIANCE")
			// Nothing was deleted.
			ok, err := b.Exists(ctx, "k")
			require.NoError(t, err)
			assert.True(t, ok)
		})
	}
}

// gcerrors.Code reads an *Error's code for every code; this fails if a
// gocloud upgrade changes the internal error type Error.As relies on.
func TestErrorCodes(t *testing.T) {
	for c := gcerrors.Unknown; c <= gcerrors.DeadlineExceeded; c++ {
		err := error(&Error{Op: "test", Code: c, Err: errors.New("cause")})
		assert.Equal(t, c, gcerrors.Code(err), "code %v", c)
		assert.Equal(t, c, gcerrors.Code(&wrapped{err}), "wrapped code %v", c)
		// gocloud's sentinels are named after their codes.
		s := sentinel(c)
		require.NotNil(t, s, "code %v", c)
		assert.EqualError(t, s, c.String())
		assert.ErrorIs(t, err, s)
	}
	assert.ErrorIs(t, &Error{Code: gcerrors.NotFound}, gcerrors.ErrNotFound)
	assert.Equal(t, gcerrors.OK, gcerrors.Code(nil))
}

type wrapped struct{ error }

func (w *wrapped) Unwrap() error { return w.error }

func TestInvalidArguments(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	ctx := context.Background()
	for what, r := range map[string]Retention{
		"no mode":   {Until: time.Now().Add(time.Hour)},
		"bad mode":  {Mode: "LOCKED", Until: time.Now().Add(time.Hour)},
		"no date":   {Mode: Governance},
		"past date": {Mode: Compliance, Until: time.Now().Add(-time.Second)},
	} {
		err := Set(ctx, b, "k", r)
		assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err), "%s: %v", what, err)
	}
}

func TestCanceledContext(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Set(ctx, b, "k", Retention{Mode: Governance, Until: time.Now().Add(time.Hour)})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, gcerrors.Canceled, gcerrors.Code(err))
}

func TestRoundUp(t *testing.T) {
	base := time.Date(2028, 9, 4, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, base, roundUp(base))
	assert.Equal(t, base.Add(time.Second), roundUp(base.Add(time.Nanosecond)))
}

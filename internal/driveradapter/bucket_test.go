package driveradapter_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/driveradapter"
)

// memHarness runs gocloud's own drivertest through the adapter over a
// memblob bucket. The conformance of the adapter over real servers is tested
// in package blob (drivertest_test.go).
type memHarness struct{ b *blob.Bucket }

// keepOpen stops drivertest's Close of one driver from closing the shared
// memblob bucket (each open of mem:// is a new, empty bucket).
type keepOpen struct{ driver.Bucket }

func (keepOpen) Close() error { return nil }

func (h *memHarness) MakeDriver(context.Context) (driver.Bucket, error) {
	return keepOpen{driveradapter.Bucket(h.b)}, nil
}
func (h *memHarness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return nil, nil
}
func (h *memHarness) HTTPClient() *http.Client         { return nil }
func (h *memHarness) SupportsCopy() bool               { return true }
func (h *memHarness) SupportsNonSlashDelimiters() bool { return true }

// SkipDownloadAt is false: gocloud's DownloadAt test (v0.49+) runs too.
func (h *memHarness) SkipDownloadAt() bool { return false }
func (h *memHarness) Close()               { h.b.Close() }

func TestConformanceMem(t *testing.T) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return &memHarness{b: memblob.OpenBucket(nil)}, nil
	}, nil)
}

func TestErrorsKeepCodeAndLoseDoublePrefix(t *testing.T) {
	ctx := context.Background()
	b := blob.NewBucket(driveradapter.Bucket(memblob.OpenBucket(nil)))
	defer b.Close()
	_, err := b.ReadAll(ctx, "missing")
	require.Error(t, err)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	assert.True(t, errors.Is(err, gcerrors.ErrNotFound))
	assert.Equal(t, 1, strings.Count(err.Error(), "code=NotFound"), err.Error())
}

func TestCancelledWriteCommitsNothing(t *testing.T) {
	mem := memblob.OpenBucket(nil)
	b := blob.NewBucket(driveradapter.Bucket(mem))
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, "partial", &blob.WriterOptions{ContentType: "text/plain"})
	require.NoError(t, err)
	_, err = w.Write([]byte("half of a ballot image"))
	require.NoError(t, err)
	cancel()
	require.Error(t, w.Close())
	exists, err := mem.Exists(context.Background(), "partial")
	require.NoError(t, err)
	assert.False(t, exists, "a cancelled write must leave nothing behind")
}

package migrate_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// The destination server freezes (SIGSTOP) mid-run: the object in flight
// fails with ErrStalled after IdleTimeout instead of hanging the run (it
// used to wait for as long as the server stayed frozen).
func TestMigrateFrozenDestinationStalls(t *testing.T) {
	srv := testenv.StartMinIO(t)
	dir := t.TempDir()
	buf := make([]byte, 8<<20)
	for i := range 40 {
		_, _ = rand.Read(buf)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("scan-%02d.tif", i)), buf, 0o600))
	}
	ctx, cancel := context.WithTimeout(testenv.Context(t), 2*time.Minute)
	defer cancel()
	src, dst := open(t, "file://"+dir), open(t, srv.S3URL(srv.NewBucket(t)))

	const idle = 2 * time.Second
	var (
		mu       sync.Mutex
		copied   int
		firstErr error
		frozenAt time.Time
		failedAt time.Time
	)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	opts := &migrate.Options{Workers: 1, IdleTimeout: idle, Retries: 1, RetryBackoff: 10 * time.Millisecond,
		Progress: func(key string, size int64, out migrate.Outcome, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case out == migrate.Copied:
				copied++
				if copied == 2 {
					srv.Freeze()
					frozenAt = time.Now()
				}
			case err != nil && firstErr == nil:
				firstErr, failedAt = err, time.Now()
				stop() // one stalled object is the evidence; end the run
			}
		}}
	done := make(chan struct{})
	var sum *migrate.Summary
	go func() { defer close(done); sum, _ = migrate.Run(rctx, src, dst, opts) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		srv.Thaw()
		t.Fatal("the run hung on the frozen server")
	}
	srv.Thaw()
	require.NotNil(t, sum)
	require.Error(t, firstErr, "an object failed: %s", sum)
	assert.ErrorIs(t, firstErr, migrate.ErrStalled)
	took := failedAt.Sub(frozenAt)
	t.Logf("frozen after 2 objects; the object in flight failed %v later (IdleTimeout %v, 1 retry): %v", took.Round(time.Millisecond), idle, firstErr)
	assert.Less(t, took, 4*idle+5*time.Second, "bounded by the idle timeout and its retry")
}

// trickleBucket serves every read 1 KiB at a time, one every 20 ms: bytes
// keep moving (the idle timeout never fires), but a 1 MiB object would
// take 20 s.
type trickleBucket struct{ driver.Bucket }

func (b trickleBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	r, err := b.Bucket.NewRangeReader(ctx, key, offset, length, opts)
	if err != nil {
		return nil, err
	}
	return &trickleReader{Reader: r, ctx: ctx}, nil
}

type trickleReader struct {
	driver.Reader
	ctx context.Context
}

func (r *trickleReader) Read(p []byte) (int, error) {
	select {
	case <-time.After(20 * time.Millisecond):
	case <-r.ctx.Done():
		return 0, r.ctx.Err()
	}
	return r.Reader.Read(p[:min(len(p), 1<<10)])
}

// A source that trickles defeats the idle timeout; ObjectTimeout bounds
// the object anyway, and it is retried, then failed, naming the cause.
func TestMigrateObjectTimeout(t *testing.T) {
	ctx := testenv.Context(t)
	dir := t.TempDir()
	p := make([]byte, 1<<20)
	_, _ = rand.Read(p)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "scan.tif"), p, 0o600))
	src := gcblob.NewBucket(trickleBucket{driveradapter.Bucket(open(t, "file://"+dir))})
	dst := open(t, "file://"+t.TempDir())

	start := time.Now()
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{IdleTimeout: time.Second, ObjectTimeout: 500 * time.Millisecond,
		Retries: 1, RetryBackoff: 10 * time.Millisecond})
	took := time.Since(start)
	require.NoError(t, err)
	require.Len(t, sum.Failures, 1, "%s", sum)
	assert.Contains(t, sum.Failures[0].Err, "not done in time within 500ms (ObjectTimeout)")
	assert.NotContains(t, sum.Failures[0].Err, "IdleTimeout", "bytes kept moving")
	assert.Less(t, took, 5*time.Second, "two tries of 500 ms, not the 20 s the trickle takes")
	ok, err := dst.Exists(ctx, "scan.tif")
	require.NoError(t, err)
	assert.False(t, ok, "nothing written")
}

// The source server is frozen before the run: its listing is under the
// idle timeout too, so the run ends with ErrStalled instead of waiting for
// the first page forever.
func TestMigrateFrozenSourceListing(t *testing.T) {
	srv := testenv.StartMinIO(t)
	ctx, cancel := context.WithTimeout(testenv.Context(t), 2*time.Minute)
	defer cancel()
	src, dst := open(t, srv.S3URL(srv.NewBucket(t))), open(t, "file://"+t.TempDir())
	require.NoError(t, src.WriteAll(ctx, "a", []byte("a"), nil))
	srv.Freeze()
	defer srv.Thaw()

	const idle = time.Second
	start := time.Now()
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		_, err = migrate.Run(ctx, src, dst, &migrate.Options{IdleTimeout: idle, Retries: 1, RetryBackoff: 10 * time.Millisecond})
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		srv.Thaw()
		t.Fatal("the listing hung on the frozen server")
	}
	took := time.Since(start)
	require.ErrorIs(t, err, migrate.ErrStalled)
	assert.Contains(t, err.Error(), "no listing page within 1s, 2 tries")
	assert.Less(t, took, 2*idle+5*time.Second, "two tries of the idle timeout")
}

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

	"github.com/civicport/civicport/blob/migrate"
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

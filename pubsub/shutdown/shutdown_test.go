package shutdown

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/pubsub/batcher"
)

// newBatcher is a batcher with gcppubsub's send limits (a MaxBatchByteSize,
// so nextBatch takes its size-limited path) whose handler signals each call
// on calls and then waits for release; a call with an empty batch (the bug)
// ends its goroutine there, so that the test leaks one parked goroutine
// instead of one spinning.
func newBatcher(calls chan<- int, release <-chan struct{}) *batcher.Batcher {
	opts := &batcher.Options{MaxHandlers: 2, MaxBatchSize: 1000, MaxBatchByteSize: 8 << 20}
	return batcher.New(reflect.TypeFor[int](), opts, func(items any) error {
		n := len(items.([]int))
		calls <- n
		if n == 0 {
			runtime.Goexit()
		}
		<-release
		return nil
	})
}

// TestUpstreamBatcherHang pins the gocloud bug this package works around:
// Shutdown while a handler still runs makes that handler take an empty batch
// and never stop. When this test fails, gocloud has fixed it: drop the
// package and call Shutdown directly.
func TestUpstreamBatcherHang(t *testing.T) {
	calls := make(chan int, 4)
	release := make(chan struct{})
	b := newBatcher(calls, release)
	errc := b.AddNoWait(1)
	require.Equal(t, 1, <-calls, "the item's batch")

	done := make(chan struct{})
	go func() { b.Shutdown(); close(done) }()
	require.Eventually(t, shutdownWaiting, 5*time.Second, time.Millisecond)
	close(release)
	require.NoError(t, <-errc)

	select {
	case n := <-calls:
		assert.Equal(t, 0, n, "the handler was called again, with an empty batch")
	case <-time.After(5 * time.Second):
		t.Fatal("gocloud's batcher no longer calls its handler with an empty batch after Shutdown: the upstream bug is fixed, remove pubsub/shutdown")
	}
	select {
	case <-done:
		t.Fatal("Shutdown returned although its handler never ended")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestAwaitIdleThenShutdown is the workaround: AwaitIdle does not return
// while a handler runs, and once it has, Shutdown returns and no handler is
// called with an empty batch.
func TestAwaitIdleThenShutdown(t *testing.T) {
	calls := make(chan int, 4)
	release := make(chan struct{})
	b := newBatcher(calls, release)
	errc := b.AddNoWait(1)
	require.Equal(t, 1, <-calls)

	idle := make(chan bool)
	go func() { idle <- AwaitIdle(context.Background()) }()
	select {
	case <-idle:
		t.Fatal("AwaitIdle returned while a handler was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-errc)
	require.True(t, <-idle, "AwaitIdle after the handler ended")

	done := make(chan struct{})
	go func() { b.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown after AwaitIdle did not return")
	}
	select {
	case n := <-calls:
		t.Fatalf("handler called again with %d items", n)
	default:
	}
}

// TestAwaitIdleGivesUp: a handler that never ends holds AwaitIdle only
// until ctx is done.
func TestAwaitIdleGivesUp(t *testing.T) {
	calls := make(chan int, 1)
	release := make(chan struct{})
	defer close(release)
	b := newBatcher(calls, release)
	b.AddNoWait(1)
	<-calls
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.False(t, AwaitIdle(ctx))
	assert.Less(t, time.Since(start), 2*time.Second)
}

// shutdownWaiting: a goroutine is in Batcher.Shutdown's wait for its
// handlers, so it has set its shutdown flag.
func shutdownWaiting() bool {
	for _, g := range strings.Split(string(stacks()), "\n\n") {
		if strings.Contains(g, "(*WaitGroup).Wait") && strings.Contains(g, "batcher.(*Batcher).Shutdown(") {
			return true
		}
	}
	return false
}

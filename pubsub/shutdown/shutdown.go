// Package shutdown shuts gocloud pubsub topics and subscriptions down
// without tripping a hang in gocloud.dev/pubsub/batcher (v0.49.0, the newest
// release, and go-cloud's master as of 2026-12-07). Use Topic(ctx, t) and
// Subscription(ctx, s) where you would call t.Shutdown(ctx) and
// s.Shutdown(ctx); civicport's CLI, decorators and tests all do.
//
// The bug: Batcher.nextBatch ignores MinBatchSize once Shutdown has begun,
// and, whenever the batcher has ever taken its size-limited path (always for
// gcppubsub topics, whose MaxBatchByteSize is 8 MiB; for any batcher once
// more items were pending than MaxBatchSize), it then returns an empty but
// non-nil batch. A handler goroutine still running when Shutdown sets its
// flag (even one that has already delivered its result, so the caller's
// Send has returned) therefore loops forever on empty batches, and
// Topic.Shutdown (or Subscription.Shutdown, for the ack batcher) never
// returns with a context that has no deadline, and leaves that goroutine
// spinning when it has one. civicport's CI hit it as a 30-minute test timeout in a
// round trip through gcppubsub: Send returned, the handler was descheduled
// before taking its lock, Shutdown came first. TestUpstreamBatcherHang
// reproduces it deterministically and fails once gocloud fixes it, the day
// this package can go.
//
// The workaround: a batcher with no handler running cannot hit it (Shutdown
// then starts none for an empty batch), and a handler that has delivered its
// results ends as soon as it is scheduled. So Topic and Subscription first
// wait, a bounded time, until no goroutine of the process is inside a
// gocloud batcher's handler loop, then call Shutdown. The caller must have
// no Send or Receive of its own still running on that topic or
// subscription, as for any Shutdown that is meant to be final.
package shutdown

import (
	"bytes"
	"context"
	"runtime"
	"time"

	"gocloud.dev/pubsub"
)

// IdleLimit bounds how long Topic and Subscription wait for the process's
// batcher handlers to finish before calling Shutdown anyway (other topics
// of the process may be busy for good reasons).
const IdleLimit = 5 * time.Second

// handlerFrame is the function every gocloud batcher handler goroutine
// runs in, from its first batch until it takes no more.
var handlerFrame = []byte("gocloud.dev/pubsub/batcher.(*Batcher).callHandler(")

// Topic waits (at most IdleLimit, or until ctx is done) until no gocloud
// batcher handler is running, then returns t.Shutdown(ctx).
func Topic(ctx context.Context, t *pubsub.Topic) error {
	AwaitIdle(ctx)
	return t.Shutdown(ctx)
}

// Subscription is Topic for a subscription (its ack batcher has the same
// loop).
func Subscription(ctx context.Context, s *pubsub.Subscription) error {
	AwaitIdle(ctx)
	return s.Shutdown(ctx)
}

// AwaitIdle returns true once no goroutine of the process is inside a gocloud
// batcher's handler loop, false if ctx is done or IdleLimit passes first.
func AwaitIdle(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, IdleLimit)
	defer cancel()
	wait := 50 * time.Microsecond
	for bytes.Contains(stacks(), handlerFrame) {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
	return true
}

// stacks is the stack trace of every goroutine of the process.
func stacks() []byte {
	buf := make([]byte, 64<<10)
	for {
		if n := runtime.Stack(buf, true); n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

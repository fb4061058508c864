package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub/meta"
)

// Options tune Run. A nil *Options is the zero value.
type Options struct {
	// UntilIdle, if positive, ends the bridge once no message has arrived
	// for this long: the source is drained. Zero runs until ctx is done.
	UntilIdle time.Duration

	// Workers is how many messages are forwarded at once. Default 8. Order
	// is kept only with Workers = 1 (and a source that delivers in order).
	Workers int

	// Progress, if set, is called after each message is forwarded or fails,
	// with the running totals. It may be called from several goroutines at
	// once.
	Progress func(Stats)
}

// Stats counts what a Run did.
type Stats struct {
	Forwarded int64 // accepted by the destination, then acked on the source
	Bytes     int64 // body bytes forwarded
	Failed    int64 // refused by the destination, nacked on the source
}

// Run drains from, a subscription on one provider, into to, a topic on
// another, keeping each message's body and metadata. A message is acked on
// from only after to has accepted it, so a bridge that is killed at any
// point loses nothing: what it had not acked comes back from the source and
// is forwarded again when it restarts. That can deliver a message twice to
// the destination; consumers that must not see duplicates read it through
// dedup.Wrap, which recognises the copy by its meta.ID. A message without one
// gets one on the way (the key dedup.Wrap uses on the source), except a signed
// message, whose signature covers its metadata: signed publishers should set
// meta.ID themselves.
//
// Run returns when ctx is done (with ctx's error), when the source has
// been idle for opts.UntilIdle (with nil), or at the first message the
// destination refuses (with that error; the message is nacked so it stays on
// the source). It does not shut down from or to; shut down from after
// Run returns so that its last acks are sent.
func Run(ctx context.Context, from *gcpubsub.Subscription, to *gcpubsub.Topic, opts *Options) (*Stats, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.UntilIdle < 0 {
		return &Stats{}, fmt.Errorf("bridge: UntilIdle %v is negative; want 0 (run until cancelled) or a positive duration", o.UntilIdle)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		forwarded, bytes, failed atomic.Int64
		firstErr                 error
		errOnce                  sync.Once
		wg                       sync.WaitGroup
	)
	stats := func() *Stats {
		return &Stats{Forwarded: forwarded.Load(), Bytes: bytes.Load(), Failed: failed.Load()}
	}
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel(err) })
	}
	for range o.Workers {
		wg.Go(func() {
			for {
				m, err := receive(ctx, from, o.UntilIdle)
				if err != nil {
					if !errors.Is(err, errIdle) && ctx.Err() == nil {
						fail(fmt.Errorf("bridge: receive: %w", err))
					}
					return
				}
				out := &gcpubsub.Message{Body: m.Body, Metadata: bridgedMetadata(m)}
				if err := to.Send(ctx, out); err != nil {
					if m.Nackable() {
						m.Nack()
					}
					failed.Add(1)
					if o.Progress != nil {
						o.Progress(*stats())
					}
					if ctx.Err() == nil {
						fail(fmt.Errorf("bridge: forward message %s: %w", m.LoggableID, err))
					}
					return
				}
				m.Ack()
				forwarded.Add(1)
				bytes.Add(int64(len(m.Body)))
				if o.Progress != nil {
					o.Progress(*stats())
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return stats(), firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return stats(), err
	}
	return stats(), nil
}

// bridgedMetadata is m's metadata, plus a meta.ID when it has none and
// is not signed (adding a key would break its signature; a message signed by
// sign.Wrap carries a signed nonce, meta.Signed, that dedup.Wrap keys on
// instead): the key dedup.Wrap would use for m on the source, so that a copy
// forwarded again after a restart is recognised on the destination, where
// the backend's message id differs.
func bridgedMetadata(m *gcpubsub.Message) map[string]string {
	md := maps.Clone(m.Metadata)
	if md[meta.ID] != "" || md[meta.Signature] != "" {
		return md
	}
	if md == nil {
		md = map[string]string{}
	}
	md[meta.ID] = meta.DedupKey(m.LoggableID, m.Body, m.Metadata, false)
	return md
}

var errIdle = errors.New("idle")

// receive waits for the next message, or for idle (errIdle) when positive.
func receive(ctx context.Context, s *gcpubsub.Subscription, idle time.Duration) (*gcpubsub.Message, error) {
	if idle <= 0 {
		return s.Receive(ctx)
	}
	rctx, cancel := context.WithTimeout(ctx, idle)
	defer cancel()
	m, err := s.Receive(rctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, errIdle
	}
	return m, err
}

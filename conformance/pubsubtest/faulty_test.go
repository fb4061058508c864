package pubsubtest

// The failing case first: these tests prove the suite can fail. Each builds a
// deliberately broken backend (a test-only driver over the healthy FIFO
// backend of fifo_test.go) and asserts that the suite reports a fail, with
// evidence, for the capability that is broken, while capabilities the fault
// does not touch still pass.

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
)

// fastOptions keep the faulty tests quick: small counts, short waits.
func fastOptions(t *testing.T, caps ...string) *Options {
	return &Options{
		Capabilities:    caps,
		Messages:        300,
		LargeMessageMax: 4 << 20,
		AckDeadline:     4 * time.Second,
		ReceiveTimeout:  2 * time.Second,
		CheckTimeout:    time.Minute,
		Logf:            t.Logf,
	}
}

func runCaps(t *testing.T, open Opener, o *Options) []conformance.Result {
	t.Helper()
	res := Run(t.Context(), open, o)
	require.Len(t, res, len(o.Capabilities))
	for _, r := range res {
		t.Logf("%s (%v)", r, r.Duration.Round(time.Millisecond))
	}
	return res
}

var requireStatus = resulttest.RequireStatus

// --- a topic that silently drops one message in 100 ---

type dropOneIn100 struct {
	driver.Topic
	n atomic.Int64
}

func (d *dropOneIn100) SendBatch(ctx context.Context, ms []*driver.Message) error {
	var keep []*driver.Message
	for _, m := range ms {
		if d.n.Add(1)%100 != 0 {
			keep = append(keep, m)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return d.Topic.SendBatch(ctx, keep)
}

func TestFaultyDropsMessages(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapTopic: func(d driver.Topic) driver.Topic { return &dropOneIn100{Topic: d} }}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubAtLeastOnce, conformance.PubSubNackRedelivery))
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "3 of 300 sent messages never arrived", "#")
	requireStatus(t, res, conformance.PubSubNackRedelivery, conformance.Pass)
}

// --- a subscription that drops all metadata ---

type dropMetadata struct{ driver.Subscription }

func (d dropMetadata) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	ms, err := d.Subscription.ReceiveBatch(ctx, max)
	for _, m := range ms {
		m.Metadata = nil
	}
	return ms, err
}

func TestFaultyDropsMetadata(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapSub: func(d driver.Subscription) driver.Subscription { return dropMetadata{d} }}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubAtLeastOnce, conformance.PubSubMetadata))
	// Messages are still recognised by their body, but each delivery is
	// compared with what was sent.
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail,
		"300 of 300 messages were delivered with a body or metadata other than what was sent", `metadata "civicport-conformance" missing`)
	requireStatus(t, res, conformance.PubSubMetadata, conformance.Fail,
		`unicode values: metadata "unicode-emoji" missing`, `empty value: metadata "empty-value" missing`,
		`9 keys: metadata "key-9" missing`, `metadata "civicport-conformance" missing`)
	assert.Zero(t, b.unacked(), "messages left unacked")
}

// --- a subscription that flips the last byte of one body in 50 ---

type flipOneIn50 struct {
	driver.Subscription
	n atomic.Int64
}

func (d *flipOneIn50) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	ms, err := d.Subscription.ReceiveBatch(ctx, max)
	for _, m := range ms {
		if d.n.Add(1)%50 == 0 && len(m.Body) > 0 {
			b := append([]byte(nil), m.Body...)
			b[len(b)-1] ^= 1
			m.Body = b
		}
	}
	return ms, err
}

func TestFaultyAltersBodies(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapSub: func(d driver.Subscription) driver.Subscription { return &flipOneIn50{Subscription: d} }}
	o := fastOptions(t, conformance.PubSubAtLeastOnce)
	res := runCaps(t, b.opener(), o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail,
		"of 300 messages were delivered with a body or metadata other than what was sent", "body ")
}

// --- a subscription that mangles metadata values and binary bodies ---

type mangle struct{ driver.Subscription }

func (d mangle) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	ms, err := d.Subscription.ReceiveBatch(ctx, max)
	for _, m := range ms {
		for k, v := range m.Metadata {
			if k != MetadataKey {
				m.Metadata[k] = stringsToASCII(v)
			}
		}
		m.Body = []byte(stringsToValidUTF8(string(m.Body)))
	}
	return ms, err
}

func stringsToASCII(s string) string {
	out := []rune{}
	for _, r := range s {
		if r > 127 {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}

func stringsToValidUTF8(s string) string {
	out := []rune{}
	for _, r := range s {
		out = append(out, r) // invalid bytes become U+FFFD
	}
	return string(out)
}

func TestFaultyManglesMetadata(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapSub: func(d driver.Subscription) driver.Subscription { return mangle{d} }}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubMetadata))
	requireStatus(t, res, conformance.PubSubMetadata, conformance.Fail,
		`unicode values: metadata "unicode-latin": got "Gr??e aus K?ln`, "binary body: body differs")
}

// --- a topic that silently truncates bodies over 1 MiB ---

type truncateLarge struct{ driver.Topic }

func (d truncateLarge) SendBatch(ctx context.Context, ms []*driver.Message) error {
	out := make([]*driver.Message, len(ms))
	for i, m := range ms {
		c := *m
		if len(c.Body) > 1<<20 {
			c.Body = c.Body[:1<<20]
		}
		out[i] = &c
	}
	return d.Topic.SendBatch(ctx, out)
}

// refuseOver refuses bodies over a limit, honestly.
type refuseOver struct {
	driver.Topic
	limit int
}

func (d refuseOver) SendBatch(ctx context.Context, ms []*driver.Message) error {
	for _, m := range ms {
		if len(m.Body) > d.limit {
			return errTooLarge
		}
	}
	return d.Topic.SendBatch(ctx, ms)
}

var errTooLarge = &tooLarge{}

type tooLarge struct{}

func (*tooLarge) Error() string { return "message too large: the limit is 100000 bytes" }

func TestFaultyTruncatesLargeMessages(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapTopic: func(d driver.Topic) driver.Topic { return truncateLarge{d} }}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubLargeMessage, conformance.PubSubMetadata))
	requireStatus(t, res, conformance.PubSubLargeMessage, conformance.Fail,
		"the send of 4 MiB succeeded, but the message arrived changed", "truncated")
	requireStatus(t, res, conformance.PubSubMetadata, conformance.Pass)
	assert.Zero(t, b.unacked(), "messages left unacked")
}

func TestLargeMessageLimits(t *testing.T) {
	t.Parallel()
	t.Run("refused below 256 KiB is unsupported", func(t *testing.T) {
		b := &fifoBackend{wrapTopic: func(d driver.Topic) driver.Topic { return refuseOver{d, 100_000} }}
		res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubLargeMessage))
		requireStatus(t, res, conformance.PubSubLargeMessage, conformance.Unsupported,
			"largest round-trip 64 KiB", "256 KiB refused", "the limit is 100000 bytes")
	})
	t.Run("refused above 1 MiB passes with the limit", func(t *testing.T) {
		b := &fifoBackend{wrapTopic: func(d driver.Topic) driver.Topic { return refuseOver{d, 1<<20 + 1000} }}
		res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubLargeMessage))
		requireStatus(t, res, conformance.PubSubLargeMessage, conformance.Pass, "largest round-trip 1 MiB", "4 MiB refused")
	})
	t.Run("sizes", func(t *testing.T) {
		assert.Equal(t, []int64{64 << 10, 256 << 10, 1 << 20, 4 << 20, 10 << 20}, largeSizes(10<<20))
		assert.Equal(t, []int64{64 << 10, 256 << 10, 1 << 20, 2 << 20}, largeSizes(2<<20))
		assert.Equal(t, []int64{1000}, largeSizes(1000))
	})
}

// --- a subscription that acks every message as it receives it ---

type ackOnReceive struct{ driver.Subscription }

func (d ackOnReceive) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	ms, err := d.Subscription.ReceiveBatch(ctx, max)
	ids := make([]driver.AckID, len(ms))
	for i, m := range ms {
		ids[i] = m.AckID
	}
	if len(ids) > 0 {
		_ = d.Subscription.SendAcks(ctx, ids)
	}
	return ms, err
}

func (ackOnReceive) SendAcks(context.Context, []driver.AckID) error  { return nil }
func (ackOnReceive) SendNacks(context.Context, []driver.AckID) error { return nil }

func TestFaultyAcksOnReceive(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{
		wrapSub:       func(d driver.Subscription) driver.Subscription { return ackOnReceive{d} },
		maxDeliveries: 3, deadLetter: true,
	}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubAtLeastOnce, conformance.PubSubNackRedelivery,
		conformance.PubSubAckDeadline, conformance.PubSubReceiverCrash, conformance.PubSubDeadLetter))
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Pass)
	requireStatus(t, res, conformance.PubSubNackRedelivery, conformance.Fail, "after Nack, the message did not arrive within 2s")
	requireStatus(t, res, conformance.PubSubAckDeadline, conformance.Fail, "was not delivered again within 4s")
	requireStatus(t, res, conformance.PubSubReceiverCrash, conformance.Fail, "was not delivered to the subscription opened again within 4s")
	requireStatus(t, res, conformance.PubSubDeadLetter, conformance.Fail, "delivered 1 times", "did not reach the dead-letter subscription")
}

// --- a subscription that cannot nack ---

type noNack struct{ driver.Subscription }

func (noNack) CanNack() bool { return false }

func TestNotNackable(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{
		wrapSub:       func(d driver.Subscription) driver.Subscription { return noNack{d} },
		maxDeliveries: 2, deadLetter: true,
	}
	res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubNackRedelivery, conformance.PubSubAckDeadline, conformance.PubSubDeadLetter))
	requireStatus(t, res, conformance.PubSubNackRedelivery, conformance.Unsupported, "not Nackable")
	requireStatus(t, res, conformance.PubSubAckDeadline, conformance.Pass)
	// Without nack, the dead-letter check lets each delivery expire.
	requireStatus(t, res, conformance.PubSubDeadLetter, conformance.Pass, "dead-lettered after 2 deliveries (Pair.MaxDeliveries 2)")
	assert.Zero(t, b.unacked(), "messages left unacked")
}

// --- a subscription that delivers some messages late ---

type reorder struct {
	driver.Subscription
	mu    sync.Mutex
	n     int
	stash *driver.Message
}

// ReceiveBatch holds back the 5th of every 10 messages until the 8th has
// been handed out.
func (d *reorder) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	ms, err := d.Subscription.ReceiveBatch(ctx, max)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(ms) == 0 && d.stash != nil {
		out := []*driver.Message{d.stash}
		d.stash = nil
		return out, err
	}
	var out []*driver.Message
	for _, m := range ms {
		d.n++
		switch {
		case d.n%10 == 5 && d.stash == nil:
			d.stash = m
			continue
		case d.n%10 == 8 && d.stash != nil:
			out = append(out, m, d.stash)
			d.stash = nil
			continue
		}
		out = append(out, m)
	}
	return out, err
}

func TestFaultyReorders(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapSub: func(d driver.Subscription) driver.Subscription { return &reorder{Subscription: d} }}
	o := fastOptions(t, conformance.PubSubOrdering, conformance.PubSubAtLeastOnce)
	o.Ordered = true
	res := runCaps(t, b.opener(), o)
	requireStatus(t, res, conformance.PubSubOrdering, conformance.Fail,
		"order not kept: 20 of 200 messages arrived after a message sent later", "first: #5 arrived after #8", "Options.Ordered")
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Pass)

	// The same backend not declared ordered: unsupported, with the evidence.
	o.Ordered = false
	o.Capabilities = []string{conformance.PubSubOrdering}
	res = runCaps(t, b.opener(), o)
	requireStatus(t, res, conformance.PubSubOrdering, conformance.Unsupported, "first: #5 arrived after #8", "not declared ordered")
}

// --- dead-letter queues that do not work ---

func TestFaultyDeadLetter(t *testing.T) {
	t.Parallel()
	t.Run("never dead-lettered", func(t *testing.T) {
		// Messages are dropped after 3 deliveries instead of being moved.
		b := &fifoBackend{maxDeliveries: 3}
		res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubDeadLetter))
		requireStatus(t, res, conformance.PubSubDeadLetter, conformance.Fail,
			"delivered 3 times on the subscription and nacked each time, but did not reach the dead-letter subscription within 2s")
	})
	t.Run("dead-lettered too late", func(t *testing.T) {
		b := &fifoBackend{maxDeliveries: 4, deadLetter: true, claimMax: 2}
		res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubDeadLetter))
		requireStatus(t, res, conformance.PubSubDeadLetter, conformance.Fail, "more than Pair.MaxDeliveries (2)")
	})
	t.Run("no dead-letter subscription", func(t *testing.T) {
		b := &fifoBackend{}
		res := runCaps(t, b.opener(), fastOptions(t, conformance.PubSubDeadLetter))
		requireStatus(t, res, conformance.PubSubDeadLetter, conformance.Unsupported, "Pair.DeadLetter")
	})
}

// --- a subscription that never delivers anything ---

type blackHole struct{ driver.Subscription }

func (blackHole) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestFaultyNeverDelivers(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{wrapSub: func(d driver.Subscription) driver.Subscription { return blackHole{d} }}
	o := fastOptions(t, conformance.PubSubAtLeastOnce, conformance.PubSubNackRedelivery, conformance.PubSubMetadata,
		conformance.PubSubLargeMessage, conformance.PubSubOrdering)
	o.Messages = 20
	o.ReceiveTimeout = time.Second
	start := time.Now()
	res := runCaps(t, b.opener(), o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "20 of 20 sent messages never arrived")
	requireStatus(t, res, conformance.PubSubNackRedelivery, conformance.Fail, "the nack message was sent, but it did not arrive within 1s")
	requireStatus(t, res, conformance.PubSubMetadata, conformance.Fail, "unicode values: sent, but it did not arrive within 1s")
	requireStatus(t, res, conformance.PubSubLargeMessage, conformance.Fail, "the send of 64 KiB succeeded, but the message did not arrive")
	requireStatus(t, res, conformance.PubSubOrdering, conformance.Fail, "0 of 200 ordering messages received")
	assert.Less(t, time.Since(start), 40*time.Second, "the suite must not hang")

	// A check timeout shorter than the waits: a fail that says so.
	o.Capabilities = []string{conformance.PubSubAckDeadline}
	o.ReceiveTimeout = 10 * time.Second
	o.CheckTimeout = time.Second
	start = time.Now()
	res = runCaps(t, b.opener(), o)
	requireStatus(t, res, conformance.PubSubAckDeadline, conformance.Fail, "check did not finish within 1s (Options.CheckTimeout)")
	assert.Less(t, time.Since(start), 45*time.Second)
}

// --- Openers that fail or panic ---

func TestBrokenOpeners(t *testing.T) {
	t.Parallel()
	o := fastOptions(t, conformance.PubSubAtLeastOnce)
	res := Run(t.Context(), func(context.Context) (*Pair, error) { return nil, assertErr("no such queue") }, o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "opening the topic and subscription: no such queue")

	res = Run(t.Context(), func(context.Context) (*Pair, error) { panic("boom") }, o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "the Opener panicked: boom")

	res = Run(t.Context(), func(context.Context) (*Pair, error) {
		return &Pair{Topic: pubsub.NewTopic(&fifoTopic{newFIFO(time.Second)}, nil), Subscribe: func(context.Context) (*pubsub.Subscription, error) {
			return nil, assertErr("subscription gone")
		}}, nil
	}, o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "opening the subscription: subscription gone")

	res = Run(t.Context(), nil, o)
	requireStatus(t, res, conformance.PubSubAtLeastOnce, conformance.Fail, "Opener is nil")

	o.Capabilities = []string{"pubsub.teleport"}
	res = Run(t.Context(), (&fifoBackend{}).opener(), o)
	requireStatus(t, res, "pubsub.teleport", conformance.Skipped, `unknown capability "pubsub.teleport"`)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o.Capabilities = []string{conformance.PubSubMetadata}
	res = Run(ctx, (&fifoBackend{}).opener(), o)
	requireStatus(t, res, conformance.PubSubMetadata, conformance.Skipped, "not run")
}

type assertErr string

func (e assertErr) Error() string { return string(e) }

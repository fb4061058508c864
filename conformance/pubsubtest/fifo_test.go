package pubsubtest

// A small, well-behaved in-memory backend for the suite's own tests: one
// FIFO queue per pair, durable across Subscribe calls, with an ack deadline,
// nack, and an optional SQS-style dead-letter queue (a message received more
// than maxDeliveries times moves to the dead queue on the next receive).
// Unlike mempubsub it keeps order, so the ordering check can pass and a
// reordering fault can be seen; the faulty backends in faulty_test.go wrap it.

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/pubsub/shutdown"
)

type fifoQueue struct {
	mu            sync.Mutex
	msgs          []*fifoMsg
	next          int
	ackDeadline   time.Duration
	maxDeliveries int        // 0: unlimited
	dead          *fifoQueue // where messages go after maxDeliveries; nil: dropped
}

type fifoMsg struct {
	id         int
	body       []byte
	md         map[string]string
	visibleAt  time.Time
	deliveries int
}

func newFIFO(ackDeadline time.Duration) *fifoQueue {
	return &fifoQueue{ackDeadline: ackDeadline}
}

func (q *fifoQueue) add(body []byte, md map[string]string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	q.msgs = append(q.msgs, &fifoMsg{id: q.next, body: slices.Clone(body), md: maps.Clone(md)})
}

// Len is how many messages are not acked yet.
func (q *fifoQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

func (q *fifoQueue) receive(now time.Time, max int) []*driver.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*driver.Message
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if len(out) == max || now.Before(m.visibleAt) {
			kept = append(kept, m)
			continue
		}
		if q.maxDeliveries > 0 && m.deliveries >= q.maxDeliveries {
			if q.dead != nil {
				q.dead.add(m.body, m.md)
			}
			continue
		}
		m.deliveries++
		m.visibleAt = now.Add(q.ackDeadline)
		kept = append(kept, m)
		out = append(out, &driver.Message{
			LoggableID: strconv.Itoa(m.id),
			Body:       slices.Clone(m.body),
			Metadata:   maps.Clone(m.md),
			AckID:      m.id,
		})
	}
	q.msgs = kept
	return out
}

func (q *fifoQueue) settle(ids []driver.AckID, ack bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	set := map[int]bool{}
	for _, id := range ids {
		set[id.(int)] = true
	}
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		switch {
		case !set[m.id]:
		case ack:
			continue
		default:
			m.visibleAt = time.Time{}
		}
		kept = append(kept, m)
	}
	q.msgs = kept
}

type fifoTopic struct{ q *fifoQueue }

func (t *fifoTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	for _, m := range ms {
		if m.BeforeSend != nil {
			if err := m.BeforeSend(func(any) bool { return false }); err != nil {
				return err
			}
		}
		t.q.add(m.Body, m.Metadata)
		if m.AfterSend != nil {
			if err := m.AfterSend(func(any) bool { return false }); err != nil {
				return err
			}
		}
	}
	return nil
}

func (*fifoTopic) IsRetryable(error) bool             { return false }
func (*fifoTopic) As(any) bool                        { return false }
func (*fifoTopic) ErrorAs(error, any) bool            { return false }
func (*fifoTopic) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }
func (*fifoTopic) Close() error                       { return nil }
func (*fifoSub) IsRetryable(error) bool               { return false }
func (*fifoSub) As(any) bool                          { return false }
func (*fifoSub) ErrorAs(error, any) bool              { return false }
func (*fifoSub) ErrorCode(error) gcerrors.ErrorCode   { return gcerrors.Unknown }
func (*fifoSub) Close() error                         { return nil }
func (*fifoSub) CanNack() bool                        { return true }
func (s *fifoSub) SendAcks(_ context.Context, ids []driver.AckID) error {
	s.q.settle(ids, true)
	return nil
}
func (s *fifoSub) SendNacks(_ context.Context, ids []driver.AckID) error {
	s.q.settle(ids, false)
	return nil
}

type fifoSub struct{ q *fifoQueue }

func (s *fifoSub) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	if ms := s.q.receive(time.Now(), max); len(ms) > 0 {
		return ms, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(20 * time.Millisecond):
	}
	return nil, nil
}

// fifoBackend configures fifoOpener.
type fifoBackend struct {
	ackDeadline   time.Duration // default 1s
	maxDeliveries int           // > 0: SQS-style redrive after that many
	deadLetter    bool          // with maxDeliveries: keep a dead queue and offer it as Pair.DeadLetter
	claimMax      int           // Pair.MaxDeliveries (default maxDeliveries)
	wrapTopic     func(driver.Topic) driver.Topic
	wrapSub       func(driver.Subscription) driver.Subscription

	mu     sync.Mutex
	queues []*fifoQueue // every queue made, dead ones included
}

// opener returns a fresh queue (and dead queue) per call.
func (b *fifoBackend) opener() Opener {
	return func(ctx context.Context) (*Pair, error) {
		return b.pair(b.newQueue()), nil
	}
}

// sharedOpener returns the same queue q on every call, like the CLI.
func (b *fifoBackend) sharedOpener(q *fifoQueue) Opener {
	return func(ctx context.Context) (*Pair, error) { return b.pair(q), nil }
}

func (b *fifoBackend) newQueue() *fifoQueue {
	ad := b.ackDeadline
	if ad == 0 {
		ad = time.Second
	}
	q := newFIFO(ad)
	q.maxDeliveries = b.maxDeliveries
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queues = append(b.queues, q)
	if b.deadLetter {
		q.dead = newFIFO(ad)
		b.queues = append(b.queues, q.dead)
	}
	return q
}

func (b *fifoBackend) pair(q *fifoQueue) *Pair {
	var dt driver.Topic = &fifoTopic{q}
	if b.wrapTopic != nil {
		dt = b.wrapTopic(dt)
	}
	topic := pubsub.NewTopic(dt, nil)
	sub := func(q *fifoQueue, wrap bool) func(context.Context) (*pubsub.Subscription, error) {
		return func(context.Context) (*pubsub.Subscription, error) {
			var ds driver.Subscription = &fifoSub{q}
			if wrap && b.wrapSub != nil {
				ds = b.wrapSub(ds)
			}
			return pubsub.NewSubscription(ds, nil, nil), nil
		}
	}
	p := &Pair{
		Topic:     topic,
		Subscribe: sub(q, true),
		Close: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = shutdown.Topic(ctx, topic)
		},
	}
	if b.deadLetter {
		p.DeadLetter = sub(q.dead, false)
		p.MaxDeliveries = b.maxDeliveries
		if b.claimMax != 0 {
			p.MaxDeliveries = b.claimMax
		}
	} else if b.maxDeliveries > 0 {
		// A "dead-letter queue" that never receives anything.
		p.DeadLetter = sub(newFIFO(time.Second), false)
		p.MaxDeliveries = b.maxDeliveries
	}
	return p
}

// unacked is how many messages are left on every queue made.
func (b *fifoBackend) unacked() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, q := range b.queues {
		n += q.Len()
	}
	return n
}

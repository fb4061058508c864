package driveradapter

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"

	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/pubsub/shutdown"
)

// Topic returns a driver.Topic that sends every message through t. Closing
// the driver shuts t down.
func Topic(t *gcpubsub.Topic) driver.Topic { return &topic{t: t} }

// TopicDriver is Topic, except for a portable topic over one of civicport's
// own drivers or decorators: those answer As(*driver.Topic) with
// themselves, and TopicDriver returns that driver, so that a decorator
// stacked on another (or on adapters/jetstream) does not go through
// gocloud's portable layer — its batching, retries and tracing — once more
// per layer. A decorator built on TopicDriver must take IsRetryable,
// ErrorCode and ErrorAs from the driver it wraps: its errors may be that
// driver's own, not portable ones.
func TopicDriver(t *gcpubsub.Topic) driver.Topic {
	var d driver.Topic
	if t.As(&d) && d != nil {
		return d
	}
	return Topic(t)
}

// SubscriptionDriver is to Subscription what TopicDriver is to Topic.
func SubscriptionDriver(s *gcpubsub.Subscription) driver.Subscription {
	var d driver.Subscription
	if s.As(&d) && d != nil {
		return d
	}
	return Subscription(s)
}

type topic struct{ t *gcpubsub.Topic }

var _ driver.Topic = (*topic)(nil)

// SendBatch sends the batch's messages concurrently, so that t's own batching
// still groups them; it returns the first error.
func (d *topic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if len(ms) == 1 {
		return wrap(d.t.Send(ctx, toPortable(ms[0])))
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = d.t.Send(ctx, toPortable(m)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return wrap(err)
		}
	}
	return nil
}

func toPortable(m *driver.Message) *gcpubsub.Message {
	return &gcpubsub.Message{Body: m.Body, Metadata: m.Metadata, BeforeSend: m.BeforeSend, AfterSend: m.AfterSend}
}

// IsRetryable is false: the wrapped topic has already retried.
func (d *topic) IsRetryable(error) bool                 { return false }
func (d *topic) As(i any) bool                          { return d.t.As(i) }
func (d *topic) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (d *topic) ErrorAs(err error, i any) bool          { return d.t.ErrorAs(unwrapPortable(err), i) }
func (d *topic) Close() error                           { return wrap(shutdown.Topic(context.Background(), d.t)) }

// Subscription returns a driver.Subscription that receives through s.
//
// Every received message is acked or nacked on s at most once, however many
// times the outer layer asks (gocloud's pubsub.Message.Ack panics on a second
// call). A nack on a backend that cannot nack leaves the message unacked, so
// the backend redelivers it after its ack deadline. Closing the driver shuts
// s down.
func Subscription(s *gcpubsub.Subscription) driver.Subscription {
	return &subscription{s: s, wait: defaultReceiveWait}
}

// defaultReceiveWait bounds how long one ReceiveBatch waits for a first
// message, so that an idle subscription returns empty batches now and then
// instead of blocking the portable layer's fetcher forever.
const defaultReceiveWait = time.Second

type subscription struct {
	s    *gcpubsub.Subscription
	wait time.Duration
}

var _ driver.Subscription = (*subscription)(nil)

// ackID is the AckID handed to the outer layer.
type ackID struct {
	once sync.Once
	m    *gcpubsub.Message
}

func (a *ackID) settle(ack bool) {
	a.once.Do(func() {
		switch {
		case ack:
			a.m.Ack()
		case a.m.Nackable():
			a.m.Nack()
		}
	})
}

func (d *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	wctx, cancel := context.WithTimeout(ctx, d.wait)
	m, err := d.s.Receive(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil // idle
		}
		return nil, wrap(err)
	}
	out := []*driver.Message{fromPortable(m)}
	// Take whatever else is already fetched, without waiting for more.
	for len(out) < maxMessages {
		nctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		m, err := d.s.Receive(nctx)
		cancel()
		if err != nil {
			break
		}
		out = append(out, fromPortable(m))
	}
	return out, nil
}

func fromPortable(m *gcpubsub.Message) *driver.Message {
	// gocloud logs a message that is garbage-collected unsettled. The outer
	// portable message, which the application holds, carries that warning;
	// this inner one would only repeat it.
	runtime.SetFinalizer(m, nil)
	return &driver.Message{
		LoggableID: m.LoggableID,
		Body:       m.Body,
		Metadata:   m.Metadata,
		AckID:      &ackID{m: m},
		AsFunc:     m.As,
	}
}

func (d *subscription) SendAcks(_ context.Context, ids []driver.AckID) error {
	for _, id := range ids {
		id.(*ackID).settle(true)
	}
	return nil
}

func (d *subscription) SendNacks(_ context.Context, ids []driver.AckID) error {
	for _, id := range ids {
		id.(*ackID).settle(false)
	}
	return nil
}

// CanNack is true for every backend: see Subscription.
func (d *subscription) CanNack() bool                          { return true }
func (d *subscription) IsRetryable(error) bool                 { return false }
func (d *subscription) As(i any) bool                          { return d.s.As(i) }
func (d *subscription) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (d *subscription) ErrorAs(err error, i any) bool          { return d.s.ErrorAs(unwrapPortable(err), i) }
func (d *subscription) Close() error                           { return wrap(shutdown.Subscription(context.Background(), d.s)) }

// SendBatching returns batcher options for a portable topic whose driver
// sends through a Topic adapter. gocloud's default keeps one batch in
// flight, which suits a driver that talks to a server itself; a decorator's
// SendBatch waits for the wrapped topic's own round trip, so one batch at a
// time would serialize every sender behind it.
func SendBatching() *batcher.Options { return &batcher.Options{MaxHandlers: 16} }

// ReceiveBatching returns batcher options for a portable subscription whose
// driver receives through a Subscription adapter: several ReceiveBatch calls
// in flight, so that one waiting for the wrapped subscription does not stall
// the others.
func ReceiveBatching() *batcher.Options { return &batcher.Options{MaxHandlers: 4} }

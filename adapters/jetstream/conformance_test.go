package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"
)

// harness runs gocloud's pubsub drivertest against a real nats-server: each
// topic is a fresh stream capturing one fresh subject, each subscription a
// fresh durable consumer on it.
type harness struct {
	srv testenv.NATSServer
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newHarness(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
	srv := testenv.NATS(t)
	nc, err := Connect(srv.URL)
	if err != nil {
		return nil, err
	}
	js, err := newJetStream(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &harness{srv: srv, nc: nc, js: js}, nil
}

func (h *harness) CreateTopic(ctx context.Context, testName string) (driver.Topic, func(), error) {
	stream := h.srv.StreamName("cp-dt")
	subject := h.srv.Subject("cp.dt")
	dt, err := openTopic(ctx, h.js, stream, subject, &TopicOptions{
		Create:       true,
		StreamConfig: &jetstream.StreamConfig{Storage: jetstream.MemoryStorage},
	})
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = h.js.DeleteStream(context.Background(), stream) }
	return dt, cleanup, nil
}

func (h *harness) MakeNonexistentTopic(ctx context.Context) (driver.Topic, error) {
	return openTopic(ctx, h.js, h.srv.StreamName("cp-missing"), h.srv.Subject("cp.missing"), &TopicOptions{})
}

func (h *harness) CreateSubscription(ctx context.Context, dt driver.Topic, testName string) (driver.Subscription, func(), error) {
	t, ok := dt.(*topic)
	if !ok {
		return nil, nil, fmt.Errorf("topic of type %T is not a jetstream topic", dt)
	}
	name := h.srv.StreamName("cp-sub")
	ds, err := openSubscription(ctx, h.js, t.stream, name, &SubscriptionOptions{
		Create: true,
		// Short enough that a lost ack is redelivered within the suite's
		// 30 s waits; long enough not to redeliver during normal processing.
		ConsumerConfig: &jetstream.ConsumerConfig{AckWait: 10 * time.Second},
	})
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = h.js.DeleteConsumer(context.Background(), t.stream, name) }
	return ds, cleanup, nil
}

func (h *harness) MakeNonexistentSubscription(ctx context.Context) (driver.Subscription, func(), error) {
	ds, err := openSubscription(ctx, h.js, h.srv.StreamName("cp-missing"), "nobody", &SubscriptionOptions{})
	return ds, func() {}, err
}

func (h *harness) Close() { h.nc.Close() }

func (h *harness) MaxBatchSizes() (int, int) { return 0, 0 }

func (h *harness) SupportsMultipleSubscriptions() bool { return true }

func TestConformance(t *testing.T) {
	testenv.NATS(t) // skip (or fail under CIVICPORT_REQUIRE_SERVICES=1) before the suite starts
	drivertest.RunConformanceTests(t, newHarness, []drivertest.AsTest{asTest{}})
}

// asTest checks the types documented in the package doc.
type asTest struct{}

func (asTest) Name() string { return "jetstream" }

func (asTest) TopicCheck(top *pubsub.Topic) error {
	var js jetstream.JetStream
	if !top.As(&js) || js == nil {
		return errors.New("Topic.As(*jetstream.JetStream) failed")
	}
	var nc *nats.Conn
	if !top.As(&nc) || nc == nil {
		return errors.New("Topic.As(**nats.Conn) failed")
	}
	return nil
}

func (asTest) SubscriptionCheck(sub *pubsub.Subscription) error {
	var c jetstream.Consumer
	if !sub.As(&c) || c == nil {
		return errors.New("Subscription.As(*jetstream.Consumer) failed")
	}
	var nc *nats.Conn
	if !sub.As(&nc) || nc == nil {
		return errors.New("Subscription.As(**nats.Conn) failed")
	}
	return nil
}

func (asTest) TopicErrorCheck(top *pubsub.Topic, err error) error {
	if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		var apiErr *jetstream.APIError
		if !top.ErrorAs(err, &apiErr) {
			return fmt.Errorf("topic error %v: neither no-responders nor *jetstream.APIError", err)
		}
	}
	return nil
}

func (asTest) SubscriptionErrorCheck(sub *pubsub.Subscription, err error) error {
	var apiErr *jetstream.APIError
	if !sub.ErrorAs(err, &apiErr) {
		return fmt.Errorf("Subscription.ErrorAs(%v, **jetstream.APIError) failed", err)
	}
	if apiErr.ErrorCode != jetstream.JSErrCodeStreamNotFound {
		return fmt.Errorf("got API error code %d, want %d (stream not found)", apiErr.ErrorCode, jetstream.JSErrCodeStreamNotFound)
	}
	return nil
}

func (asTest) MessageCheck(m *pubsub.Message) error {
	var jm jetstream.Msg
	if !m.As(&jm) || jm == nil {
		return errors.New("Message.As(*jetstream.Msg) failed")
	}
	return nil
}

func (asTest) BeforeSend(as func(any) bool) error {
	var m *nats.Msg
	if !as(&m) || m == nil {
		return errors.New("BeforeSend As(**nats.Msg) failed")
	}
	return nil
}

func (asTest) AfterSend(as func(any) bool) error {
	var ack *jetstream.PubAck
	if !as(&ack) || ack == nil || ack.Sequence == 0 {
		return errors.New("AfterSend As(**jetstream.PubAck) failed")
	}
	return nil
}

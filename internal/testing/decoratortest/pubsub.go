package decoratortest

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/driveradapter"
)

// RunPubSub runs gocloud's pubsub drivertest over mempubsub through
// wrapTopic and wrapSub (a decorator, or the identity to test the adapters
// themselves): each topic the suite gets is wrapTopic(a mem topic), each
// subscription wrapSub(a mem subscription to it), turned back into drivers
// with internal/driveradapter. Metadata keys in added are ones the
// decorator adds by design (sign.Wrap's meta.Signed stamp): they are
// removed from received messages before the suite compares metadata.
func RunPubSub(t *testing.T, wrapTopic func(*gcpubsub.Topic) *gcpubsub.Topic, wrapSub func(*gcpubsub.Subscription) *gcpubsub.Subscription, as []drivertest.AsTest, added ...string) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return &pubsubHarness{wrapTopic: wrapTopic, wrapSub: wrapSub, added: added, inner: map[driver.Topic]*gcpubsub.Topic{}}, nil
	}, as)
}

type pubsubHarness struct {
	wrapTopic func(*gcpubsub.Topic) *gcpubsub.Topic
	wrapSub   func(*gcpubsub.Subscription) *gcpubsub.Subscription
	added     []string

	mu    sync.Mutex
	inner map[driver.Topic]*gcpubsub.Topic
}

func (h *pubsubHarness) CreateTopic(context.Context, string) (driver.Topic, func(), error) {
	t := mempubsub.NewTopic()
	dt := driveradapter.Topic(h.wrapTopic(t))
	h.mu.Lock()
	h.inner[dt] = t
	h.mu.Unlock()
	return dt, func() {}, nil
}

func (h *pubsubHarness) MakeNonexistentTopic(context.Context) (driver.Topic, error) {
	return driveradapter.Topic(h.wrapTopic(gcpubsub.NewTopic(Missing{}, nil))), nil
}

func (h *pubsubHarness) CreateSubscription(_ context.Context, dt driver.Topic, _ string) (driver.Subscription, func(), error) {
	h.mu.Lock()
	t, ok := h.inner[dt]
	h.mu.Unlock()
	if !ok {
		return nil, nil, errors.New("topic not created by this harness")
	}
	ds := driveradapter.Subscription(h.wrapSub(mempubsub.NewSubscription(t, 10*time.Second)))
	if len(h.added) > 0 {
		ds = stripped{ds, h.added}
	}
	return ds, func() {}, nil
}

// stripped removes the metadata keys in keys from every received message.
type stripped struct {
	driver.Subscription
	keys []string
}

func (s stripped) ReceiveBatch(ctx context.Context, n int) ([]*driver.Message, error) {
	ms, err := s.Subscription.ReceiveBatch(ctx, n)
	for _, m := range ms {
		if m.Metadata == nil {
			continue
		}
		md := maps.Clone(m.Metadata)
		for _, k := range s.keys {
			delete(md, k)
		}
		if len(md) == 0 {
			md = nil
		}
		m.Metadata = md
	}
	return ms, err
}

func (h *pubsubHarness) MakeNonexistentSubscription(context.Context) (driver.Subscription, func(), error) {
	return driveradapter.Subscription(h.wrapSub(gcpubsub.NewSubscription(Missing{}, nil, nil))), func() {}, nil
}

func (h *pubsubHarness) Close()                              {}
func (h *pubsubHarness) MaxBatchSizes() (int, int)           { return 0, 0 }
func (h *pubsubHarness) SupportsMultipleSubscriptions() bool { return true }

// Missing is a pubsub driver topic and subscription that does not exist:
// every call fails with NotFound, as a real backend's missing queue does.
type Missing struct{}

// ErrMissing is what Missing returns.
var ErrMissing = errors.New("no such topic or subscription")

func (Missing) SendBatch(context.Context, []*driver.Message) error { return ErrMissing }
func (Missing) ReceiveBatch(context.Context, int) ([]*driver.Message, error) {
	return nil, ErrMissing
}
func (Missing) SendAcks(context.Context, []driver.AckID) error  { return ErrMissing }
func (Missing) SendNacks(context.Context, []driver.AckID) error { return ErrMissing }
func (Missing) CanNack() bool                                   { return true }
func (Missing) IsRetryable(error) bool                          { return false }
func (Missing) As(any) bool                                     { return false }
func (Missing) ErrorAs(error, any) bool                         { return false }
func (Missing) ErrorCode(error) gcerrors.ErrorCode              { return gcerrors.NotFound }
func (Missing) Close() error                                    { return nil }

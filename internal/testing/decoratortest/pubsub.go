package decoratortest

import (
	"context"
	"errors"
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
// with internal/driveradapter.
func RunPubSub(t *testing.T, wrapTopic func(*gcpubsub.Topic) *gcpubsub.Topic, wrapSub func(*gcpubsub.Subscription) *gcpubsub.Subscription, as []drivertest.AsTest) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return &pubsubHarness{wrapTopic: wrapTopic, wrapSub: wrapSub, inner: map[driver.Topic]*gcpubsub.Topic{}}, nil
	}, as)
}

type pubsubHarness struct {
	wrapTopic func(*gcpubsub.Topic) *gcpubsub.Topic
	wrapSub   func(*gcpubsub.Subscription) *gcpubsub.Subscription

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
	return driveradapter.Subscription(h.wrapSub(mempubsub.NewSubscription(t, 10*time.Second))), func() {}, nil
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

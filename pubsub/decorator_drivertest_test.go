package pubsub_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/pubsub"
)

// decoHarness runs gocloud's pubsub drivertest over the decorators on
// mempubsub: a topic is sign(mem topic), a subscription is
// subscribe(mem subscription), each turned back into a driver with
// internal/driveradapter.
type decoHarness struct {
	sign      func(*gcpubsub.Topic) *gcpubsub.Topic
	subscribe func(*gcpubsub.Subscription) *gcpubsub.Subscription

	mu    sync.Mutex
	inner map[driver.Topic]*gcpubsub.Topic
}

func (h *decoHarness) CreateTopic(context.Context, string) (driver.Topic, func(), error) {
	t := mempubsub.NewTopic()
	dt := driveradapter.Topic(h.sign(t))
	h.mu.Lock()
	h.inner[dt] = t
	h.mu.Unlock()
	return dt, func() {}, nil
}

func (h *decoHarness) MakeNonexistentTopic(context.Context) (driver.Topic, error) {
	return driveradapter.Topic(h.sign(gcpubsub.NewTopic(ddMissing{}, nil))), nil
}

func (h *decoHarness) CreateSubscription(_ context.Context, dt driver.Topic, _ string) (driver.Subscription, func(), error) {
	h.mu.Lock()
	t, ok := h.inner[dt]
	h.mu.Unlock()
	if !ok {
		return nil, nil, errors.New("topic not created by this harness")
	}
	return driveradapter.Subscription(h.subscribe(mempubsub.NewSubscription(t, 10*time.Second))), func() {}, nil
}

func (h *decoHarness) MakeNonexistentSubscription(context.Context) (driver.Subscription, func(), error) {
	return driveradapter.Subscription(h.subscribe(gcpubsub.NewSubscription(ddMissing{}, nil, nil))), func() {}, nil
}

func (h *decoHarness) Close()                              {}
func (h *decoHarness) MaxBatchSizes() (int, int)           { return 0, 0 }
func (h *decoHarness) SupportsMultipleSubscriptions() bool { return true }

// ddMissing is a topic and subscription that does not exist.
type ddMissing struct{}

var errDDMissing = errors.New("no such topic or subscription")

func (ddMissing) SendBatch(context.Context, []*driver.Message) error { return errDDMissing }
func (ddMissing) ReceiveBatch(context.Context, int) ([]*driver.Message, error) {
	return nil, errDDMissing
}
func (ddMissing) SendAcks(context.Context, []driver.AckID) error  { return errDDMissing }
func (ddMissing) SendNacks(context.Context, []driver.AckID) error { return errDDMissing }
func (ddMissing) CanNack() bool                                   { return true }
func (ddMissing) IsRetryable(error) bool                          { return false }
func (ddMissing) As(any) bool                                     { return false }
func (ddMissing) ErrorAs(error, any) bool                         { return false }
func (ddMissing) ErrorCode(error) gcerrors.ErrorCode              { return gcerrors.NotFound }
func (ddMissing) Close() error                                    { return nil }

func runDecoratorConformance(t *testing.T, sign func(*gcpubsub.Topic) *gcpubsub.Topic, subscribe func(*gcpubsub.Subscription) *gcpubsub.Subscription, as []drivertest.AsTest) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return &decoHarness{sign: sign, subscribe: subscribe, inner: map[driver.Topic]*gcpubsub.Topic{}}, nil
	}, as)
}

func TestDrivertestDedup(t *testing.T) {
	runDecoratorConformance(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic { return t },
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription { return pubsub.Dedup(s, nil) },
		[]drivertest.AsTest{statsAs{dedup: true}})
}

func TestDrivertestSignVerifyDedup(t *testing.T) {
	pub, priv := edKey(t)
	v := pubsub.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub})
	var quarantines []*gcpubsub.Subscription
	var mu sync.Mutex
	runDecoratorConformance(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic { return pubsub.Sign(t, pubsub.NewEd25519Signer("ed-1", priv)) },
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription {
			q := mempubsub.NewTopic()
			mu.Lock()
			quarantines = append(quarantines, mempubsub.NewSubscription(q, time.Minute))
			mu.Unlock()
			vs, err := pubsub.Verify(s, v, q, nil)
			if err != nil {
				panic(err)
			}
			return pubsub.Dedup(vs, nil)
		},
		[]drivertest.AsTest{statsAs{dedup: true, verify: true}})
	// Nothing the suite sent was quarantined.
	for _, qs := range quarantines {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		m, err := qs.Receive(ctx)
		cancel()
		if err == nil {
			t.Errorf("quarantined: %q %v", m.Body, m.Metadata)
		}
	}
}

// statsAs checks that the stats are reachable through As.
type statsAs struct{ dedup, verify bool }

func (s statsAs) Name() string                   { return fmt.Sprintf("stats dedup=%v verify=%v", s.dedup, s.verify) }
func (statsAs) TopicCheck(*gcpubsub.Topic) error { return nil }
func (s statsAs) SubscriptionCheck(sub *gcpubsub.Subscription) error {
	var d *pubsub.DedupStats
	if s.dedup && (!sub.As(&d) || d == nil) {
		return errors.New("As(**DedupStats) failed")
	}
	var v *pubsub.VerifyStats
	if s.verify && (!sub.As(&v) || v == nil) {
		return errors.New("As(**VerifyStats) failed")
	}
	return nil
}
func (statsAs) TopicErrorCheck(*gcpubsub.Topic, error) error               { return nil }
func (statsAs) SubscriptionErrorCheck(*gcpubsub.Subscription, error) error { return nil }
func (statsAs) MessageCheck(*gcpubsub.Message) error                       { return nil }
func (statsAs) BeforeSend(func(any) bool) error                            { return nil }
func (statsAs) AfterSend(func(any) bool) error                             { return nil }

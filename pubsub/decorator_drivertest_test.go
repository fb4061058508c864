package pubsub_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/drivertest"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/fanout"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

func runDecoratorConformance(t *testing.T, sign func(*gcpubsub.Topic) *gcpubsub.Topic, subscribe func(*gcpubsub.Subscription) *gcpubsub.Subscription, as []drivertest.AsTest, added ...string) {
	decoratortest.RunPubSub(t, sign, subscribe, as, added...)
}

func TestDrivertestDedup(t *testing.T) {
	runDecoratorConformance(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic { return t },
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription { return dedup.Wrap(s, nil) },
		[]drivertest.AsTest{statsAs{dedup: true}})
}

func TestDrivertestSignVerifyDedup(t *testing.T) {
	pub, priv := edKey(t)
	v := sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub})
	var quarantines []*gcpubsub.Subscription
	var mu sync.Mutex
	runDecoratorConformance(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic { return mustSign(t, sign.NewEd25519Signer("ed-1", priv)) },
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription {
			q := mempubsub.NewTopic()
			mu.Lock()
			quarantines = append(quarantines, mempubsub.NewSubscription(q, time.Minute))
			mu.Unlock()
			vs, err := sign.Verify(s, v, q, nil)
			if err != nil {
				panic(err)
			}
			return dedup.Wrap(vs, nil)
		},
		[]drivertest.AsTest{statsAs{dedup: true, verify: true}},
		meta.Signed) // Wrap's stamp, delivered by design
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
	var d *dedup.Stats
	if s.dedup && (!sub.As(&d) || d == nil) {
		return errors.New("As(**DedupStats) failed")
	}
	var v *sign.VerifyStats
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

// Fanout over the suite's topic and a second one: what the suite sends
// through it arrives as a single topic's would. (KeepMetadata: by default
// Fanout adds a MetadataID, which the suite's exact metadata checks would
// see; TestFanoutGivesCopiesOneID covers that.)
func TestDrivertestFanout(t *testing.T) {
	runDecoratorConformance(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic {
			f, err := fanout.New([]*gcpubsub.Topic{t, mempubsub.NewTopic()}, &fanout.Options{KeepMetadata: true})
			if err != nil {
				panic(err)
			}
			return f
		},
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription { return s },
		nil)
}

package sign_test

import (
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/drivertest"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// In sign: Sign and Verify pass the suite as deployed, under Dedup, and
// quarantine nothing the suite sends.
func TestDrivertestSignVerifyDedup(t *testing.T) {
	pub, priv := decoratortest.EdKey(t)
	v := sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub})
	var quarantines []*gcpubsub.Subscription
	var mu sync.Mutex
	decoratortest.RunPubSub(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic {
			return decoratortest.MustSign(t, sign.NewEd25519Signer("ed-1", priv))
		},
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
		[]drivertest.AsTest{decoratortest.StatsAs{Dedup: true, Verify: true}},
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

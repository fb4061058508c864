package decoratortest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/drivertest"

	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/sign"
)

// Helpers shared by the tests of pubsub/sign and pubsub/dedup, which stack
// the two as a results consumer does: dedup.Wrap(sign.Verify(...)).

// EdKey generates an Ed25519 key pair.
func EdKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, priv
}

// MustSign is sign.Wrap for a signer known to be good.
func MustSign(topic *gcpubsub.Topic, s sign.Signer) *gcpubsub.Topic {
	signed, err := sign.Wrap(topic, s)
	if err != nil {
		panic(err)
	}
	return signed
}

// DedupStats returns sub's *dedup.Stats, failing t if As does not reach them.
func DedupStats(t testing.TB, sub *gcpubsub.Subscription) *dedup.Stats {
	t.Helper()
	var st *dedup.Stats
	require.True(t, sub.As(&st), "As(**DedupStats)")
	return st
}

// VerifyStats returns sub's *sign.VerifyStats, failing t if As does not
// reach them.
func VerifyStats(t testing.TB, sub *gcpubsub.Subscription) *sign.VerifyStats {
	t.Helper()
	var st *sign.VerifyStats
	require.True(t, sub.As(&st), "As(**VerifyStats)")
	return st
}

// DedupVerify is what a results consumer runs: Dedup over Verify (of
// Ed25519 signatures by pub, key id "clerk") over a raw mem subscription,
// with store (nil: Dedup's default) and vo. It returns the raw topic, which
// anyone (an attacker too) can publish to, the consumer's subscription (the
// caller shuts it down) and the quarantine topic's subscription.
func DedupVerify(t testing.TB, pub ed25519.PublicKey, store dedup.Store, vo *sign.VerifyOptions) (*gcpubsub.Topic, *gcpubsub.Subscription, *gcpubsub.Subscription) {
	t.Helper()
	topic, raw := RawPair(t, 10*time.Second)
	qt, qs := RawPair(t, 10*time.Second)
	ShutdownOnCleanup(t, qs)
	v, err := sign.Verify(raw, sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"clerk": pub}), qt, vo)
	require.NoError(t, err)
	sub := dedup.Wrap(v, &dedup.Options{Store: store})
	return topic, sub, qs
}

// StatsAs is a gocloud drivertest.AsTest that checks that a subscription's
// *dedup.Stats (Dedup) and *sign.VerifyStats (Verify) are reachable through
// As.
type StatsAs struct{ Dedup, Verify bool }

var _ drivertest.AsTest = StatsAs{}

// Name implements drivertest.AsTest.
func (s StatsAs) Name() string {
	return fmt.Sprintf("stats dedup=%v verify=%v", s.Dedup, s.Verify)
}

// TopicCheck implements drivertest.AsTest.
func (StatsAs) TopicCheck(*gcpubsub.Topic) error { return nil }

// SubscriptionCheck implements drivertest.AsTest: it is the check.
func (s StatsAs) SubscriptionCheck(sub *gcpubsub.Subscription) error {
	var d *dedup.Stats
	if s.Dedup && (!sub.As(&d) || d == nil) {
		return errors.New("As(**DedupStats) failed")
	}
	var v *sign.VerifyStats
	if s.Verify && (!sub.As(&v) || v == nil) {
		return errors.New("As(**VerifyStats) failed")
	}
	return nil
}

// TopicErrorCheck implements drivertest.AsTest.
func (StatsAs) TopicErrorCheck(*gcpubsub.Topic, error) error { return nil }

// SubscriptionErrorCheck implements drivertest.AsTest.
func (StatsAs) SubscriptionErrorCheck(*gcpubsub.Subscription, error) error { return nil }

// MessageCheck implements drivertest.AsTest.
func (StatsAs) MessageCheck(*gcpubsub.Message) error { return nil }

// BeforeSend implements drivertest.AsTest.
func (StatsAs) BeforeSend(func(any) bool) error { return nil }

// AfterSend implements drivertest.AsTest.
func (StatsAs) AfterSend(func(any) bool) error { return nil }

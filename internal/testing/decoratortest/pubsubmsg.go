package decoratortest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// Helpers shared by the tests of the pubsub decorators (pubsub/bridge,
// pubsub/dedup, pubsub/fanout, pubsub/sign): topics and subscriptions to
// run them over, and receiving with a deadline.

// MemPair is a mem topic and a subscription to it, both shut down with the
// test.
func MemPair(t testing.TB, ackDeadline time.Duration) (*gcpubsub.Topic, *gcpubsub.Subscription) {
	t.Helper()
	topic := mempubsub.NewTopic()
	sub := mempubsub.NewSubscription(topic, ackDeadline)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = shutdown.Subscription(ctx, sub)
		_ = shutdown.Topic(ctx, topic)
	})
	return topic, sub
}

// RawPair is a mem topic, shut down with the test, and a subscription to it
// for a decorator to wrap: the caller shuts it down, usually through the
// decorator (ShutdownOnCleanup).
func RawPair(t testing.TB, ackDeadline time.Duration) (*gcpubsub.Topic, *gcpubsub.Subscription) {
	t.Helper()
	topic := mempubsub.NewTopic()
	sub := mempubsub.NewSubscription(topic, ackDeadline)
	t.Cleanup(func() { _ = shutdown.Topic(context.Background(), topic) })
	return topic, sub
}

// JetStreamPair opens, through civicport's opener, a topic on a fresh
// JetStream stream (named from streamPrefix, created on open) on a subject
// under subjectPrefix, and a fresh durable consumer of it (ack wait 30 s).
// The caller shuts both down.
func JetStreamPair(t testing.TB, nats testenv.NATSServer, streamPrefix, subjectPrefix string) (*gcpubsub.Topic, *gcpubsub.Subscription) {
	t.Helper()
	ctx := context.Background()
	stream, subject := nats.StreamName(streamPrefix), nats.Subject(subjectPrefix)
	topic, err := pubsub.OpenTopic(ctx, "jetstream://"+stream+"/"+subject+"?create=true")
	require.NoError(t, err)
	sub, err := pubsub.OpenSubscription(ctx, "jetstream://"+stream+"/"+nats.StreamName("c")+"?create=true&ack_wait=30s")
	require.NoError(t, err)
	return topic, sub
}

// ShutdownOnCleanup shuts sub down when the test ends.
func ShutdownOnCleanup(t testing.TB, sub *gcpubsub.Subscription) {
	t.Cleanup(func() { _ = shutdown.Subscription(context.Background(), sub) })
}

// SendNumbered publishes n messages numbered from first, each with a
// meta.ID, concurrently; DrainNumbered checks what arrives.
func SendNumbered(t testing.TB, topic *gcpubsub.Topic, first, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := first; i < first+n; i++ {
		wg.Go(func() {
			errs <- topic.Send(context.Background(), &gcpubsub.Message{
				Body:     fmt.Appendf(nil, `{"precinct":%d}`, i),
				Metadata: map[string]string{meta.ID: fmt.Sprint("result-", i), "county": "Doña Ana"},
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// DrainNumbered receives and acks messages sent by SendNumbered until the
// subscription is idle for idle, checks each one's body and metadata, and
// returns how many times each meta.ID arrived.
func DrainNumbered(t testing.TB, sub *gcpubsub.Subscription, idle time.Duration) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		m, err := sub.Receive(ctx)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			return seen
		}
		m.Ack()
		assert.Equal(t, "Doña Ana", m.Metadata["county"], "metadata lost")
		assert.Equal(t, fmt.Sprintf(`{"precinct":%s}`, m.Metadata[meta.ID][len("result-"):]), string(m.Body))
		seen[m.Metadata[meta.ID]]++
	}
}

// Receive receives one message, failing t if none arrives within 10 s.
func Receive(t testing.TB, sub *gcpubsub.Subscription) *gcpubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := sub.Receive(ctx)
	require.NoError(t, err, "no message within 10 s")
	return m
}

// ReceiveNone receives for d and fails if a message arrives. Receiving is
// what makes the decorators look at (and drop) redelivered messages.
func ReceiveNone(t testing.TB, sub *gcpubsub.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := sub.Receive(ctx)
	if err == nil {
		m.Ack()
		t.Fatalf("unexpected message %q %v", m.Body, m.Metadata)
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

package pubsubtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cpjetstream "github.com/civicport/civicport/adapters/jetstream"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// The capability names are a public contract: see resulttest.AssertStableNames.
func TestPubSubCapabilityNamesAreStable(t *testing.T) {
	resulttest.AssertStableNames(t, conformance.PubSubCapabilities, func(c string) bool { _, ok := checks[c]; return ok },
		"pubsub.at_least_once",
		"pubsub.nack_redelivery",
		"pubsub.ack_deadline",
		"pubsub.receiver_crash",
		"pubsub.metadata",
		"pubsub.large_message",
		"pubsub.ordering",
		"pubsub.dead_letter",
	)
}

// The healthy FIFO backend passes everything and leaves nothing unacked.
func TestFIFOBackend(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{maxDeliveries: 3, deadLetter: true}
	o := fastOptions(t, conformance.PubSubCapabilities()...)
	o.Messages = 1000
	o.LargeMessageMax = 10 << 20
	o.Ordered = true
	res := Test(t, b.opener(), o)
	require.Len(t, res, len(conformance.PubSubCapabilities()))
	for _, r := range res {
		assert.Equal(t, conformance.Pass, r.Status, "%s", r)
	}
	assert.Zero(t, b.unacked(), "messages left unacked")
}

// A shared pair (the CLI's case) with leftovers on it: the suite acks and
// ignores what it did not send, and leaves the queue empty.
func TestSharedPairWithLeftovers(t *testing.T) {
	t.Parallel()
	b := &fifoBackend{}
	q := b.newQueue()
	q.add([]byte("someone else's message"), map[string]string{"k": "v"})
	q.add([]byte(BodyPrefix+"0123456789abcdef/1\nan earlier run"), map[string]string{MetadataKey: "0123456789abcdef/1"})
	q.add([]byte("an earlier run, metadata only"), map[string]string{MetadataKey: "fedcba9876543210/7"})
	o := fastOptions(t, conformance.PubSubCapabilities()...)
	o.Ordered = true
	res := runCaps(t, b.sharedOpener(q), o)
	for _, r := range res {
		if r.Capability == conformance.PubSubDeadLetter {
			assert.Equal(t, conformance.Unsupported, r.Status, "%s", r)
			continue
		}
		assert.Equal(t, conformance.Pass, r.Status, "%s", r)
	}
	assert.Zero(t, q.Len(), "messages left on the shared queue")
}

// mem:// through URLOpener, with a fresh topic per check. mempubsub delivers
// in map order, so ordering is unsupported; it has no dead-letter queue.
func TestMem(t *testing.T) {
	t.Parallel()
	open := func(ctx context.Context) (*Pair, error) {
		name := testenv.UniqueName("cp-conf")
		return URLOpener("mem://"+name, "mem://"+name+"?ackdeadline=2s")(ctx)
	}
	start := time.Now()
	res := Test(t, open, &Options{AckDeadline: 10 * time.Second, ReceiveTimeout: 10 * time.Second})
	t.Logf("mem: whole suite in %v", time.Since(start).Round(time.Millisecond))
	want := matrix(conformance.Unsupported, conformance.Unsupported)
	logMatrix(t, "mem", res)
	for _, r := range res {
		assert.Equal(t, want[r.Capability], r.Status, "%s", r)
	}
}

// The same mem:// URLs for every check, as the CLI passes them.
func TestMemSharedURL(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName("cp-conf-shared")
	open := URLOpener("mem://"+name, "mem://"+name+"?ackdeadline=1s")
	o := fastOptions(t, conformance.PubSubAtLeastOnce, conformance.PubSubReceiverCrash, conformance.PubSubMetadata)
	res := runCaps(t, open, o)
	for _, r := range res {
		assert.Equal(t, conformance.Pass, r.Status, "%s", r)
	}
}

// NATS JetStream through civicport's jetstream:// driver, one stream and
// durable consumer for every check (as `civicport conform` would use it).
func TestJetStream(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	stream := srv.StreamName("cp-conf")
	subject := srv.Subject("cp.conf")
	consumer := srv.StreamName("cp-conf-sub")
	srv.DeleteStreamAtCleanup(t, stream)
	open := URLOpener(
		fmt.Sprintf("jetstream://%s/%s?create=true", stream, subject),
		fmt.Sprintf("jetstream://%s/%s?create=true&ack_wait=3s&max_deliver=20", stream, consumer),
	)
	start := time.Now()
	// A JetStream consumer delivers in stream order: declare it ordered.
	res := Test(t, open, &Options{AckDeadline: 15 * time.Second, ReceiveTimeout: 15 * time.Second, Ordered: true})
	t.Logf("jetstream: whole suite in %v", time.Since(start).Round(time.Millisecond))
	logMatrix(t, "jetstream", res)
	for _, r := range res {
		want := conformance.Pass
		if r.Capability == conformance.PubSubDeadLetter {
			want = conformance.Unsupported // JetStream drops after max_deliver; no dead-letter queue
		}
		assert.Equal(t, want, r.Status, "%s", r)
	}
	r, _ := conformance.Find(res, conformance.PubSubLargeMessage)
	assert.Contains(t, r.Detail, "refused", "nats-server's default max_payload is 1 MiB")

	// Nothing the suite sent is left pending or unacked on the consumer.
	nc, err := cpjetstream.Connect(srv.URL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		cons, err := js.Consumer(t.Context(), stream, consumer)
		if !assert.NoError(c, err) {
			return
		}
		info, err := cons.Info(t.Context())
		if !assert.NoError(c, err) {
			return
		}
		assert.Zero(c, info.NumPending, "messages never delivered")
		assert.Zero(c, info.NumAckPending, "messages delivered and not acked")
	}, 10*time.Second, 200*time.Millisecond)
}

// matrix is an expected matrix in which every delivery capability passes,
// with ordering and deadLetter as given for pubsub.ordering and
// pubsub.dead_letter.
func matrix(ordering, deadLetter conformance.Status) map[string]conformance.Status {
	return map[string]conformance.Status{
		conformance.PubSubAtLeastOnce:    conformance.Pass,
		conformance.PubSubNackRedelivery: conformance.Pass,
		conformance.PubSubAckDeadline:    conformance.Pass,
		conformance.PubSubReceiverCrash:  conformance.Pass,
		conformance.PubSubMetadata:       conformance.Pass,
		conformance.PubSubLargeMessage:   conformance.Pass,
		conformance.PubSubOrdering:       ordering,
		conformance.PubSubDeadLetter:     deadLetter,
	}
}

func logMatrix(t *testing.T, name string, res []conformance.Result) {
	t.Helper()
	for _, r := range res {
		t.Logf("MATRIX %s | %s | %s | %v | %s", name, r.Capability, r.Status, r.Duration.Round(time.Millisecond), r.Detail)
	}
}

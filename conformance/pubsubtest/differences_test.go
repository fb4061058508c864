package pubsubtest

// Tests that pin down each known difference listed in knownDifferences
// (main_test.go): if a backend or driver changes its behaviour, the test
// fails and the entry (and docs/capabilities.md) must change.

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testenv"
	"github.com/civicport/civicport/pubsub"
)

// runKnown runs one capability with Run (so that its expected fail does not
// fail the test), logs its MATRIX line and asserts its status and evidence.
func runKnown(t *testing.T, name string, open Opener, o *Options, capName string, want conformance.Status, evidence ...string) conformance.Result {
	t.Helper()
	o.Capabilities = []string{capName}
	o.Logf = t.Logf
	res := Run(t.Context(), open, o)
	require.Len(t, res, 1)
	logMatrix(t, name, res)
	r := res[0]
	require.Equal(t, want, r.Status, "%s", r)
	for _, e := range evidence {
		require.Contains(t, r.Detail, e)
	}
	return r
}

func TestRabbitMQNoAckDeadline(t *testing.T) {
	t.Parallel()
	r := testenv.RabbitMQ(t)
	runKnown(t, "rabbit", rabbitOpener(t, r), rabbitOptions(), conformance.PubSubAckDeadline, conformance.Fail,
		"neither acked nor nacked was not delivered again within 5s")
}

func TestRabbitMQShutdownKeepsConsumer(t *testing.T) {
	t.Parallel()
	r := testenv.RabbitMQ(t)
	runKnown(t, "rabbit", rabbitOpener(t, r), rabbitOptions(), conformance.PubSubReceiverCrash, conformance.Fail,
		"shut down without acking was not delivered to the subscription opened again within 5s")

	// Why: after Shutdown the unacked message is not back on the queue; it
	// stays with the old subscription's channel, which gocloud never closes.
	rs, err := declareRabbit(r)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rs.delete(r) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	top, err := pubsub.OpenTopic(ctx, r.TopicURL(rs.exchange))
	require.NoError(t, err)
	defer top.Shutdown(context.Background())
	sub, err := pubsub.OpenSubscription(ctx, r.SubscriptionURL(rs.queue))
	require.NoError(t, err)
	require.NoError(t, top.Send(ctx, &gcpubsub.Message{Body: []byte("held")}))
	m, err := sub.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "held", string(m.Body))
	require.NoError(t, sub.Shutdown(ctx)) // m is neither acked nor nacked
	ch, err := r.Dial(t).Channel()
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	q, err := ch.QueueDeclarePassive(rs.queue, true, false, false, false, amqp.Table{
		"x-queue-type": "quorum", "x-delivery-limit": int32(rabbitMaxDelivers - 1), "x-dead-letter-exchange": rs.dlx,
	})
	require.NoError(t, err)
	require.Zero(t, q.Messages, "the message came back to the queue: gocloud's rabbitpubsub now releases it on Shutdown")
}

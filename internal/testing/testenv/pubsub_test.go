package testenv_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/awssnssqs"
	_ "gocloud.dev/pubsub/gcppubsub"
	_ "gocloud.dev/pubsub/rabbitpubsub"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// roundTrip sends one message with a body and two metadata keys (one value
// non-ASCII) to topicURL, receives it from subURL, checks both, and acks it.
func roundTrip(t *testing.T, topicURL, subURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testenv.Context(t), 60*time.Second)
	defer cancel()

	// Open the subscription first: some brokers only route to existing consumers.
	sub, err := pubsub.OpenSubscription(ctx, subURL)
	require.NoError(t, err, "open subscription %s", subURL)
	defer func() { assert.NoError(t, shutdown.Subscription(context.Background(), sub), "shutdown subscription") }()

	top, err := pubsub.OpenTopic(ctx, topicURL)
	require.NoError(t, err, "open topic %s", topicURL)
	defer func() { assert.NoError(t, shutdown.Topic(context.Background(), top), "shutdown topic") }()

	body := []byte("precinct 0001 results: 1234 ballots, " + t.Name())
	md := map[string]string{
		"precinct": "0001",
		"county":   "Doña Ana — Île-de-France ✓ 選挙",
	}
	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: body, Metadata: md}), "send to %s", topicURL)

	m, err := sub.Receive(ctx)
	require.NoError(t, err, "receive from %s", subURL)
	m.Ack()
	assert.Equal(t, string(body), string(m.Body))
	assert.Equal(t, md["precinct"], m.Metadata["precinct"])
	assert.Equal(t, md["county"], m.Metadata["county"])
}

func TestFauxqsSQSRoundTrip(t *testing.T) {
	s := testenv.Fauxqs(t)
	q := s.NewQueue(t)
	sub, top := s.SubscriptionURL(q), s.TopicURLForQueue(q)
	u, err := url.Parse(sub)
	require.NoError(t, err)
	assert.Equal(t, "awssqs", u.Scheme)
	assert.Equal(t, "http://"+s.Host, u.Query().Get("endpoint"))
	assert.Equal(t, "us-east-1", u.Query().Get("region"))
	roundTrip(t, top, sub)
}

func TestFauxqsSNSToSQSRoundTrip(t *testing.T) {
	s := testenv.Fauxqs(t)
	q := s.NewQueue(t)
	top := s.NewSNSTopic(t, q)
	assert.True(t, strings.HasPrefix(top, "awssns:///arn:aws:sns:"), top)
	roundTrip(t, top, s.SubscriptionURL(q))
}

func TestRabbitMQRoundTrip(t *testing.T) {
	r := testenv.RabbitMQ(t)
	ex, q := r.NewExchangeAndQueue(t)
	roundTrip(t, r.TopicURL(ex), r.SubscriptionURL(q))
}

// TestPubSubFakeRoundTrip runs twice: the fake and gocloud's connection to it
// are shared by the whole process, each test gets its own topic.
func TestPubSubFakeRoundTrip(t *testing.T) {
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			p := testenv.PubSubFake(t)
			require.NotEmpty(t, p.Addr)
			top, sub := p.NewTopicAndSubscription(t)
			assert.True(t, strings.HasPrefix(top, "gcppubsub://projects/"), top)
			roundTrip(t, top, sub)
		})
	}
}

package pubsub_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
)

func TestSchemes(t *testing.T) {
	assert.Subset(t, pubsub.TopicSchemes(), []string{"awssns", "awssqs", "gcppubsub", "jetstream", "mem", "rabbit"})
	assert.Subset(t, pubsub.SubscriptionSchemes(), []string{"awssqs", "gcppubsub", "jetstream", "mem", "rabbit"})
	assert.NotContains(t, pubsub.SubscriptionSchemes(), "awssns", "SNS cannot be read from")
	assert.NotContains(t, pubsub.TopicSchemes(), "nats", "core NATS is at-most-once")
}

func TestOpenMemRoundTrip(t *testing.T) {
	ctx := context.Background()
	topic, err := pubsub.OpenTopic(ctx, "mem://results-open-test")
	require.NoError(t, err)
	defer shutdown.Topic(ctx, topic)
	sub, err := pubsub.OpenSubscription(ctx, "mem://results-open-test")
	require.NoError(t, err)
	defer shutdown.Subscription(ctx, sub)

	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: []byte(`{"precinct":12}`), Metadata: map[string]string{"county": "Doña Ana"}}))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := sub.Receive(rctx)
	require.NoError(t, err)
	m.Ack()
	assert.Equal(t, `{"precinct":12}`, string(m.Body))
	assert.Equal(t, "Doña Ana", m.Metadata["county"])
}

func TestOpenBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ url, want string }{
		{"", "empty URL"},
		{"  ", "empty URL"},
		{"results-without-scheme", "URL has no scheme"},
		{"kafka://results", `unknown topic scheme "kafka"; registered schemes: awssns, awssqs, gcppubsub`},
		{"nats://results", `unknown topic scheme "nats"`},
		{"mem://results\x7f", "malformed URL"},
		{"mem://results?no_such_param=1", "no_such_param"},
		{"jetstream://ONLYSTREAM", "jetstream"},
	} {
		_, err := pubsub.OpenTopic(ctx, tc.url)
		require.Error(t, err, "%q", tc.url)
		assert.Contains(t, err.Error(), tc.want, "%q", tc.url)
		var pe *pubsub.Error
		require.True(t, errors.As(err, &pe), "%q: want *pubsub.Error, got %T", tc.url, err)
		assert.Equal(t, "topic", pe.Kind)
	}
	for _, tc := range []struct{ url, want string }{
		{"", "empty URL"},
		{"awssns:///arn:aws:sns:us-east-1:1:t", `unknown subscription scheme "awssns"`},
		{"mem://never-opened-topic", "never-opened-topic"},
	} {
		_, err := pubsub.OpenSubscription(ctx, tc.url)
		require.Error(t, err, "%q", tc.url)
		assert.Contains(t, err.Error(), tc.want, "%q", tc.url)
		var pe *pubsub.Error
		require.True(t, errors.As(err, &pe), "%q: want *pubsub.Error, got %T", tc.url, err)
		assert.Equal(t, "subscription", pe.Kind)
	}
}

func TestOpenErrorsHideCredentials(t *testing.T) {
	const secret = "s3cr3t-value-1234"
	for _, u := range []string{
		"kafka://user:" + secret + "@host/results",
		"rabbit://user:" + url.QueryEscape(secret) + "@results\x7f",
		"awssqs://sqs.us-east-1.amazonaws.com/1/q?no_such=1&secret_access_key=" + secret,
	} {
		_, err := pubsub.OpenTopic(context.Background(), u)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret, "%q", u)
		_, err2 := pubsub.OpenSubscription(context.Background(), u)
		require.Error(t, err2)
		assert.NotContains(t, err2.Error(), secret, "%q", u)
		for _, err := range []error{err, err2} {
			var oe *pubsub.Error
			require.ErrorAs(t, err, &oe)
			if oe.Err != nil {
				assert.NotContains(t, oe.Err.Error(), secret, "the cause of %q", u)
			}
		}
	}
}

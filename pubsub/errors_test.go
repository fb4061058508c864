package pubsub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub"
)

// Bad input must give an error that says what is wrong: an oversized
// message names the limit, an unreachable server says so.

func TestOversizedMessageSQS(t *testing.T) {
	sqs := testenv.Fauxqs(t)
	ctx := testenv.Context(t)
	topic, err := pubsub.OpenTopic(ctx, sqs.TopicURLForQueue(sqs.NewQueue(t)))
	require.NoError(t, err)
	defer topic.Shutdown(context.Background())
	err = topic.Send(ctx, &gcpubsub.Message{Body: []byte(strings.Repeat("x", 2<<20))})
	require.Error(t, err)
	t.Log(err)
	assert.Regexp(t, `(?i)too (long|large)|shorter than|cannot be longer than \d+ bytes|exceeds`, err.Error())
}

func TestOversizedMessageJetStream(t *testing.T) {
	nats := testenv.NATS(t)
	ctx := testenv.Context(t)
	topic, err := pubsub.OpenTopic(ctx, "jetstream://"+nats.StreamName("cpbig")+"/"+nats.Subject("big")+"?create=true")
	require.NoError(t, err)
	defer topic.Shutdown(context.Background())
	err = topic.Send(ctx, &gcpubsub.Message{Body: make([]byte, 4<<20)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "message too large: the server accepts at most")
}

func TestUnreachableServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Run("sqs", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "x")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		topic, err := pubsub.OpenTopic(ctx, "awssqs://127.0.0.1:1/000000000000/results?endpoint=http://127.0.0.1:1&region=us-east-1")
		require.NoError(t, err, "opening is lazy")
		defer topic.Shutdown(context.Background())
		err = topic.Send(ctx, &gcpubsub.Message{Body: []byte("x")})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "connection refused")
	})
	t.Run("jetstream", func(t *testing.T) {
		t.Setenv("NATS_SERVER_URL", "nats://127.0.0.1:1")
		_, err := pubsub.OpenTopic(ctx, "jetstream://RESULTS/results?create=true")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "server unreachable")
		assert.Contains(t, err.Error(), "127.0.0.1:1")
	})
}

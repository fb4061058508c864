package driveradapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/decoratortest"
)

func TestPubSubConformanceMem(t *testing.T) {
	identity := func(t *gcpubsub.Topic) *gcpubsub.Topic { return t }
	decoratortest.RunPubSub(t, identity, func(s *gcpubsub.Subscription) *gcpubsub.Subscription { return s }, nil)
}

// The outer layer may settle a message more than once (an ack after a nack
// from a retried batch, say); the inner message must see one call only, or
// gocloud panics.
func TestSubscriptionSettlesInnerMessageOnce(t *testing.T) {
	ctx := context.Background()
	topic := mempubsub.NewTopic()
	defer topic.Shutdown(ctx)
	inner := mempubsub.NewSubscription(topic, time.Second)
	ds := driveradapter.Subscription(inner)
	defer ds.Close()

	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: []byte("ballot batch 7")}))
	var ms []*driver.Message
	for len(ms) == 0 {
		var err error
		ms, err = ds.ReceiveBatch(ctx, 10)
		require.NoError(t, err)
	}
	require.Len(t, ms, 1)
	assert.Equal(t, "ballot batch 7", string(ms[0].Body))
	id := ms[0].AckID
	require.NotPanics(t, func() {
		require.NoError(t, ds.SendAcks(ctx, []driver.AckID{id}))
		require.NoError(t, ds.SendAcks(ctx, []driver.AckID{id}))
		require.NoError(t, ds.SendNacks(ctx, []driver.AckID{id}))
	})
	// Acked once: nothing comes back after the 1 s ack deadline.
	rctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	for rctx.Err() == nil {
		got, err := ds.ReceiveBatch(rctx, 10)
		if err == nil {
			assert.Empty(t, got, "acked message redelivered")
		}
	}
}

// An idle subscription returns empty batches instead of blocking forever,
// and a cancelled context ends ReceiveBatch at once.
func TestSubscriptionReceiveIdleAndCancel(t *testing.T) {
	topic := mempubsub.NewTopic()
	ds := driveradapter.Subscription(mempubsub.NewSubscription(topic, time.Second))
	defer ds.Close()
	ms, err := ds.ReceiveBatch(context.Background(), 5)
	require.NoError(t, err)
	assert.Empty(t, ms)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ds.ReceiveBatch(ctx, 5)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestTopicErrorsKeepCodeAndLoseDoublePrefix(t *testing.T) {
	ctx := context.Background()
	inner := mempubsub.NewTopic()
	require.NoError(t, inner.Shutdown(ctx))
	outer := gcpubsub.NewTopic(driveradapter.Topic(inner), nil)
	defer outer.Shutdown(ctx)
	err := outer.Send(ctx, &gcpubsub.Message{Body: []byte("x")})
	require.Error(t, err)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	assert.LessOrEqual(t, strings.Count(err.Error(), "pubsub (code="), 1, "prefix doubled: %v", err)
}

package fanout_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/fanout"
	"github.com/civicport/civicport/pubsub/meta"
)

func TestFanoutPublishesToEveryTopic(t *testing.T) {
	oldTopic, oldSub := decoratortest.MemPair(t, 5*time.Second)
	newTopic, newSub := decoratortest.MemPair(t, 5*time.Second)
	f, err := fanout.New([]*gcpubsub.Topic{oldTopic, newTopic}, nil)
	require.NoError(t, err)
	decoratortest.SendNumbered(t, f, 0, 100)

	for _, sub := range []*gcpubsub.Subscription{oldSub, newSub} {
		seen := decoratortest.DrainNumbered(t, sub, 300*time.Millisecond)
		assert.Len(t, seen, 100)
	}
	require.NoError(t, f.Shutdown(context.Background()))
	// Shutting the fanout down shut its topics down.
	assert.Error(t, oldTopic.Send(context.Background(), &gcpubsub.Message{Body: []byte("x")}))
}

// shutTopic is a topic already shut down: every send to it fails.
func shutTopic(t *testing.T) *gcpubsub.Topic {
	t.Helper()
	topic := mempubsub.NewTopic()
	require.NoError(t, topic.Shutdown(context.Background()))
	return topic
}

func TestFanoutRequireAllNamesTheRefusingTopic(t *testing.T) {
	okTopic, okSub := decoratortest.MemPair(t, 5*time.Second)
	broken := shutTopic(t)
	var reported atomic.Int64
	f, err := fanout.New([]*gcpubsub.Topic{okTopic, broken}, &fanout.Options{
		Names:   []string{"awssqs://old", "gcppubsub://new"},
		OnError: func(i int, err error) { reported.Add(int64(i)) },
	})
	require.NoError(t, err)
	defer f.Shutdown(context.Background())

	err = f.Send(context.Background(), &gcpubsub.Message{Body: []byte("precinct 9")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gcppubsub://new")
	assert.NotContains(t, err.Error(), "awssqs://old")
	assert.Equal(t, int64(1), reported.Load())
	// The topic that accepted has the message.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := okSub.Receive(ctx)
	require.NoError(t, err)
	m.Ack()
	assert.Equal(t, "precinct 9", string(m.Body))
}

func TestFanoutRequirePrimary(t *testing.T) {
	primary, primarySub := decoratortest.MemPair(t, 5*time.Second)
	broken := shutTopic(t)
	var failures atomic.Int64
	f, err := fanout.New([]*gcpubsub.Topic{primary, broken}, &fanout.Options{
		Policy:  fanout.RequirePrimary,
		OnError: func(i int, err error) { failures.Add(1); assert.Equal(t, 1, i) },
	})
	require.NoError(t, err)
	defer f.Shutdown(context.Background())
	decoratortest.SendNumbered(t, f, 0, 10)
	assert.Len(t, decoratortest.DrainNumbered(t, primarySub, 300*time.Millisecond), 10)
	assert.Positive(t, failures.Load(), "secondary refusals must be reported")

	// A refusal by the primary fails the send.
	g, err := fanout.New([]*gcpubsub.Topic{broken, primary}, &fanout.Options{Policy: fanout.RequirePrimary})
	require.NoError(t, err)
	defer g.Shutdown(context.Background())
	assert.Error(t, g.Send(context.Background(), &gcpubsub.Message{Body: []byte("x")}))
}

func TestFanoutBadOptions(t *testing.T) {
	topic, _ := decoratortest.MemPair(t, time.Second)
	for _, tc := range []struct {
		topics []*gcpubsub.Topic
		opts   *fanout.Options
		want   string
	}{
		{nil, nil, "no topics"},
		{[]*gcpubsub.Topic{topic, nil}, nil, "topic 1 is nil"},
		{[]*gcpubsub.Topic{topic}, &fanout.Options{Policy: 7}, "unknown policy FanoutPolicy(7)"},
		{[]*gcpubsub.Topic{topic}, &fanout.Options{Names: []string{"a", "b"}}, "2 names for 1 topics"},
	} {
		_, err := fanout.New(tc.topics, tc.opts)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestFanoutGivesCopiesOneID(t *testing.T) {
	aTopic, aSub := decoratortest.MemPair(t, 5*time.Second)
	bTopic, bSub := decoratortest.MemPair(t, 5*time.Second)
	f, err := fanout.New([]*gcpubsub.Topic{aTopic, bTopic}, nil)
	require.NoError(t, err)
	md := map[string]string{"county": "Doña Ana"}
	require.NoError(t, f.Send(context.Background(), &gcpubsub.Message{Body: []byte("x"), Metadata: md}))
	assert.Len(t, md, 1, "the caller's metadata map was changed")
	ids := map[string]bool{}
	for _, sub := range []*gcpubsub.Subscription{aSub, bSub} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := sub.Receive(ctx)
		cancel()
		require.NoError(t, err)
		m.Ack()
		require.NotEmpty(t, m.Metadata[meta.ID])
		ids[m.Metadata[meta.ID]] = true
	}
	assert.Len(t, ids, 1)
}

// Fanout over the suite's topic and a second one: what the suite sends
// through it arrives as a single topic's would. (KeepMetadata: by default
// Fanout adds a MetadataID, which the suite's exact metadata checks would
// see; TestFanoutGivesCopiesOneID covers that.)
func TestDrivertestFanout(t *testing.T) {
	decoratortest.RunPubSub(t,
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

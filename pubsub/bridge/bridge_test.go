package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
)

func TestBridgeForwardsEverythingAndStopsWhenIdle(t *testing.T) {
	aTopic, aSub := decoratortest.MemPair(t, 5*time.Second)
	bTopic, bSub := decoratortest.MemPair(t, 5*time.Second)
	decoratortest.SendNumbered(t, aTopic, 0, 300)

	var calls sync.Map
	stats, err := bridge.Run(context.Background(), aSub, bTopic, &bridge.Options{
		UntilIdle: 300 * time.Millisecond,
		Progress:  func(s bridge.Stats) { calls.Store(s.Forwarded, true) },
	})
	require.NoError(t, err)
	assert.Equal(t, int64(300), stats.Forwarded)
	assert.Equal(t, int64(0), stats.Failed)
	// 300 bodies of `{"precinct":N}`: 13 bytes each plus 790 digits for 0..299.
	assert.Equal(t, int64(300*13+790), stats.Bytes)
	_, ok := calls.Load(int64(300))
	assert.True(t, ok, "progress never reported the last message")

	seen := decoratortest.DrainNumbered(t, bSub, 300*time.Millisecond)
	assert.Len(t, seen, 300)
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
	// Everything was acked on the source: nothing comes back after its deadline.
	assert.Empty(t, decoratortest.DrainNumbered(t, aSub, 300*time.Millisecond))
}

// A destination that refuses stops the bridge with its error, and the
// refused message stays on the source: a second bridge to a working
// destination delivers everything.
func TestBridgeRefusedMessageStaysOnSource(t *testing.T) {
	aTopic, aSub := decoratortest.MemPair(t, 500*time.Millisecond)
	decoratortest.SendNumbered(t, aTopic, 0, 50)

	broken := mempubsub.NewTopic()
	require.NoError(t, broken.Shutdown(context.Background()))
	stats, err := bridge.Run(context.Background(), aSub, broken, &bridge.Options{UntilIdle: time.Second, Workers: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forward message")
	assert.Equal(t, int64(0), stats.Forwarded)
	assert.Equal(t, int64(1), stats.Failed)

	bTopic, bSub := decoratortest.MemPair(t, 5*time.Second)
	stats, err = bridge.Run(context.Background(), aSub, bTopic, &bridge.Options{UntilIdle: 2 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, int64(50), stats.Forwarded)
	assert.Len(t, decoratortest.DrainNumbered(t, bSub, 300*time.Millisecond), 50)
}

func TestBridgeCancel(t *testing.T) {
	_, aSub := decoratortest.MemPair(t, time.Second)
	bTopic, _ := decoratortest.MemPair(t, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := bridge.Run(ctx, aSub, bTopic, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Bridge did not return after cancel")
	}
}

func TestBridgeBadOptions(t *testing.T) {
	_, aSub := decoratortest.MemPair(t, time.Second)
	bTopic, _ := decoratortest.MemPair(t, time.Second)
	_, err := bridge.Run(context.Background(), aSub, bTopic, &bridge.Options{UntilIdle: -time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UntilIdle -1s is negative")
}

// A message without a MetadataID forwarded twice (a restarted bridge) is
// recognised by Dedup on the destination: the bridge gives both copies the
// source's key. (Here rather than in dedup: the key is the bridge's doing.)
func TestBridgeCopiesAreRecognisedByDedup(t *testing.T) {
	ctx := context.Background()
	aTopic, aSub := decoratortest.MemPair(t, 300*time.Millisecond)
	require.NoError(t, aTopic.Send(ctx, &gcpubsub.Message{Body: []byte("precinct 3: 118 votes")}))

	// First bridge: the destination accepts, but the ack never reaches the
	// source (the bridge "dies" before acking): emulate with a receive that
	// neither acks nor nacks, then bridge the redelivery.
	bTopic, bSub := decoratortest.MemPair(t, 5*time.Second)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := aSub.Receive(rctx)
	require.NoError(t, err)
	first := &gcpubsub.Message{Body: m.Body, Metadata: map[string]string{meta.ID: meta.DedupKey(m.LoggableID, m.Body, m.Metadata, false)}}
	require.NoError(t, bTopic.Send(ctx, first))
	_, err = bridge.Run(ctx, aSub, bTopic, &bridge.Options{UntilIdle: time.Second})
	require.NoError(t, err)
	m.Ack() // too late: already redelivered and bridged

	deduped := dedup.Wrap(bSub, nil)
	n := 0
	for {
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		m, err := deduped.Receive(rctx)
		cancel()
		if err != nil {
			break
		}
		m.Ack()
		n++
	}
	assert.Equal(t, 1, n, "the copy from the restart reached the consumer")
	var st *dedup.Stats
	require.True(t, deduped.As(&st))
	assert.Equal(t, int64(1), st.Duplicates())
}

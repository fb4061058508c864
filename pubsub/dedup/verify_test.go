package dedup_test

// Dedup over sign.Verify, stacked as a results consumer runs them: what
// these tests assert is Dedup's part (keys, store, As).

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/fileblob"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// A message signed without a publisher id, captured off the wire and
// published again (the replay), is delivered once: Wrap's signed stamp
// gives it a nonce that dedup keys on, and the replay cannot change it
// without breaking the signature.
func TestSignedReplayWithoutIDDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	wire := &gcpubsub.Message{Body: []byte("precinct 9: 512 ballots")}
	md, err := sign.Message(ctx, sign.NewEd25519Signer("clerk", priv), wire)
	require.NoError(t, err)
	require.NotContains(t, md, meta.ID, "no publisher id")

	topic, sub, _ := decoratortest.DedupVerify(t, pub, nil, nil)
	decoratortest.ShutdownOnCleanup(t, sub)
	for range 3 { // the original and two replays
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	}
	m := decoratortest.Receive(t, sub)
	assert.Equal(t, wire.Body, m.Body)
	m.Ack()
	decoratortest.ReceiveNone(t, sub, 1500*time.Millisecond)
	assert.EqualValues(t, 2, decoratortest.DedupStats(t, sub).Duplicates())
}

// The replay comes after the consumer restarted: a durable store (a
// bucket) remembers the nonce.
func TestSignedReplayAfterRestartDropped(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	dir := t.TempDir()
	store := func() dedup.Store {
		b, err := fileblob.OpenBucket(dir, nil)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return dedup.NewBucketStore(b, "dedup/")
	}
	wire := &gcpubsub.Message{Body: []byte("county 4 final: 20,512")}
	md, err := sign.Message(ctx, sign.NewEd25519Signer("clerk", priv), wire)
	require.NoError(t, err)

	topic, sub, _ := decoratortest.DedupVerify(t, pub, store(), nil)
	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	decoratortest.Receive(t, sub).Ack()
	require.NoError(t, sub.Shutdown(ctx))

	topic2, sub2, _ := decoratortest.DedupVerify(t, pub, store(), nil) // the restarted consumer
	decoratortest.ShutdownOnCleanup(t, sub2)
	require.NoError(t, topic2.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	decoratortest.ReceiveNone(t, sub2, 1500*time.Millisecond)
	assert.EqualValues(t, 1, decoratortest.DedupStats(t, sub2).Duplicates())
}

// Dedup's As answers for its own stats and reaches Verify's under it.
func TestVerifyDedupStatsThroughAs(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	topic, sub, _ := decoratortest.DedupVerify(t, pub, nil, nil)
	decoratortest.ShutdownOnCleanup(t, sub)
	signed := decoratortest.MustSign(topic, sign.NewEd25519Signer("clerk", priv))
	defer signed.Shutdown(ctx)
	for range 2 {
		require.NoError(t, signed.Send(ctx, &gcpubsub.Message{Body: []byte("x"), Metadata: map[string]string{meta.ID: "one"}}))
	}
	decoratortest.Receive(t, sub).Ack()
	decoratortest.ReceiveNone(t, sub, 1500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.EqualValues(t, 1, st.Delivered())
	assert.EqualValues(t, 1, st.Duplicates())
	// Verify sits under Dedup, so it checked both copies, and once more
	// each time Dedup gave a copy back because the first was still in
	// flight (on a loaded machine the copy can arrive before the ack).
	assert.EqualValues(t, 2+st.Deferred(), decoratortest.VerifyStats(t, sub).Verified())
}

package pubsub_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/fileblob"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// replayConsumer is what a results consumer runs: Dedup over Verify over a
// raw subscription, with its dedup store, returning the raw topic an
// attacker can publish to.
func replayConsumer(t *testing.T, pub ed25519.PublicKey, store dedup.Store, vo *sign.VerifyOptions) (*gcpubsub.Topic, *gcpubsub.Subscription, *gcpubsub.Subscription) {
	t.Helper()
	topic, raw := ddPair(t, 10*time.Second)
	qt, qs := ddPair(t, 10*time.Second)
	shutdown(t, qs)
	v, err := sign.Verify(raw, sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"clerk": pub}), qt, vo)
	require.NoError(t, err)
	sub := dedup.Wrap(v, &dedup.Options{Store: store})
	return topic, sub, qs
}

// A message signed without a publisher id, captured off the wire and
// published again (the replay), is delivered once: Wrap's signed stamp
// gives it a nonce that dedup keys on, and the replay cannot change it
// without breaking the signature.
func TestSignedReplayWithoutIDDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	pub, priv := edKey(t)
	wire := &gcpubsub.Message{Body: []byte("precinct 9: 512 ballots")}
	md, err := sign.Message(ctx, sign.NewEd25519Signer("clerk", priv), wire)
	require.NoError(t, err)
	require.NotContains(t, md, meta.ID, "no publisher id")

	topic, sub, _ := replayConsumer(t, pub, nil, nil)
	shutdown(t, sub)
	for range 3 { // the original and two replays
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	}
	m := ddRecv(t, sub)
	assert.Equal(t, wire.Body, m.Body)
	m.Ack()
	ddNone(t, sub, 1500*time.Millisecond)
	assert.EqualValues(t, 2, dedupStats(t, sub).Duplicates())
}

// The replay comes after the consumer restarted: a durable store (a
// bucket) remembers the nonce.
func TestSignedReplayAfterRestartDropped(t *testing.T) {
	ctx := context.Background()
	pub, priv := edKey(t)
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

	topic, sub, _ := replayConsumer(t, pub, store(), nil)
	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	ddRecv(t, sub).Ack()
	require.NoError(t, sub.Shutdown(ctx))

	topic2, sub2, _ := replayConsumer(t, pub, store(), nil) // the restarted consumer
	shutdown(t, sub2)
	require.NoError(t, topic2.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
	ddNone(t, sub2, 1500*time.Millisecond)
	assert.EqualValues(t, 1, dedupStats(t, sub2).Duplicates())
}

// With MaxAge, Verify refuses a message signed too long ago or too far in
// the future (by the signed stamp), and one with no stamp at all.
func TestVerifyMaxAge(t *testing.T) {
	ctx := context.Background()
	pub, priv := edKey(t)
	signer := sign.NewEd25519Signer("clerk", priv)
	wire := &gcpubsub.Message{Body: []byte("precinct 1: 80")}
	md, err := sign.Message(ctx, signer, wire)
	require.NoError(t, err)
	at, _, err := meta.ParseSigned(md[meta.Signed])
	require.NoError(t, err)

	for name, c := range map[string]struct {
		now    time.Time
		reason string
	}{
		"replayed two hours later": {at.Add(2 * time.Hour), "expired: signed at"},
		"clock far behind":         {at.Add(-10 * time.Minute), "signed in the future"},
	} {
		t.Run(name, func(t *testing.T) {
			topic, sub, qs := replayConsumer(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour, Now: func() time.Time { return c.now }})
			shutdown(t, sub)
			require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
			q := recvQuarantined(t, sub, qs)
			assert.Contains(t, q.Metadata[meta.QuarantineReason], c.reason)
		})
	}
	t.Run("within the window", func(t *testing.T) {
		topic, sub, _ := replayConsumer(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour, Now: func() time.Time { return at.Add(59 * time.Minute) }})
		shutdown(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
		ddRecv(t, sub).Ack()
	})
	t.Run("no stamp", func(t *testing.T) {
		// Signed as a civicport before stamps did: the signature is good,
		// but the age cannot be told.
		old := map[string]string{"precinct": "1"}
		digest := meta.CanonicalSHA256("civicport pubsub signature v1", sign.AlgEd25519+":clerk", wire.Body, old)
		old[meta.Signature] = sign.AlgEd25519 + ":clerk:" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, digest[:]))

		topic, sub, _ := replayConsumer(t, pub, nil, nil)
		shutdown(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(old)}))
		ddRecv(t, sub).Ack() // without MaxAge it verifies as before

		topic, sub, qs := replayConsumer(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour})
		shutdown(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(old)}))
		q := recvQuarantined(t, sub, qs)
		assert.Contains(t, q.Metadata[meta.QuarantineReason], "no civicport-signed stamp")
	})

	_, raw := ddPair(t, time.Second)
	qt, _ := ddPair(t, time.Second)
	_, err = sign.Verify(raw, sign.NewEd25519Verifier(nil), qt, &sign.VerifyOptions{MaxAge: -time.Second})
	assert.ErrorContains(t, err, "must not be negative")
}

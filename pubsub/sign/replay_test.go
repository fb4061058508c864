package sign_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// With MaxAge, Verify refuses a message signed too long ago or too far in
// the future (by the signed stamp), and one with no stamp at all.
func TestVerifyMaxAge(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
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
			topic, sub, qs := decoratortest.DedupVerify(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour, Now: func() time.Time { return c.now }})
			decoratortest.ShutdownOnCleanup(t, sub)
			require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
			q := recvQuarantined(t, sub, qs)
			assert.Contains(t, q.Metadata[meta.QuarantineReason], c.reason)
		})
	}
	t.Run("within the window", func(t *testing.T) {
		topic, sub, _ := decoratortest.DedupVerify(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour, Now: func() time.Time { return at.Add(59 * time.Minute) }})
		decoratortest.ShutdownOnCleanup(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(md)}))
		decoratortest.Receive(t, sub).Ack()
	})
	t.Run("no stamp", func(t *testing.T) {
		// Signed as a civicport before stamps did: the signature is good,
		// but the age cannot be told.
		old := map[string]string{"precinct": "1"}
		digest := meta.CanonicalSHA256("civicport pubsub signature v1", sign.AlgEd25519+":clerk", wire.Body, old)
		old[meta.Signature] = sign.AlgEd25519 + ":clerk:" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, digest[:]))

		topic, sub, _ := decoratortest.DedupVerify(t, pub, nil, nil)
		decoratortest.ShutdownOnCleanup(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(old)}))
		decoratortest.Receive(t, sub).Ack() // without MaxAge it verifies as before

		topic, sub, qs := decoratortest.DedupVerify(t, pub, nil, &sign.VerifyOptions{MaxAge: time.Hour})
		decoratortest.ShutdownOnCleanup(t, sub)
		require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: wire.Body, Metadata: maps.Clone(old)}))
		q := recvQuarantined(t, sub, qs)
		assert.Contains(t, q.Metadata[meta.QuarantineReason], "no civicport-signed stamp")
	})

	_, raw := decoratortest.RawPair(t, time.Second)
	qt, _ := decoratortest.RawPair(t, time.Second)
	_, err = sign.Verify(raw, sign.NewEd25519Verifier(nil), qt, &sign.VerifyOptions{MaxAge: -time.Second})
	assert.ErrorContains(t, err, "must not be negative")
}

package sign_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log"
	"time"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// The publisher signs with its Ed25519 key; the consumer verifies before it
// sees a message. A forged message goes to the quarantine topic.
func Example() {
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	topic := mempubsub.NewTopic()
	defer topic.Shutdown(ctx)
	quarantine := mempubsub.NewTopic()
	defer quarantine.Shutdown(ctx)
	held := mempubsub.NewSubscription(quarantine, time.Minute)
	defer held.Shutdown(ctx)

	sub, err := sign.Verify(mempubsub.NewSubscription(topic, time.Minute),
		sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"county-4": pub}), quarantine, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)

	signed, err := sign.Wrap(topic, sign.NewEd25519Signer("county-4", priv))
	if err != nil {
		log.Fatal(err)
	}
	defer signed.Shutdown(ctx)
	if err := signed.Send(ctx, &gcpubsub.Message{Body: []byte("340 ballots"), Metadata: map[string]string{"precinct": "12"}}); err != nil {
		log.Fatal(err)
	}
	// Someone without the key publishes on the same topic.
	if err := topic.Send(ctx, &gcpubsub.Message{Body: []byte("9999 ballots")}); err != nil {
		log.Fatal(err)
	}

	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		m, err := sub.Receive(rctx)
		cancel()
		if err != nil {
			break
		}
		// Verify delivers the metadata as signed: the publisher's, and the
		// stamp Wrap added (when, and a nonce that makes it unique).
		_, _, stampErr := meta.ParseSigned(m.Metadata[meta.Signed])
		fmt.Printf("verified %q precinct=%s stamped=%v\n", m.Body, m.Metadata["precinct"], stampErr == nil)
		m.Ack()
	}
	q, err := held.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("quarantined %q: %s\n", q.Body, q.Metadata[meta.QuarantineReason])
	q.Ack()
	// Output:
	// verified "340 ballots" precinct=12 stamped=true
	// quarantined "9999 ballots": missing signature: no civicport-signature metadata
}

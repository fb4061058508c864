package rehearsal

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/internal/bytesize"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/shutdown"
	"github.com/civicport/civicport/pubsub/sign"
	"github.com/civicport/civicport/secrets/envelope"
)

// events is the results feed of a rehearsal: the county publishes one
// signed message per precinct result on provider A; during the switch the
// queue is bridged to provider B, where the state's aggregator reads it
// through Verify and Dedup.
type events struct {
	signer   sign.Signer
	verifier sign.Verifier
	// What was published on A.
	published int
	ids       map[string]bool
	// Set by the checks.
	delivered, duplicates, quarantined int64
	bridged                            bridge.Stats
}

func newEvents() (*events, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	const keyID = "county-clerk-2026"
	return &events{
		signer:   sign.NewEd25519Signer(keyID, priv),
		verifier: sign.NewEd25519Verifier(map[string]ed25519.PublicKey{keyID: pub}),
		ids:      map[string]bool{},
	}, nil
}

// publish reads every precinct result from A (through Seal), signs it with
// its key as idempotency key, and publishes it on A. Then it plays two
// attacks on the feed: one message replayed as it went out, and one forged
// (a result changed after signing).
func (e *events) publish(ctx context.Context, topic *gcpubsub.Topic, bucketURL string, kek envelope.KEK) (string, error) {
	inner, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return "", err
	}
	sealed, err := seal.Wrap(inner, []envelope.KEK{kek}, nil)
	if err != nil {
		inner.Close()
		return "", err
	}
	defer sealed.Close()
	var last *gcpubsub.Message
	err = eachRecord(ctx, sealed, "results/", func(key string) error {
		body, err := sealed.ReadAll(ctx, key)
		if err != nil {
			return err
		}
		md, err := sign.Message(ctx, e.signer, &gcpubsub.Message{Body: body, Metadata: map[string]string{meta.ID: key, "content-type": "application/json"}})
		if err != nil {
			return err
		}
		last = &gcpubsub.Message{Body: body, Metadata: md}
		if err := topic.Send(ctx, last); err != nil {
			return fmt.Errorf("publish %s: %w", key, err)
		}
		e.ids[key] = true
		e.published++
		return nil
	})
	if err != nil {
		return "", err
	}
	if last == nil {
		return "", errors.New("no results to publish")
	}
	replay := &gcpubsub.Message{Body: last.Body, Metadata: maps.Clone(last.Metadata)}
	forged := &gcpubsub.Message{Body: append([]byte(nil), last.Body...), Metadata: maps.Clone(last.Metadata)}
	forged.Body[len(forged.Body)/2] ^= 0x04
	for _, m := range []*gcpubsub.Message{replay, forged} {
		if err := topic.Send(ctx, m); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d precinct results signed (Ed25519) and published, plus 1 replayed and 1 forged message", e.published), nil
}

// bridge drains A's subscription into B's topic.
func (e *events) bridge(ctx context.Context, from *gcpubsub.Subscription, to *gcpubsub.Topic) (string, error) {
	st, err := bridge.Run(ctx, from, to, &bridge.Options{UntilIdle: time.Second})
	e.bridged = *st
	if err != nil {
		return "", err
	}
	if want := int64(e.published + 2); st.Forwarded < want {
		return "", fmt.Errorf("forwarded %d messages, want at least %d", st.Forwarded, want)
	}
	return fmt.Sprintf("%d messages (%s) moved; each acked on A only after B accepted it", st.Forwarded, bytesize.String(st.Bytes)), nil
}

// consume reads B's subscription as the aggregator does: Dedup (replays
// dropped) over Verify (forgeries to quarantine), and checks that every result
// arrived exactly once.
func (e *events) consume(ctx context.Context, sub *gcpubsub.Subscription, quarantine *gcpubsub.Topic, quarantined *gcpubsub.Subscription) (string, error) {
	// Verify under Dedup: a forgery is quarantined before Dedup sees its id.
	verified, err := sign.Verify(sub, e.verifier, quarantine, nil)
	if err != nil {
		return "", err
	}
	feed := dedup.Wrap(verified, nil)
	defer shutdown.Subscription(context.Background(), feed)
	got := map[string]int{}
	for len(got) < e.published {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := feed.Receive(rctx)
		cancel()
		if err != nil {
			return "", fmt.Errorf("after %d of %d results: %w", len(got), e.published, err)
		}
		m.Ack()
		id := m.Metadata[meta.ID]
		if !e.ids[id] {
			return "", fmt.Errorf("delivered a message that was never published: %q", id)
		}
		got[id]++
	}
	// Wait for the attack messages to be handled (they are never delivered).
	var ds *dedup.Stats
	var vs *sign.VerifyStats
	if !feed.As(&ds) || !feed.As(&vs) {
		return "", errors.New("decorator stats not reachable")
	}
	deadline := time.Now().Add(10 * time.Second)
	for (ds.Duplicates() < 1 || vs.Quarantined() < 1) && time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := feed.Receive(rctx)
		cancel()
		if err == nil {
			m.Ack()
			return "", fmt.Errorf("an extra message was delivered: %q", m.Metadata[meta.ID])
		}
	}
	e.delivered, e.duplicates, e.quarantined = int64(len(got)), ds.Duplicates(), vs.Quarantined()
	if e.duplicates != 1 || e.quarantined != 1 {
		return "", fmt.Errorf("replay dropped %d times (want 1), forgery quarantined %d times (want 1)", e.duplicates, e.quarantined)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	q, err := quarantined.Receive(rctx)
	if err != nil {
		return "", fmt.Errorf("the forged message is not in quarantine: %w", err)
	}
	q.Ack()
	return fmt.Sprintf("%d results delivered once each; the replay dropped by Dedup; the forgery quarantined (%s)",
		len(got), q.Metadata[meta.QuarantineReason]), nil
}

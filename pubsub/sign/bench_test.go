package sign_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// BenchmarkDecorated publishes, receives and acks messages through raw
// mempubsub and through Sign + Dedup(Verify(...)):
//
//	go test -run '^$' -bench Decorated -benchtime 5x ./pubsub/sign
//
// BenchmarkDecorated compares publish+receive+ack through raw gocloud with
// Sign+Verify+Dedup on mem and, when nats-server runs, NATS JetStream.
// In sign: the modes are Signers and Verifiers; Dedup goes on top as deployed.
func BenchmarkDecorated(b *testing.B) {
	b.Run("mem", func(b *testing.B) {
		benchDecorated(b, func(b *testing.B) (*gcpubsub.Topic, *gcpubsub.Subscription) {
			raw := mempubsub.NewTopic()
			return raw, mempubsub.NewSubscription(raw, time.Minute)
		})
	})
	b.Run("jetstream", func(b *testing.B) {
		nats := testenv.NATS(b)
		benchDecorated(b, func(b *testing.B) (*gcpubsub.Topic, *gcpubsub.Subscription) {
			return decoratortest.JetStreamPair(b, nats, "cpbench", "bench")
		})
	})
}

func benchDecorated(b *testing.B, pair func(b *testing.B) (*gcpubsub.Topic, *gcpubsub.Subscription)) {
	const n = 2000
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(b)
	hs, hv := hmacKeys(b, "h")
	modes := []struct {
		name string
		s    sign.Signer
		v    sign.Verifier
	}{
		{"raw", nil, nil},
		{"ed25519", sign.NewEd25519Signer("k", priv), sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"k": pub})},
		{"hmac", hs, hv},
	}
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			raw, sub := pair(b)
			defer raw.Shutdown(ctx)
			var topic *gcpubsub.Topic = raw
			if mode.s != nil {
				topic = decoratortest.MustSign(raw, mode.s)
				defer topic.Shutdown(ctx)
				q := mempubsub.NewTopic()
				defer q.Shutdown(ctx)
				vs, err := sign.Verify(sub, mode.v, q, nil)
				require.NoError(b, err)
				sub = dedup.Wrap(vs, nil)
			}
			defer sub.Shutdown(ctx)
			body := make([]byte, 512)
			seq := 0
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				errs := make(chan error, 2)
				sem := make(chan struct{}, 100)
				for range n {
					seq++
					md := map[string]string{meta.ID: fmt.Sprint(seq), "precinct": "12"}
					sem <- struct{}{}
					wg.Go(func() {
						defer func() { <-sem }()
						if err := topic.Send(ctx, &gcpubsub.Message{Body: body, Metadata: md}); err != nil {
							select {
							case errs <- err:
							default:
							}
						}
					})
				}
				// Receivers stop when all n arrived, not when each has claimed
				// a share: gocloud wakes one waiting Receive per batch it
				// fetches, so a receiver that left early could strand the
				// rest of a batch with waiters that are never woken until
				// the next fetch returns (about the driver's max wait, 1 s on
				// JetStream: the "slow" runs this benchmark used to show).
				var got atomic.Int64
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				for range 8 {
					wg.Go(func() {
						for {
							m, err := sub.Receive(rctx)
							if err != nil {
								if got.Load() < n {
									select {
									case errs <- err:
									default:
									}
								}
								return
							}
							m.Ack()
							if got.Add(1) == n {
								cancel()
							}
						}
					})
				}
				wg.Wait()
				cancel()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
			}
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/meta"
)

// BenchmarkBridge measures Bridge throughput (messages/s from the first
// receive to the last destination accept) from NATS JetStream to SQS
// (fauxqs) and to JetStream, 2,000 messages of 512 bytes per iteration.
func BenchmarkBridge(b *testing.B) {
	const n = 2000
	nats := testenv.NATS(b)
	source := func(b *testing.B) *gcpubsub.Subscription {
		ctx := context.Background()
		topic, sub := decoratortest.JetStreamPair(b, nats, "cpbbench", "bench")
		// Printable: SQS refuses bodies with NUL bytes (gocloud base64-encodes
		// only bodies that are not valid UTF-8).
		body := []byte(strings.Repeat(`{"precinct":12,"votes":3456}`, 19)[:512])
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				require.NoError(b, topic.Send(ctx, &gcpubsub.Message{Body: body, Metadata: map[string]string{meta.ID: fmt.Sprint(i)}}))
			})
		}
		wg.Wait()
		require.NoError(b, topic.Shutdown(ctx))
		return sub
	}
	for _, dst := range []struct {
		name string
		open func(b *testing.B) string
	}{
		{"jetstream-to-sqs", func(b *testing.B) string {
			s := testenv.Fauxqs(b)
			return s.TopicURLForQueue(s.NewQueue(b))
		}},
		{"jetstream-to-jetstream", func(b *testing.B) string {
			return "jetstream://" + nats.StreamName("cpbdst") + "/" + nats.Subject("dst") + "?create=true"
		}},
	} {
		b.Run(dst.name, func(b *testing.B) {
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				ctx := context.Background()
				sub := source(b)
				to, err := pubsub.OpenTopic(ctx, dst.open(b))
				require.NoError(b, err)
				var (
					mu          sync.Mutex
					first, last time.Time
				)
				b.StartTimer()
				st, err := bridge.Run(ctx, sub, to, &bridge.Options{UntilIdle: time.Second, Workers: 32, Progress: func(bridge.Stats) {
					mu.Lock()
					if first.IsZero() {
						first = time.Now()
					}
					last = time.Now()
					mu.Unlock()
				}})
				b.StopTimer()
				require.NoError(b, err)
				require.EqualValues(b, n, st.Forwarded)
				elapsed += last.Sub(first)
				require.NoError(b, sub.Shutdown(ctx))
				require.NoError(b, to.Shutdown(ctx))
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

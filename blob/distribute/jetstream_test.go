package distribute

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/adapters/jetstream"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// An item slower than the ack wait is not handed to a second receiver while
// KeepAlive reports progress; without it, it is (and the redelivery is
// harmless).
func TestKeepAliveHoldsSlowItem(t *testing.T) {
	nats := testenv.NATS(t)
	for _, keep := range []bool{true, false} {
		t.Run(map[bool]string{true: "keepalive", false: "none"}[keep], func(t *testing.T) {
			ctx := context.Background()
			_, src := testenv.FileBucket(t, 3, 1000)
			dst := "file://" + t.TempDir()
			topicURL, subURL, subject := nats.NewQueue("cpka")
			topic, err := pubsub.OpenTopic(ctx, topicURL)
			require.NoError(t, err)
			defer shutdown.Topic(ctx, topic)
			sb, err := gcblob.OpenBucket(ctx, src)
			require.NoError(t, err)
			defer sb.Close()
			items, _, err := Plan(ctx, sb, src, dst, "", 10, Publisher(topic))
			require.NoError(t, err)
			require.Equal(t, 1, items)
			sub, err := pubsub.OpenSubscription(ctx, subURL+"?create=true&ack_wait=1s&filter_subject="+subject)
			require.NoError(t, err)
			defer shutdown.Subscription(ctx, sub)

			var opens atomic.Int32
			slowOpen := func(ctx context.Context, u string) (*gcblob.Bucket, error) {
				if opens.Add(1) == 1 {
					time.Sleep(2500 * time.Millisecond) // > ack wait
				}
				return open(ctx, u)
			}
			o := &WorkOptions{Workers: 2, UntilIdle: 3 * time.Second, Report: func(r ItemResult) { t.Logf("item %s: acked %v err %v", r.Item.ID, r.Acked, r.Err) }}
			if keep {
				o.KeepAlive, o.KeepAliveEvery = jetstream.InProgress, 300*time.Millisecond
			}
			sum, err := Work(ctx, sub, slowOpen, t.TempDir(), o)
			require.NoError(t, err)
			if keep {
				assert.Equal(t, 1, sum.Done, "delivered once")
			} else {
				assert.GreaterOrEqual(t, sum.Done, 2, "redelivered after the ack wait")
			}
			if keep {
				assert.Zero(t, sum.Failed)
			} // else two workers on one item at once may fail one verify (nacked, retried)
		})
	}
}

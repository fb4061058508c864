package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// publishResults sends n results messages, each with a civicport-id.
func publishResults(t *testing.T, topicURL string, n int) {
	t.Helper()
	ctx := testenv.Context(t)
	topic, err := pubsub.OpenTopic(ctx, topicURL)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = topic.Send(ctx, &gcpubsub.Message{
				Body:     fmt.Appendf(nil, `{"precinct":%d,"votes":%d}`, i, 1000+i),
				Metadata: map[string]string{meta.ID: strconv.Itoa(i), "county": "Doña Ana"},
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, shutdown.Topic(ctx, topic))
}

// drainSub receives from sub until idle for idle, acking, shuts it down,
// and returns how many times each civicport-id arrived.
func drainSub(t *testing.T, sub *gcpubsub.Subscription, idle time.Duration) map[string]int {
	t.Helper()
	defer shutdown.Subscription(context.Background(), sub)
	seen := map[string]int{}
	for {
		ctx, cancel := context.WithTimeout(testenv.Context(t), idle)
		m, err := sub.Receive(ctx)
		cancel()
		if err != nil {
			return seen
		}
		m.Ack()
		id := m.Metadata[meta.ID]
		assert.Equal(t, fmt.Sprintf(`{"precinct":%s,"votes":%d}`, id, 1000+atoi(t, id)), string(m.Body), "body changed")
		assert.Equal(t, "Doña Ana", m.Metadata["county"], "metadata lost")
		seen[id]++
	}
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "civicport-id %q", s)
	return n
}

// A bridge from NATS JetStream to SQS (fauxqs) is SIGKILLed mid-drain and
// started again: every message reaches SQS, none is lost, and the copies a
// restart may add are reported.
func TestBridgeKilledMidDrainLosesNothing(t *testing.T) {
	nats := testenv.NATS(t)
	sqsSrv := testenv.Fauxqs(t)
	const n = 1000
	topicURL, from, _ := nats.NewQueue("cpbridge")
	publishResults(t, topicURL, n)
	// The durable consumer as an operator would create it; a short ack
	// wait so that what the killed bridge held comes back quickly.
	sub, err := pubsub.OpenSubscription(testenv.Context(t), from+"?create=true&ack_wait=2s")
	require.NoError(t, err)
	require.NoError(t, shutdown.Subscription(context.Background(), sub))

	queue := sqsSrv.NewQueue(t)
	to := sqsSrv.TopicURLForQueue(queue)
	victim := startProcess(t, "bridge", "--from-subscription", from, "--to-topic", to, "--workers", "4")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && queueDepth(t, sqsSrv, queue) < n/5 {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.wait()
	moved := queueDepth(t, sqsSrv, queue)
	t.Logf("killed with %d of %d messages on SQS", moved, n)
	require.Less(t, moved, n, "killed before the end")

	code, out, errOut := runCLI(t, "bridge", "--from-subscription", from, "--to-topic", to, "--until-idle", "4s")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "bridge: forwarded ")
	t.Log(lastLine(out))

	// On SQS now: every message, plus the copies the restart forwarded
	// again (acked on B, not yet on A, when the bridge was killed).
	onSQS := queueDepth(t, sqsSrv, queue)
	require.GreaterOrEqual(t, onSQS, n)
	t.Logf("%d messages on SQS: %d copies from the restart", onSQS, onSQS-n)

	// A consumer reading through Dedup sees every message exactly once;
	// the copies are counted, not delivered.
	sub, err = pubsub.OpenSubscription(testenv.Context(t), sqsSrv.SubscriptionURL(queue))
	require.NoError(t, err)
	deduped := dedup.Wrap(sub, nil)
	var st *dedup.Stats
	require.True(t, deduped.As(&st))
	// A long idle wait: under a loaded CI machine, fauxqs can pause for
	// seconds between batches, and a drain that stops early looks like loss.
	seen := drainSub(t, deduped, 10*time.Second)
	for i := range n {
		require.Equal(t, 1, seen[strconv.Itoa(i)], "message %d delivered %d times", i, seen[strconv.Itoa(i)])
	}
	assert.Len(t, seen, n)
	assert.Equal(t, int64(onSQS-n), st.Duplicates(), "every copy counted as a duplicate")
}

func queueDepth(t *testing.T, s testenv.SQS, queue string) int {
	out, err := s.Client().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	require.NoError(t, err)
	d, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	require.NoError(t, err)
	return d
}

// A destination that refuses makes the bridge exit 1, and the refused
// message is still on the source for the next run.
func TestBridgeDestinationRefusesExit1(t *testing.T) {
	ctx := testenv.Context(t)
	nats := testenv.NATS(t)
	topicURL, src, _ := nats.NewQueue("cprefuse")
	publishResults(t, topicURL, 1)
	sub, err := pubsub.OpenSubscription(ctx, src+"?create=true&ack_wait=1s")
	require.NoError(t, err)
	require.NoError(t, shutdown.Subscription(context.Background(), sub))

	missing := "jetstream://" + nats.StreamName("nostream") + "/" + nats.Subject("x")
	code, out, errOut := runCLI(t, "bridge", "--from-subscription", src, "--to-topic", missing, "--until-idle", "1s")
	assert.Equal(t, exitProblem, code, out+errOut)
	assert.Contains(t, out, "forwarded 0 messages (0 bytes)")
	// A nacked message is redelivered at once, so within --until-idle the
	// bridge may try (and count) it more than once: refused counts attempts.
	counted := regexp.MustCompile(`refused (\d+)`).FindStringSubmatch(out)
	require.NotNil(t, counted, out)
	refused, _ := strconv.Atoi(counted[1])
	assert.GreaterOrEqual(t, refused, 1, out)
	assert.Contains(t, errOut, "not found")

	// mem:// topics live in this process, which runCLI shares.
	dst := "mem://bridge-ok-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	dtopic, err := pubsub.OpenTopic(ctx, dst)
	require.NoError(t, err)
	defer shutdown.Topic(context.Background(), dtopic)
	dsub, err := pubsub.OpenSubscription(ctx, dst)
	require.NoError(t, err)
	defer shutdown.Subscription(context.Background(), dsub)
	code, out, errOut = runCLI(t, "bridge", "--from-subscription", src, "--to-topic", dst, "--until-idle", "3s")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "forwarded 1 messages")
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := dsub.Receive(rctx)
	require.NoError(t, err)
	m.Ack()
	assert.Equal(t, `{"precinct":0,"votes":1000}`, string(m.Body))
}

func TestBridgeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bridge"}, "--from-subscription and --to-topic are both required"},
		{[]string{"bridge", "--from-subscription", "mem://a"}, "--from-subscription and --to-topic are both required"},
		{[]string{"bridge", "--from-subscription", "kafka://a", "--to-topic", "mem://b"}, `--from-subscription: open subscription kafka://a: unknown subscription scheme "kafka"`},
		{[]string{"bridge", "--from-subscription", "mem://a", "--to-topic", "mem://b", "--until-idle", "-1s"}, "--until-idle -1s"},
		{[]string{"bridge", "--from-subscription", "mem://a", "--to-topic", "mem://b", "--workers", "0"}, "--workers 0"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

// A source the bridge cannot read from is exit 2 with the failure in words:
// here AWS finds no credentials (the endpoint is a closed local port, so
// nothing would leave the machine even if it did).
func TestBridgeSourceWithoutCredentials(t *testing.T) {
	testenv.NoAWSCredentials(t)
	code, _, errOut := runCLI(t, "bridge",
		"--from-subscription", "awssqs://sqs.us-east-1.amazonaws.com/123456789012/results?region=us-east-1&endpoint=http://127.0.0.1:1",
		"--to-topic", "mem://bridge-nocreds", "--until-idle", "5s")
	assert.Equal(t, exitUsage, code, errOut)
	assert.Contains(t, errOut, "--from-subscription: no credentials found (AWS: set AWS_ACCESS_KEY_ID")
}

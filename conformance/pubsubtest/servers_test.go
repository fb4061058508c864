package pubsubtest

// The suite against every real pubsub backend civicport tests (the servers
// scripts/test-services.sh starts, and the in-process Pub/Sub fake), each
// set up the way a user would give it to `civicport conform`: one durable
// subscription for every check, and, where the backend has one, a
// dead-letter queue, so that pubsub.dead_letter is really measured. mem://
// and NATS JetStream are in pubsubtest_test.go (TestMem, TestJetStream).
//
// Each test asserts the whole matrix it expects and logs it as MATRIX lines
// (scripts/capabilities.sh turns them into docs/capabilities.md). A result
// that differs from real cloud behaviour only because of a test server is a
// known difference (main_test.go): left out of Test and asserted by its own
// test in differences_test.go.

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	pubsubapi "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// Delivery limits the servers are configured with. Pub/Sub's minimum is 5.
const (
	sqsMaxReceives    = 3
	rabbitMaxDelivers = 3
	gcpMaxDeliveries  = 5
)

// sqsVisibility is the visibility timeout of the SQS test queues, short so
// that pubsub.ack_deadline and pubsub.receiver_crash take seconds.
const sqsVisibility = 2 * time.Second

// expectMatrix runs the suite with Test, logs the matrix as name and
// asserts want for every capability that ran (known differences do not).
// observed, as an expectation, accepts pass or unsupported: for what a
// backend does not promise but may happen to do in one run (a standard
// queue that delivered 200 messages in order).
const observed conformance.Status = ""

func expectMatrix(t *testing.T, name string, open Opener, o *Options, want map[string]conformance.Status) []conformance.Result {
	t.Helper()
	start := time.Now()
	res := Test(t, open, o)
	t.Logf("%s: whole suite in %v", name, time.Since(start).Round(time.Millisecond))
	logMatrix(t, name, res)
	for _, r := range res {
		w, ok := want[r.Capability]
		switch {
		case !assert.True(t, ok, "no expectation for %s", r.Capability):
		case w == observed:
			assert.Contains(t, []conformance.Status{conformance.Pass, conformance.Unsupported}, r.Status, "%s", r)
		default:
			assert.Equal(t, w, r.Status, "%s", r)
		}
	}
	return res
}

// --- SQS and SNS -> SQS (fauxqs) ---

// newSQSQueue creates a standard queue with the given attributes, deleted
// when t ends, and returns its queue URL.
func newSQSQueue(t *testing.T, s testenv.SQS, attrs map[string]string) string {
	t.Helper()
	c := s.Client()
	name := testenv.UniqueName("cp-conf-q")
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	require.NoError(t, err, "fauxqs CreateQueue %s", name)
	q := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q)}); err != nil {
			t.Logf("cleanup: delete queue %s: %v", q, err)
		}
	})
	return q
}

func sqsQueueARN(t *testing.T, s testenv.SQS, q string) string {
	t.Helper()
	out, err := s.Client().GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	require.NoError(t, err)
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	require.NotEmpty(t, arn, "queue %s has no QueueArn", q)
	return arn
}

// newSQSWithDLQ creates a dead-letter queue and a queue that redrives to it
// after sqsMaxReceives receives, both with the short visibility timeout, and
// returns their queue URLs.
func newSQSWithDLQ(t *testing.T, s testenv.SQS) (queue, dlq string) {
	t.Helper()
	vis := strconv.Itoa(int(sqsVisibility / time.Second))
	dlq = newSQSQueue(t, s, map[string]string{"VisibilityTimeout": vis})
	policy, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": sqsQueueARN(t, s, dlq),
		"maxReceiveCount":     strconv.Itoa(sqsMaxReceives),
	})
	require.NoError(t, err)
	queue = newSQSQueue(t, s, map[string]string{"VisibilityTimeout": vis, "RedrivePolicy": string(policy)})
	return queue, dlq
}

// sqsOptions: the queues' visibility timeout is 2 s. ReceiveTimeout stays
// at its default (30 s): it only lengthens a failing check, and under the
// race detector on two cores fauxqs has taken over 10 s to answer one
// SendMessageBatch of pubsub.at_least_once's 1,000 sends.
func sqsOptions() *Options {
	return &Options{AckDeadline: 10 * time.Second}
}

// sqsWant is what SQS (fauxqs) measures, with or without SNS in front.
var sqsWant = matrix(observed, conformance.Pass) // a standard queue does not promise order; fauxqs often keeps it

// Messages sent straight to an SQS queue (awssqs:// as the topic too), with
// a redrive policy to a dead-letter queue.
func TestServerSQS(t *testing.T) {
	t.Parallel()
	s := testenv.Fauxqs(t)
	q, dlq := newSQSWithDLQ(t, s)
	open := URLPair{
		Topic:         s.TopicURLForQueue(q),
		Subscription:  s.SubscriptionURL(q),
		DeadLetter:    s.SubscriptionURL(dlq),
		MaxDeliveries: sqsMaxReceives,
	}.Opener()
	expectMatrix(t, "sqs", open, sqsOptions(), sqsWant)
}

// An SNS topic delivering raw messages to an SQS queue with a redrive
// policy.
func TestServerSNSToSQS(t *testing.T) {
	t.Parallel()
	s := testenv.Fauxqs(t)
	q, dlq := newSQSWithDLQ(t, s)
	open := URLPair{
		Topic:         s.NewSNSTopic(t, q),
		Subscription:  s.SubscriptionURL(q),
		DeadLetter:    s.SubscriptionURL(dlq),
		MaxDeliveries: sqsMaxReceives,
	}.Opener()
	expectMatrix(t, "sns → sqs", open, sqsOptions(), sqsWant)
}

// --- RabbitMQ ---

// rabbitSetup is one exchange -> quorum queue with a dead-letter exchange
// and its queue.
type rabbitSetup struct{ exchange, queue, dlx, dlq string }

// declareRabbit declares a fanout exchange and a quorum queue bound to it
// that dead-letters, after rabbitMaxDelivers deliveries (x-delivery-limit
// counts every requeue, including gocloud's Nack, beyond the first
// delivery), to a fanout dead-letter exchange with its own queue.
func declareRabbit(r testenv.Rabbit) (rabbitSetup, error) {
	rs := rabbitSetup{
		exchange: testenv.UniqueName("cp-conf-ex"), queue: testenv.UniqueName("cp-conf-q"),
		dlx: testenv.UniqueName("cp-conf-dlx"), dlq: testenv.UniqueName("cp-conf-dlq"),
	}
	conn, err := amqp.Dial(r.URL)
	if err != nil {
		return rs, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return rs, err
	}
	defer ch.Close()
	for _, ex := range []string{rs.exchange, rs.dlx} {
		if err := ch.ExchangeDeclare(ex, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return rs, err
		}
	}
	if _, err := ch.QueueDeclare(rs.dlq, true, false, false, false, nil); err != nil {
		return rs, err
	}
	if _, err := ch.QueueDeclare(rs.queue, true, false, false, false, amqp.Table{
		"x-queue-type":           "quorum",
		"x-delivery-limit":       int32(rabbitMaxDelivers - 1),
		"x-dead-letter-exchange": rs.dlx,
	}); err != nil {
		return rs, err
	}
	if err := ch.QueueBind(rs.queue, "", rs.exchange, false, nil); err != nil {
		return rs, err
	}
	return rs, ch.QueueBind(rs.dlq, "", rs.dlx, false, nil)
}

// delete removes everything declareRabbit declared (deleting a queue also
// cancels consumers left on it).
func (rs rabbitSetup) delete(r testenv.Rabbit) error {
	conn, err := amqp.Dial(r.URL)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, q := range []string{rs.queue, rs.dlq} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return err
		}
	}
	for _, ex := range []string{rs.exchange, rs.dlx} {
		if err := ch.ExchangeDelete(ex, false, false); err != nil {
			return err
		}
	}
	return nil
}

// rabbitOpener declares a fresh exchange and queues for every check and
// deletes them in Pair.Close. A fresh queue per check is needed because
// gocloud's rabbitpubsub cannot let go of a queue within a process: its
// Subscription.Shutdown (driver Close) is a no-op, so the consumer stays
// registered on the process's shared connection, and RabbitMQ keeps
// handing it messages (round-robin with any later consumer) that nobody
// reads and that stay unacked until the connection closes. On a shared
// queue every check after the first would lose messages to the consumers of
// earlier checks (see TestRabbitMQShutdownKeepsConsumer).
func rabbitOpener(t *testing.T, r testenv.Rabbit) Opener {
	return func(ctx context.Context) (*Pair, error) {
		rs, err := declareRabbit(r)
		if err != nil {
			return nil, err
		}
		pair, err := URLPair{
			Topic:         r.TopicURL(rs.exchange),
			Subscription:  r.SubscriptionURL(rs.queue),
			DeadLetter:    r.SubscriptionURL(rs.dlq),
			MaxDeliveries: rabbitMaxDelivers,
		}.Opener()(ctx)
		if err != nil {
			_ = rs.delete(r)
			return nil, err
		}
		closeTopic := pair.Close
		pair.Close = func() {
			closeTopic()
			if err := rs.delete(r); err != nil {
				t.Logf("cleanup: RabbitMQ: %v", err)
			}
		}
		return pair, nil
	}
}

// rabbitAckDeadline: RabbitMQ has no ack deadline (see knownDifferences);
// the wait is kept short.
const rabbitAckDeadline = 5 * time.Second

func rabbitOptions() *Options {
	return &Options{AckDeadline: rabbitAckDeadline, ReceiveTimeout: 10 * time.Second}
}

// A fanout exchange and a quorum queue with a dead-letter exchange, fresh
// for every check (rabbitOpener). pubsub.ack_deadline fails on RabbitMQ,
// which has no ack deadline: a known difference, asserted in
// differences_test.go. (pubsub.receiver_crash passes because civicport
// gives each rabbit:// subscription its own connection; see pubsub.)
func TestServerRabbitMQ(t *testing.T) {
	t.Parallel()
	r := testenv.RabbitMQ(t)
	expectMatrix(t, "rabbit", rabbitOpener(t, r), rabbitOptions(), map[string]conformance.Status{
		conformance.PubSubAtLeastOnce:    conformance.Pass,
		conformance.PubSubNackRedelivery: conformance.Pass,
		conformance.PubSubReceiverCrash:  conformance.Pass,
		conformance.PubSubMetadata:       conformance.Pass,
		conformance.PubSubLargeMessage:   conformance.Pass,
		conformance.PubSubOrdering:       conformance.Pass,
		conformance.PubSubDeadLetter:     conformance.Pass,
	})
}

// --- Google Cloud Pub/Sub (pstest, in-process) ---

// gcpPair creates, on the in-process Pub/Sub fake, a topic and a
// subscription (ack deadline 10 s, the minimum) with a dead-letter policy to
// a second topic that has its own subscription, all deleted when t ends,
// and returns the gcppubsub:// URLs.
func gcpPair(t *testing.T) URLPair {
	t.Helper()
	p := testenv.PubSubFake(t)
	conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ctx := context.Background()
	topics, err := pubsubapi.NewTopicAdminClient(ctx, option.WithGRPCConn(conn))
	require.NoError(t, err)
	subs, err := pubsubapi.NewSubscriptionAdminClient(ctx, option.WithGRPCConn(conn))
	require.NoError(t, err)
	project := "projects/" + testenv.UniqueName("cp-conf-proj")
	name := func(kind, prefix string) string { return project + "/" + kind + "/" + testenv.UniqueName(prefix) }
	topic, dlTopic := name("topics", "cp-conf-topic"), name("topics", "cp-conf-dl")
	sub, dlSub := name("subscriptions", "cp-conf-sub"), name("subscriptions", "cp-conf-dlsub")
	for _, tp := range []string{topic, dlTopic} {
		_, err := topics.CreateTopic(ctx, &pubsubpb.Topic{Name: tp})
		require.NoError(t, err, "create topic %s", tp)
		t.Cleanup(func() { _ = topics.DeleteTopic(context.Background(), &pubsubpb.DeleteTopicRequest{Topic: tp}) })
	}
	for _, s := range []*pubsubpb.Subscription{
		{Name: dlSub, Topic: dlTopic, AckDeadlineSeconds: 10},
		{Name: sub, Topic: topic, AckDeadlineSeconds: 10, DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{
			DeadLetterTopic: dlTopic, MaxDeliveryAttempts: gcpMaxDeliveries,
		}},
	} {
		_, err := subs.CreateSubscription(ctx, s)
		require.NoError(t, err, "create subscription %s", s.Name)
		t.Cleanup(func() {
			_ = subs.DeleteSubscription(context.Background(), &pubsubpb.DeleteSubscriptionRequest{Subscription: s.Name})
		})
	}
	return URLPair{
		Topic:         "gcppubsub://" + topic,
		Subscription:  "gcppubsub://" + sub,
		DeadLetter:    "gcppubsub://" + dlSub,
		MaxDeliveries: gcpMaxDeliveries,
	}
}

// gcpOptions: the subscription's ack deadline is 10 s. Bodies up to 2 MiB:
// pstest (a gRPC server with the default 4 MiB receive limit) does not
// refuse a 4 MiB publish, gocloud's send just does not finish (until
// ReceiveTimeout, and shutting the topic down then waits 30 s more); real
// Pub/Sub takes 10 MB. ReceiveTimeout 30 s: the in-process fake shares the
// test process's two cores with every parallel test, and once took over 10 s
// to hand out a first delivery (scripts/capabilities.sh on a busy machine).
func gcpOptions() *Options {
	return &Options{AckDeadline: 25 * time.Second, ReceiveTimeout: 30 * time.Second, LargeMessageMax: 2 << 20}
}

// A topic and subscription with a dead-letter policy on the in-process
// Pub/Sub fake, through gocloud's gcppubsub driver.
func TestServerGCPPubSub(t *testing.T) {
	t.Parallel()
	open := gcpPair(t).Opener()
	expectMatrix(t, "gcppubsub (pstest)", open, gcpOptions(), matrix(conformance.Unsupported, conformance.Pass))
}

package testenv

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS is the fauxqs test server: the AWS SQS and SNS APIs on one port.
//
// fauxqs names its queues http://sqs.REGION.localhost:PORT/000000000000/NAME,
// but gocloud's awssqs:// URLs always send the queue URL as https://...;
// scripts/test-services.sh starts fauxqs through a launcher that maps one to
// the other (and falls back to the queue name), so the URLs below work.
// Use a fresh queue per subscription: a cancelled long poll can hide the next
// message for the visibility timeout (the URLs here do not long-poll).
type SQS struct {
	Host   string // host:port, e.g. 127.0.0.1:4566
	Region string
}

// Fauxqs returns the fauxqs test server (FAUXQS_HOST, default
// 127.0.0.1:4566), skipping t (or failing it when services are required) if
// it is not running. It also sets static AWS test credentials and disables
// the cloud metadata endpoint for the process.
func Fauxqs(t testing.TB) SQS {
	t.Helper()
	s := SQS{Host: serviceHost(t, "fauxqs (SQS/SNS)", "FAUXQS_HOST", "127.0.0.1:4566", probePath("/health")), Region: DefaultRegion}
	ensureAWSEnv()
	return s
}

// Endpoint is the server's base URL.
func (s SQS) Endpoint() string { return "http://" + s.Host }

// awsConfig points an AWS SDK client at a test server in region, with
// static test credentials (it never asks a metadata endpoint).
func awsConfig(region, endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(DefaultAccessKey, DefaultSecretKey, ""),
	}
}

// Client returns an AWS SDK SQS client for the server, with static test
// credentials (it never asks a metadata endpoint).
func (s SQS) Client() *sqs.Client {
	ensureAWSEnv()
	return sqs.NewFromConfig(awsConfig(s.Region, s.Endpoint()))
}

// SNSClient returns an AWS SDK SNS client for the server, with static test
// credentials.
func (s SQS) SNSClient() *sns.Client {
	ensureAWSEnv()
	return sns.NewFromConfig(awsConfig(s.Region, s.Endpoint()))
}

// NewQueue creates a standard queue with a unique name, deleted when t ends,
// and returns its queue URL as the server reports it
// (http://sqs.us-east-1.localhost:4566/000000000000/NAME).
func (s SQS) NewQueue(t testing.TB) string {
	t.Helper()
	name := UniqueName("cp-q")
	c := s.Client()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("fauxqs CreateQueue %s at %s: %v", name, s.Host, err)
	}
	qURL := aws.ToString(out.QueueUrl)
	cleanupLogged(t, "delete queue "+qURL, func(ctx context.Context) error {
		_, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(qURL)})
		return err
	})
	return qURL
}

// query is the part of every awssqs:// and awssns:// URL that points the
// AWS SDK at this server.
func (s SQS) query() string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint())
	q.Set("region", s.Region)
	return q.Encode()
}

// awssqsURL turns a queue URL (http://HOST/ACCOUNT/NAME) into a gocloud
// awssqs://HOST/ACCOUNT/NAME URL; gocloud prefixes host+path with https://
// to get the queue URL back, and sends every request to the endpoint.
func (s SQS) awssqsURL(queueURL string) string {
	rest := queueURL
	for _, p := range []string{"http://", "https://"} {
		rest = strings.TrimPrefix(rest, p)
	}
	return "awssqs://" + rest + "?" + s.query()
}

// SubscriptionURL is the gocloud awssqs:// URL that opens queueURL (from
// NewQueue) as a pubsub.Subscription. It receives both messages sent straight
// to the queue (TopicURLForQueue) and raw deliveries from an SNS topic
// (NewSNSTopic), body and metadata intact.
func (s SQS) SubscriptionURL(queueURL string) string { return s.awssqsURL(queueURL) }

// TopicURLForQueue is the gocloud awssqs:// URL that opens queueURL as a
// pubsub.Topic: messages are sent straight to the queue (no SNS).
func (s SQS) TopicURLForQueue(queueURL string) string { return s.awssqsURL(queueURL) }

// NewSNSTopic creates an SNS topic with a unique name, subscribes queueURL to
// it with raw message delivery (the SQS message carries the published body
// and message attributes as they were, so gocloud's subscription reads them
// unchanged), removes both when t ends, and returns the topic's gocloud
// awssns:/// URL.
func (s SQS) NewSNSTopic(t testing.TB, queueURL string) string {
	t.Helper()
	ctx := context.Background()
	attrs, err := s.Client().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("fauxqs GetQueueAttributes %s: %v", queueURL, err)
	}
	queueARN := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if queueARN == "" {
		t.Fatalf("fauxqs GetQueueAttributes %s: no QueueArn", queueURL)
	}
	c := s.SNSClient()
	name := UniqueName("cp-topic")
	top, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("fauxqs SNS CreateTopic %s at %s: %v", name, s.Host, err)
	}
	topicARN := aws.ToString(top.TopicArn)
	cleanupLogged(t, "delete SNS topic "+topicARN, func(ctx context.Context) error {
		_, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN)})
		return err
	})
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              aws.String(topicARN),
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(queueARN),
		Attributes:            map[string]string{"RawMessageDelivery": "true"},
		ReturnSubscriptionArn: true,
	})
	if err != nil {
		t.Fatalf("fauxqs SNS Subscribe %s -> %s: %v", topicARN, queueARN, err)
	}
	subARN := aws.ToString(sub.SubscriptionArn)
	cleanupLogged(t, "unsubscribe "+subARN, func(ctx context.Context) error {
		_, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(subARN)})
		return err
	})
	// ARNs contain ':', so the ARN goes in the path with an empty host.
	return "awssns:///" + topicARN + "?" + s.query()
}

package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	pubsubapi "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// PubSub is an in-process fake of Google Cloud Pub/Sub
// (cloud.google.com/go/pubsub/v2/pstest), serving gRPC on 127.0.0.1. It needs
// no external service, so it never skips.
//
// gocloud's gcppubsub (and gcppubsubv2) default URL opener reads
// PUBSUB_EMULATOR_HOST once per process (sync.Once) when it opens its first
// gcppubsub:// URL, and keeps that connection. A per-test server or
// t.Setenv would therefore only work for the first test. Instead one fake
// server is started lazily for the whole test process and
// PUBSUB_EMULATOR_HOST is pointed at it (overriding any earlier value) before
// any gcppubsub:// URL can be opened through PubSubFake; every test gets its
// own uniquely named project, topic and subscription. A test process that
// uses PubSubFake must not open gcppubsub:// URLs against another server
// before calling it. The server lives until the process exits.
type PubSub struct {
	Addr string // host:port of the fake's gRPC server (= PUBSUB_EMULATOR_HOST)
}

var (
	pstestOnce   sync.Once
	pstestSrv    *pstest.Server
	pstestTopics *pubsubapi.TopicAdminClient
	pstestSubs   *pubsubapi.SubscriptionAdminClient
	pstestErr    error
)

func startPubSubFake() {
	pstestSrv = pstest.NewServerWithAddress("127.0.0.1:0")
	os.Setenv("PUBSUB_EMULATOR_HOST", pstestSrv.Addr)
	conn, err := grpc.NewClient(pstestSrv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		pstestErr = fmt.Errorf("dial pstest at %s: %w", pstestSrv.Addr, err)
		return
	}
	ctx := context.Background()
	if pstestTopics, err = pubsubapi.NewTopicAdminClient(ctx, option.WithGRPCConn(conn)); err != nil {
		pstestErr = fmt.Errorf("pstest topic admin client: %w", err)
		return
	}
	if pstestSubs, err = pubsubapi.NewSubscriptionAdminClient(ctx, option.WithGRPCConn(conn)); err != nil {
		pstestErr = fmt.Errorf("pstest subscription admin client: %w", err)
	}
}

// PubSubFake returns the process-wide in-process Pub/Sub fake, starting it
// (and setting PUBSUB_EMULATOR_HOST to it) on first use.
func PubSubFake(t testing.TB) PubSub {
	t.Helper()
	pstestOnce.Do(startPubSubFake)
	if pstestErr != nil {
		t.Fatalf("Pub/Sub fake: %v", pstestErr)
	}
	return PubSub{Addr: pstestSrv.Addr}
}

// Server is the underlying pstest server (to inspect published messages).
func (PubSub) Server() *pstest.Server { return pstestSrv }

// NewTopicAndSubscription creates a topic and a subscription to it in a fresh
// project, deletes both when t ends, and returns their gocloud URLs in the
// long form gcppubsub://projects/P/topics/T and
// gcppubsub://projects/P/subscriptions/S (gocloud.dev/pubsub/gcppubsub; with
// gcppubsubv2 in gocloud v0.47.0 the long form publishes to a wrong topic
// name, only its short form gcppubsubv2://P/T works).
func (p PubSub) NewTopicAndSubscription(t testing.TB) (topicURL, subURL string) {
	t.Helper()
	ctx := context.Background()
	project := UniqueName("cp-proj")
	topic := "projects/" + project + "/topics/" + UniqueName("cp-topic")
	sub := "projects/" + project + "/subscriptions/" + UniqueName("cp-sub")
	if _, err := pstestTopics.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("Pub/Sub fake: create topic %s: %v", topic, err)
	}
	cleanupLogged(t, "delete topic "+topic, func(ctx context.Context) error {
		return pstestTopics.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: topic})
	})
	if _, err := pstestSubs.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: topic, AckDeadlineSeconds: 10,
	}); err != nil {
		t.Fatalf("Pub/Sub fake: create subscription %s: %v", sub, err)
	}
	cleanupLogged(t, "delete subscription "+sub, func(ctx context.Context) error {
		return pstestSubs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub})
	})
	return "gcppubsub://" + topic, "gcppubsub://" + sub
}

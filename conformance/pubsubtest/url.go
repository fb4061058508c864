package pubsubtest

import (
	"context"
	"net/url"
	"strings"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// URLPair names a topic and its subscription (and, optionally, the
// subscription of its dead-letter queue) by URL, for civicport's
// pubsub.OpenTopic and pubsub.OpenSubscription.
type URLPair struct {
	Topic        string // e.g. awssqs://... , jetstream://STREAM/SUBJECT
	Subscription string // must be durable: opening it again reaches the same queue
	// DeadLetter and MaxDeliveries set Pair.DeadLetter and
	// Pair.MaxDeliveries; empty DeadLetter makes pubsub.dead_letter
	// unsupported.
	DeadLetter    string
	MaxDeliveries int
}

// URLOpener returns an Opener that opens topicURL and subURL on every call:
// the same configured pair for every check, as `civicport conform --topic
// URL --subscription URL` uses it. See URLPair.Opener.
func URLOpener(topicURL, subURL string) Opener {
	return URLPair{Topic: topicURL, Subscription: subURL}.Opener()
}

// Opener returns an Opener that opens p's URLs on every call. Pair.Close
// shuts the topic down.
//
// mem:// is special: mempubsub keeps topics for the life of the process and
// every opening of a mem:// subscription URL makes a NEW subscription that
// only sees later messages. So for mem:// the topic is not shut down (a
// later check opening the same URL would get the shut-down topic), and the
// subscription is opened once per call of the Opener; Pair.Subscribe hands
// out new receivers on it (a receiver that is shut down leaves its unacked
// messages to come back after the URL's ackdeadline, as on a durable
// backend).
func (p URLPair) Opener() Opener {
	return func(ctx context.Context) (*Pair, error) {
		topic, err := pubsub.OpenTopic(ctx, p.Topic)
		if err != nil {
			return nil, err
		}
		memTopic := isMem(p.Topic)
		closeTopic := func() {
			if !memTopic {
				_ = shutdownTopic(ctx, topic)
			}
		}
		pair := &Pair{Topic: topic, MaxDeliveries: p.MaxDeliveries, Close: closeTopic}
		if isMem(p.Subscription) {
			inner, err := pubsub.OpenSubscription(ctx, p.Subscription)
			if err != nil {
				closeTopic()
				return nil, err
			}
			d := driveradapter.Subscription(inner)
			pair.Subscribe = func(context.Context) (*gcpubsub.Subscription, error) {
				return gcpubsub.NewSubscription(keepOpen{d}, nil, nil), nil
			}
			pair.Close = func() {
				_ = shutdownSub(ctx, inner)
				closeTopic()
			}
		} else {
			pair.Subscribe = func(ctx context.Context) (*gcpubsub.Subscription, error) {
				return pubsub.OpenSubscription(ctx, p.Subscription)
			}
		}
		if p.DeadLetter != "" {
			pair.DeadLetter = func(ctx context.Context) (*gcpubsub.Subscription, error) {
				return pubsub.OpenSubscription(ctx, p.DeadLetter)
			}
		}
		return pair, nil
	}
}

func isMem(u string) bool {
	pu, err := url.Parse(u)
	return err == nil && strings.EqualFold(pu.Scheme, "mem")
}

func shutdownTopic(ctx context.Context, t *gcpubsub.Topic) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return shutdown.Topic(sctx, t)
}

// keepOpen is a receiver on a shared subscription driver: closing it does
// not close the shared one.
type keepOpen struct{ driver.Subscription }

func (keepOpen) Close() error { return nil }

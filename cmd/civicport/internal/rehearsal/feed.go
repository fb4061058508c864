package rehearsal

import (
	"context"
	"errors"
	"fmt"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// feed is the open results feed of both providers. Subscriptions are opened
// before anything is published, so that in-process (mem://) topics, which
// deliver only to subscriptions that exist when a message is sent, work too.
type feed struct {
	topicA, topicB, quarantineB *gcpubsub.Topic
	subA, subB, quarantinedB    *gcpubsub.Subscription
}

func openFeed(ctx context.Context, a, b *Provider) (_ *feed, err error) {
	f := &feed{}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	topic := func(dst **gcpubsub.Topic, p *Provider, u, what string) error {
		t, err := pubsub.OpenTopic(ctx, u)
		if err != nil {
			return fmt.Errorf("%s %s: %w", p.Name, what, err)
		}
		*dst = t
		return nil
	}
	sub := func(dst **gcpubsub.Subscription, p *Provider, u, what string) error {
		s, err := pubsub.OpenSubscription(ctx, u)
		if err != nil {
			return fmt.Errorf("%s %s: %w", p.Name, what, err)
		}
		*dst = s
		return nil
	}
	for _, err := range []func() error{
		func() error { return topic(&f.topicA, a, a.TopicURL, "topic") },
		func() error { return sub(&f.subA, a, a.SubscriptionURL, "subscription") },
		func() error { return topic(&f.topicB, b, b.TopicURL, "topic") },
		func() error { return sub(&f.subB, b, b.SubscriptionURL, "subscription") },
		func() error { return topic(&f.quarantineB, b, b.QuarantineTopicURL, "quarantine topic") },
		func() error { return sub(&f.quarantinedB, b, b.QuarantineSubscriptionURL, "quarantine subscription") },
	} {
		if err := err(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *feed) close() error {
	ctx := context.Background()
	var errs []error
	for _, s := range []*gcpubsub.Subscription{f.subA, f.subB, f.quarantinedB} {
		if s != nil {
			errs = append(errs, shutdown.Subscription(ctx, s))
		}
	}
	for _, t := range []*gcpubsub.Topic{f.topicA, f.topicB, f.quarantineB} {
		if t != nil {
			errs = append(errs, shutdown.Topic(ctx, t))
		}
	}
	return errors.Join(errs...)
}

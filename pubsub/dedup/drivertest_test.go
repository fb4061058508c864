package dedup_test

import (
	"testing"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/drivertest"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/dedup"
)

func TestDrivertestDedup(t *testing.T) {
	decoratortest.RunPubSub(t,
		func(t *gcpubsub.Topic) *gcpubsub.Topic { return t },
		func(s *gcpubsub.Subscription) *gcpubsub.Subscription { return dedup.Wrap(s, nil) },
		[]drivertest.AsTest{decoratortest.StatsAs{Dedup: true}})
}

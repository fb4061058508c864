package fanout_test

import (
	"context"
	"fmt"
	"log"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/fanout"
	"github.com/civicport/civicport/pubsub/meta"
)

// Dual publishing while consumers move: the old provider stays the source of
// truth, a refusal by the new one is reported but does not fail the send.
func ExampleNew() {
	ctx := context.Background()
	oldTopic, _ := pubsub.OpenTopic(ctx, "mem://example-fanout-old")
	oldSub, _ := pubsub.OpenSubscription(ctx, "mem://example-fanout-old")
	defer oldSub.Shutdown(ctx)
	newTopic, _ := pubsub.OpenTopic(ctx, "mem://example-fanout-new")
	newSub, _ := pubsub.OpenSubscription(ctx, "mem://example-fanout-new")
	defer newSub.Shutdown(ctx)

	dual, err := fanout.New([]*gcpubsub.Topic{oldTopic, newTopic}, &fanout.Options{
		Policy:  fanout.RequirePrimary,
		Names:   []string{"old provider", "new provider"},
		OnError: func(i int, err error) { log.Printf("topic %d refused: %v", i, err) },
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := dual.Send(ctx, &gcpubsub.Message{Body: []byte("precinct 0042: 312 votes")}); err != nil {
		log.Fatal(err)
	}
	a, _ := oldSub.Receive(ctx)
	b, _ := newSub.Receive(ctx)
	a.Ack()
	b.Ack()
	fmt.Println(string(a.Body), "|", string(b.Body))
	fmt.Println("same id on both:", a.Metadata[meta.ID] == b.Metadata[meta.ID])
	// Output:
	// precinct 0042: 312 votes | precinct 0042: 312 votes
	// same id on both: true
}

package bridge_test

import (
	"context"
	"fmt"
	"log"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/meta"
)

// During a cutover, the old provider's queue is drained into the new one.
// Real programs open both ends by URL (awssqs://, gcppubsub://, ...); the
// example uses in-process topics.
func ExampleRun() {
	ctx := context.Background()
	oldTopic, _ := pubsub.OpenTopic(ctx, "mem://example-bridge-old")
	oldSub, _ := pubsub.OpenSubscription(ctx, "mem://example-bridge-old")
	newTopic, _ := pubsub.OpenTopic(ctx, "mem://example-bridge-new")
	newSub, _ := pubsub.OpenSubscription(ctx, "mem://example-bridge-new")
	defer newSub.Shutdown(ctx)
	for _, p := range []string{"0001", "0002", "0003"} {
		if err := oldTopic.Send(ctx, &gcpubsub.Message{Body: []byte("precinct " + p)}); err != nil {
			log.Fatal(err)
		}
	}

	st, err := bridge.Run(ctx, oldSub, newTopic, &bridge.Options{UntilIdle: 200 * time.Millisecond, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	oldSub.Shutdown(ctx) // sends the last acks to the old provider
	fmt.Printf("forwarded %d messages\n", st.Forwarded)
	for range st.Forwarded {
		m, err := newSub.Receive(ctx)
		if err != nil {
			log.Fatal(err)
		}
		m.Ack()
		fmt.Println(string(m.Body), "has an id:", m.Metadata[meta.ID] != "")
	}
	// Unordered output:
	// forwarded 3 messages
	// precinct 0001 has an id: true
	// precinct 0002 has an id: true
	// precinct 0003 has an id: true
}

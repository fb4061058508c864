package jetstream_test

import (
	"context"
	"fmt"
	"log"

	_ "github.com/civicport/civicport/adapters/jetstream" // registers jetstream://
	"github.com/civicport/civicport/pubsub/shutdown"
	"gocloud.dev/pubsub"
)

// Publish a message to a JetStream stream and receive it at least once
// through a durable consumer. The server comes from NATS_SERVER_URL, e.g.
// nats://127.0.0.1:4222. create=true makes the stream and the consumer if they
// are missing (for tests and first deployments).
func Example() {
	ctx := context.Background()

	topic, err := pubsub.OpenTopic(ctx, "jetstream://ELECTION/election.results?create=true")
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown.Topic(ctx, topic)

	// Send returns once JetStream has stored the message.
	err = topic.Send(ctx, &pubsub.Message{
		Body:     []byte(`{"precinct":"12-A","ballots":1042}`),
		Metadata: map[string]string{"county": "Île-de-France", "Nats-Msg-Id": "12-A/final"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// A durable consumer: a message not acked within ack_wait is delivered again.
	sub, err := pubsub.OpenSubscription(ctx,
		"jetstream://ELECTION/tally?create=true&filter_subject=election.results&ack_wait=30s")
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown.Subscription(ctx, sub)

	msg, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s from %s\n", msg.Body, msg.Metadata["county"])
	msg.Ack() // after the tally is stored; Nack() to have it redelivered
}

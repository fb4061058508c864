package shutdown_test

import (
	"context"
	"fmt"
	"time"

	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/pubsub/shutdown"
)

func Example() {
	ctx := context.Background()
	topic, err := pubsub.OpenTopic(ctx, "mem://results")
	if err != nil {
		panic(err)
	}
	if err := topic.Send(ctx, &pubsub.Message{Body: []byte("precinct 0001")}); err != nil {
		panic(err)
	}
	// Where the code said topic.Shutdown(sctx):
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fmt.Println(shutdown.Topic(sctx, topic))
	// Output: <nil>
}

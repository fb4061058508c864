package dedup_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"gocloud.dev/blob/memblob"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
)

// A publisher retried: the same result arrives twice. Dedup delivers it
// once and counts the copy it dropped.
func ExampleWrap() {
	ctx := context.Background()
	topic := mempubsub.NewTopic()
	defer topic.Shutdown(ctx)
	sub := dedup.Wrap(mempubsub.NewSubscription(topic, time.Minute), &dedup.Options{
		OnDuplicate: func(key string) { fmt.Println("dropped duplicate", key) },
	})
	defer sub.Shutdown(ctx)

	for range 2 {
		err := topic.Send(ctx, &gcpubsub.Message{
			Body:     []byte("precinct 12: 340 ballots"),
			Metadata: map[string]string{meta.ID: "result-12"},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := sub.Receive(rctx)
		cancel()
		if err != nil {
			break // idle
		}
		fmt.Printf("received %q\n", m.Body)
		m.Ack()
	}
	var st *dedup.Stats
	if sub.As(&st) {
		fmt.Println("delivered", st.Delivered(), "duplicates", st.Duplicates())
	}
	// Output:
	// received "precinct 12: 340 ballots"
	// dropped duplicate id:result-12
	// delivered 1 duplicates 1
}

// Dedup's keys kept in a bucket survive a restart of the consumer; a
// nightly Prune keeps a window of time (here: what was added before now).
func ExampleBucketStore_Prune() {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil) // in production: the agency's bucket URL, opened with blob.Open
	defer bucket.Close()
	store := dedup.NewBucketStore(bucket, "dedup/results/")

	if err := store.Add(ctx, "id:result-12"); err != nil {
		log.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	n, err := store.Prune(ctx, time.Now()) // e.g. time.Now().AddDate(0, 0, -30)
	if err != nil {
		log.Fatal(err)
	}
	seen, err := store.Seen(ctx, "id:result-12")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pruned", n, "still seen:", seen)
	// Output:
	// pruned 1 still seen: false
}

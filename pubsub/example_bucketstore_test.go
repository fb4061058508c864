package pubsub_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/pubsub/dedup"
)

// Dedup's keys kept in a bucket survive a restart of the consumer; a
// nightly Prune keeps a window of time (here: what was added before now).
func Example_dedupPrune() {
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

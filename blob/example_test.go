package blob_test

import (
	"context"
	"fmt"
	"log"

	"github.com/civicport/civicport/blob"
)

// Open a bucket by URL; the provider is configuration. The same code runs
// against "s3://records?region=us-east-1" on AWS,
// "gs://records" on Google Cloud or
// "minio://10.0.0.5:9000/records?secure=false" on the office's own servers.
func ExampleOpen() {
	ctx := context.Background()
	b, err := blob.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := blob.Ping(ctx, b, "mem://"); err != nil {
		log.Fatal(err)
	}
	if err := b.WriteAll(ctx, "2026-general/precinct-0001.json", []byte(`{"ballots":412}`), nil); err != nil {
		log.Fatal(err)
	}
	data, err := b.ReadAll(ctx, "2026-general/precinct-0001.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
	// Output: {"ballots":412}
}

func ExampleOpen_badScheme() {
	_, err := blob.Open(context.Background(), "ftp://archive/ballots")
	fmt.Println(err != nil)
	// Output: true
}

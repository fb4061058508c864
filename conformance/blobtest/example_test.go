package blobtest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
)

// A user's own go test: measure the bucket their program really uses. Put a
// test like this one in a _test.go file of your module; each call of the
// opener hands the suite an isolated, empty prefix of the bucket.
func ExampleTest() {
	TestBallotBucketConformance := func(t *testing.T) {
		url := os.Getenv("BALLOTS_BUCKET_URL") // e.g. s3://ballots?region=us-east-1
		if url == "" {
			t.Skip("BALLOTS_BUCKET_URL not set")
		}
		open := func(ctx context.Context) (*blob.Bucket, error) {
			b, err := blob.OpenBucket(ctx, url)
			if err != nil {
				return nil, err
			}
			var r [8]byte
			_, _ = rand.Read(r[:])
			// PrefixedBucket takes over b; the suite closes what it gets.
			return blob.PrefixedBucket(b, "conformance/"+hex.EncodeToString(r[:])+"/"), nil
		}
		results := blobtest.Test(t, open, &blobtest.Options{
			LargeObjectSize: 32 << 20, // the default is 100 MiB
		})
		// Every capability ran as a subtest: a fail is a test error, an
		// unsupported or skipped capability a skip. The results can also
		// be kept, e.g. to require what the program depends on:
		if r, ok := conformance.Find(results, conformance.BlobConditionalWrite); ok && r.Status != conformance.Pass {
			t.Errorf("this program needs if-not-exists writes: %s", r)
		}
	}
	_ = TestBallotBucketConformance
}

// Without go test, e.g. in a tool: Run returns one result per capability.
func ExampleRun() {
	results := blobtest.Run(context.Background(),
		func(ctx context.Context) (*blob.Bucket, error) { return blob.OpenBucket(ctx, "mem://") },
		&blobtest.Options{Capabilities: []string{
			conformance.BlobReadWrite,
			conformance.BlobSignedURL,
			conformance.BlobLegalHold,
		}})
	for _, r := range results {
		fmt.Println(r.Capability, r.Status)
	}
	// Output:
	// blob.read_write pass
	// blob.legal_hold unsupported
	// blob.signed_url unsupported
}

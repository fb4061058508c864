package testenv

import (
	"context"
	"testing"

	gcblob "gocloud.dev/blob"
)

// Bucket opens url with open (civicport's blob.Open, passed in so that this
// package does not import the opener and every driver with it) and closes
// the bucket when the test ends; a failure to open fails the test.
func Bucket(t testing.TB, open func(context.Context, string) (*gcblob.Bucket, error), url string) *gcblob.Bucket {
	t.Helper()
	b, err := open(Context(t), url)
	if err != nil {
		t.Fatalf("open bucket %s: %v", url, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

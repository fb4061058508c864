package testenv

import (
	"context"
	"testing"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
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

// Backends are the buckets benchmarks measure a decorator on, by name: a
// local directory ("file") and MinIO ("minio", opened with open, civicport's
// blob.Open). The caller closes each bucket; MinIO's is skipped when the
// server is not running, as MinIO is.
func Backends(open func(context.Context, string) (*gcblob.Bucket, error)) map[string]func(testing.TB) *gcblob.Bucket {
	return map[string]func(testing.TB) *gcblob.Bucket{
		"file": func(t testing.TB) *gcblob.Bucket {
			b, err := fileblob.OpenBucket(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		"minio": func(t testing.TB) *gcblob.Bucket {
			s := MinIO(t)
			b, err := open(context.Background(), s.S3URL(s.NewBucket(t)))
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

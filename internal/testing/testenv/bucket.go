package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/civicport/civicport/internal/blobcopy"
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

// FileBucket makes a temporary directory holding n objects of size random
// bytes each, named like ballot scans ("ballots/box-NN/scan NNNNN.tif", in 7
// boxes, so that listings have prefixes and keys have spaces), and returns
// the directory and its file:// URL: a source bucket for copy tests.
func FileBucket(t testing.TB, n, size int) (dir, url string) {
	t.Helper()
	dir = t.TempDir()
	buf := make([]byte, size)
	for i := range n {
		_, _ = rand.Read(buf)
		p := filepath.Join(dir, "ballots", fmt.Sprintf("box-%02d", i%7), fmt.Sprintf("scan %05d.tif", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, "file://" + dir
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

// BenchWrite streams data to "obj" in 1 MiB writes, as a program copying a
// file would, with metadata md (nil for none).
func BenchWrite(ctx context.Context, bk *gcblob.Bucket, data []byte, md map[string]string) error {
	w, err := bk.NewWriter(ctx, "obj", &gcblob.WriterOptions{ContentType: "application/octet-stream", Metadata: md})
	if err != nil {
		return err
	}
	for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
		if _, err := w.Write(p[:min(len(p), 1<<20)]); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// BenchRead measures full reads of "obj" from bk, after writing data there
// in one write (blobcopy.Put); a short read or an error fails the benchmark.
func BenchRead(b *testing.B, bk *gcblob.Bucket, data []byte) {
	ctx := context.Background()
	if err := blobcopy.Put(ctx, bk, "obj", data, nil); err != nil {
		b.Fatal(err)
	}
	size := int64(len(data))
	b.SetBytes(size)
	for b.Loop() {
		r, err := bk.NewReader(ctx, "obj", nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != size {
			b.Fatal(n, err)
		}
		r.Close()
	}
}

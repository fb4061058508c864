package minio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/minio/minio-go/v7"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob"
)

// Benchmarks of one write and one read of the same object on the MinIO test
// server through raw minio-go, gocloud's s3blob and this adapter. Run with
//
//	go test ./adapters/minio -run '^$' -bench . -benchtime=20x -count=3
//
// Every path writes from memory without a Content-MD5 (NewWriter + Write,
// as blob.Bucket.Upload also does) and reads with the same 1 MiB buffer.
// On a shared machine prefer BenchmarkInterleaved, which compares the
// targets round by round.

var benchSizes = []int{64 << 10, 32 << 20}

type benchTarget struct {
	name  string
	write func(ctx context.Context, key string, data []byte) error
	read  func(ctx context.Context, key string) (io.ReadCloser, error)
}

func benchTargets(b *testing.B) []benchTarget {
	s := testenv.MinIO(b)
	bucket := s.NewBucket(b)
	client := s.Client(b)
	ctx := context.Background()

	adapter, err := OpenBucket(ctx, client, bucket, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { adapter.Close() })
	s3, err := blob.OpenBucket(ctx, s.S3URL(bucket))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s3.Close() })

	portable := func(name string, bkt *blob.Bucket) benchTarget {
		return benchTarget{
			name: name,
			write: func(ctx context.Context, key string, data []byte) error {
				w, err := bkt.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
				if err != nil {
					return err
				}
				if _, err := w.Write(data); err != nil {
					w.Close()
					return err
				}
				return w.Close()
			},
			read: func(ctx context.Context, key string) (io.ReadCloser, error) {
				return bkt.NewReader(ctx, key, nil)
			},
		}
	}
	targets := []benchTarget{
		{
			name: "minio-go",
			write: func(ctx context.Context, key string, data []byte) error {
				_, err := client.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				return err
			},
			read: func(ctx context.Context, key string) (io.ReadCloser, error) {
				return client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			},
		},
		portable("s3blob", s3),
		portable("adapter", adapter),
	}
	// Warm up connections and the new bucket, so that the first target
	// measured pays no more than the others.
	for _, tg := range targets {
		for range 3 {
			if err := tg.write(ctx, "warm-up", randomBytes(b, 64<<10)); err != nil {
				b.Fatal(err)
			}
			r, err := tg.read(ctx, "warm-up")
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, r)
			r.Close()
		}
	}
	return targets
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func BenchmarkWrite(b *testing.B) {
	targets := benchTargets(b)
	ctx := context.Background()
	for _, size := range benchSizes {
		data := randomBytes(b, size)
		for _, tg := range targets {
			b.Run(sizeName(size)+"/"+tg.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				key := "bench-write-" + tg.name
				for b.Loop() {
					if err := tg.write(ctx, key, data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	targets := benchTargets(b)
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	for _, size := range benchSizes {
		key := "bench-read-" + sizeName(size)
		if err := targets[0].write(ctx, key, randomBytes(b, size)); err != nil {
			b.Fatal(err)
		}
		for _, tg := range targets {
			b.Run(sizeName(size)+"/"+tg.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					r, err := tg.read(ctx, key)
					if err != nil {
						b.Fatal(err)
					}
					n, err := drain(r, buf)
					r.Close()
					if err != nil || n != int64(size) {
						b.Fatalf("read %d bytes, %v; want %d", n, err, size)
					}
				}
			})
		}
	}
}

// drain reads r to the end with buf, the same way for every target.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkInterleaved runs the targets one after the other in every round,
// starting with a different one each round, so that load from other
// processes hits them alike. It reports each target's median time per
// operation (ms) and its median ratio to minio-go over the rounds.
func BenchmarkInterleaved(b *testing.B) {
	targets := benchTargets(b)
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	for _, size := range benchSizes {
		data := randomBytes(b, size)
		key := "bench-interleaved-" + sizeName(size)
		if err := targets[0].write(ctx, key, data); err != nil {
			b.Fatal(err)
		}
		ops := map[string]func(benchTarget) error{
			"write": func(tg benchTarget) error { return tg.write(ctx, key+"-"+tg.name, data) },
			"read": func(tg benchTarget) error {
				r, err := tg.read(ctx, key)
				if err != nil {
					return err
				}
				defer r.Close()
				n, err := drain(r, buf)
				if err == nil && n != int64(size) {
					err = fmt.Errorf("read %d bytes, want %d", n, size)
				}
				return err
			},
		}
		for _, op := range []string{"write", "read"} {
			b.Run(op+"/"+sizeName(size), func(b *testing.B) {
				times := make([][]float64, len(targets))
				round := 0
				for b.Loop() {
					for k := range targets {
						i := (round + k) % len(targets)
						start := time.Now()
						if err := ops[op](targets[i]); err != nil {
							b.Fatal(err)
						}
						times[i] = append(times[i], float64(time.Since(start))/1e6)
					}
					round++
				}
				for i, tg := range targets {
					b.ReportMetric(median(times[i]), tg.name+"-ms")
					if i > 0 {
						ratios := make([]float64, len(times[i]))
						for j := range ratios {
							ratios[j] = times[i][j] / times[0][j]
						}
						b.ReportMetric(median(ratios), tg.name+"/minio-go")
					}
				}
			})
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

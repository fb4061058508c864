package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/blob/migrate"
)

// Benchmarks of the memory of --resume (100,000 entries) and verify
// --manifest (20,000 objects: each verified object costs a read) (not timed
// tests). During one operation, sampled every millisecond, above the level
// before it: peak-heap-MiB is the most heap in use (garbage included),
// peak-live-MiB the most heap the collector found live, which is what
// grows with the manifest.
//
//	go test ./blob/migrate/ -run '^$' -bench 'Manifest' -benchtime 1x
//
// CIVICPORT_BENCH_ENTRIES and CIVICPORT_BENCH_VERIFY_ENTRIES set other
// numbers.
var (
	benchEntries       = envInt("CIVICPORT_BENCH_ENTRIES", 100_000)
	benchVerifyEntries = envInt("CIVICPORT_BENCH_VERIFY_ENTRIES", 20_000)
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchManifest writes a manifest of n entries in completion order (not key
// order) with a line cut short at its end, as an interrupted run leaves it.
func benchManifest(b *testing.B, n int) string {
	b.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	r := rand.New(rand.NewPCG(5, 6))
	for _, i := range r.Perm(n) {
		e := migrate.Entry{Key: fmt.Sprintf("county/2024/ballots/%07d.tif", i), Size: int64(i), SHA256: fmt.Sprintf("%064x", i), ContentType: "image/tiff"}
		if err := enc.Encode(&e); err != nil {
			b.Fatal(err)
		}
	}
	buf.WriteString(`{"key":"county/2024/ballots/x","si`)
	path := filepath.Join(b.TempDir(), "manifest.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// peakHeap runs f and reports the peak of live heap above the level before.
func peakHeap(b *testing.B, f func()) {
	b.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peak [2]uint64
	read := func() {
		metrics.Read(sample)
		for i := range peak {
			peak[i] = max(peak[i], sample[i].Value.Uint64())
		}
	}
	runtime.GC()
	metrics.Read(sample)
	base := [2]uint64{sample[0].Value.Uint64(), sample[1].Value.Uint64()}
	peak = base
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	f()
	close(stop)
	<-done
	read()
	b.ReportMetric(float64(peak[0]-base[0])/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak[1]-base[1])/(1<<20), "peak-live-MiB")
}

// copyFile gives each iteration the interrupted manifest afresh.
func copyFile(b *testing.B, from string) string {
	b.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	to := filepath.Join(b.TempDir(), "m.jsonl")
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return to
}

// ResumeManifest: compaction (the cut line), then the map of every entry.
func BenchmarkResumeManifestMap(b *testing.B) {
	src := benchManifest(b, benchEntries)
	for b.Loop() {
		b.StopTimer()
		path := copyFile(b, src)
		b.StartTimer()
		peakHeap(b, func() {
			f, done, err := migrate.ResumeManifest(path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			if len(done) != benchEntries {
				b.Fatal(len(done))
			}
			runtime.KeepAlive(done)
		})
	}
}

// verify --manifest as it was: ReadManifest, then VerifyManifest.
func BenchmarkVerifyManifestSlice(b *testing.B) {
	ctx := context.Background()
	path, bucket := benchVerifySetup(b)
	for b.Loop() {
		peakHeap(b, func() {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			entries, err := migrate.ReadManifest(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			rep, err := migrate.VerifyManifest(ctx, bucket, entries, &migrate.VerifyOptions{Workers: 2})
			if err != nil || !rep.OK() {
				b.Fatal(err, rep)
			}
		})
	}
}

type memBucket = gcblob.Bucket

var (
	benchBucket = memblob.OpenBucket
	emptySum    = sha256.Sum256(nil)
)

// benchVerifySetup writes a compact manifest of benchEntries empty objects
// in completion order and a bucket that holds them.
func benchVerifySetup(b *testing.B) (string, *memBucket) {
	b.Helper()
	ctx := context.Background()
	bucket := benchBucket(nil)
	b.Cleanup(func() { bucket.Close() })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	empty := fmt.Sprintf("%x", emptySum)
	for _, i := range rand.New(rand.NewPCG(7, 8)).Perm(benchVerifyEntries) {
		key := fmt.Sprintf("county/2024/ballots/%07d.tif", i)
		if err := bucket.WriteAll(ctx, key, nil, &gcblob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
			b.Fatal(err)
		}
		e := migrate.Entry{Key: key, SHA256: empty, ContentType: "application/octet-stream"}
		if err := enc.Encode(&e); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), "manifest.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path, bucket
}

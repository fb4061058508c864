package migrate_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/civicport/civicport/blob/migrate"
)

// ResumeManifestSorted: compaction, then every entry read in key order (as
// Run reads Options.DoneSorted) without holding them.
func BenchmarkResumeManifestSorted(b *testing.B) {
	src := benchManifest(b, benchEntries)
	tmp := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		path := copyFile(b, src)
		b.StartTimer()
		peakHeap(b, func() {
			f, m, err := migrate.ResumeManifestSorted(context.Background(), path, &migrate.SortOptions{Dir: tmp})
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			defer m.Close()
			n := 0
			for {
				_, err := m.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != benchEntries {
				b.Fatal(n)
			}
		})
	}
}

// verify --manifest now: SortManifest, then VerifySortedManifest.
func BenchmarkVerifyManifestSorted(b *testing.B) {
	ctx := context.Background()
	path, bucket := benchVerifySetup(b)
	tmp := b.TempDir()
	for b.Loop() {
		peakHeap(b, func() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			m, err := migrate.SortManifest(ctx, f, &migrate.SortOptions{Dir: tmp})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			rep, err := migrate.VerifySortedManifest(ctx, bucket, m, &migrate.VerifyOptions{Workers: 2})
			if err != nil || !rep.OK() {
				b.Fatal(err, rep)
			}
		})
	}
}

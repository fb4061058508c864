package digest_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"gocloud.dev/blob"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

const benchSize = 32 << 20

// Write and read 32 MiB through Digest and straight to the backend:
//
//	go test -run '^$' -bench . -benchtime 10x ./blob/digest
//
// Modes: raw (no Digest); supplied (the caller passes the SHA-256, as
// migrate.Run does: the content streams); memory (no hash given, held in
// memory: BufferLimit 64 MiB); spool (no hash given, default BufferLimit:
// spooled to a temporary file). Reads are full reads, verified.
func BenchmarkDigest(b *testing.B) {
	data := pattern(benchSize)
	want := sum(data)
	backends := testenv.Backends(cpblob.Open)
	for _, backend := range []string{"file", "minio"} {
		for _, mode := range []string{"raw", "supplied", "pipelined", "memory", "spool"} {
			open := func(b *testing.B) *blob.Bucket {
				bk := backends[backend](b)
				switch mode {
				case "memory":
					bk = digest.Wrap(bk, &digest.Options{BufferLimit: 64 << 20})
				case "supplied", "spool", "pipelined":
					bk = digest.Wrap(bk, nil)
				}
				old := digest.SetPipelined(mode == "pipelined")
				b.Cleanup(func() { digest.SetPipelined(old) })
				b.Cleanup(func() { bk.Close() })
				return bk
			}
			b.Run(backend+"/"+mode+"/write", func(b *testing.B) {
				bk := open(b)
				ctx := context.Background()
				var md map[string]string
				if mode == "supplied" || mode == "pipelined" {
					md = map[string]string{digest.MetadataKey: want}
				}
				b.SetBytes(benchSize)
				for b.Loop() {
					if err := testenv.BenchWrite(ctx, bk, data, md); err != nil {
						b.Fatal(err)
					}
				}
			})
			if mode == "memory" || mode == "spool" {
				continue // reads are the same as "supplied"
			}
			b.Run(backend+"/"+mode+"/read", func(b *testing.B) {
				testenv.BenchRead(b, open(b), data)
			})
		}
	}
}

// BenchmarkSHA256CPU is the cost Digest cannot avoid: hashing 32 MiB.
func BenchmarkSHA256CPU(b *testing.B) {
	data := pattern(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		sha256.Sum256(data)
	}
}

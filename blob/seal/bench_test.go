package seal_test

import (
	"context"
	"io"
	"testing"

	"gocloud.dev/blob"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets/envelope"
)

const benchSize = 32 << 20

// Write and read 32 MiB through Seal and straight to the backend:
//
//	go test -run '^$' -bench . -benchtime 10x ./blob/seal
func BenchmarkSeal(b *testing.B) {
	data := pattern(benchSize)
	kek := newKEK(b, "local/bench")
	backends := testenv.Backends(cpblob.Open)
	for _, backend := range []string{"file", "minio"} {
		for _, mode := range []string{"raw", "seal"} {
			open := func(b *testing.B) *blob.Bucket {
				bk := backends[backend](b)
				if mode == "seal" {
					bk = mustSeal(b, bk, []envelope.KEK{kek}, nil)
				}
				b.Cleanup(func() { bk.Close() })
				return bk
			}
			b.Run(backend+"/"+mode+"/write", func(b *testing.B) {
				bk := open(b)
				ctx := context.Background()
				b.SetBytes(benchSize)
				for b.Loop() {
					if err := testenv.BenchWrite(ctx, bk, data, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(backend+"/"+mode+"/read", func(b *testing.B) {
				testenv.BenchRead(b, open(b), data)
			})
		}
	}
}

// BenchmarkEnvelopeCPU is the cost Seal cannot avoid: encrypting and
// decrypting 32 MiB in memory, no I/O.
func BenchmarkEnvelopeCPU(b *testing.B) {
	data := pattern(benchSize)
	keks := []envelope.KEK{newKEK(b, "local/bench")}
	ctx := context.Background()
	var sealed []byte
	b.Run("encrypt", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			var buf sliceWriter
			buf.b = make([]byte, 0, benchSize+benchSize/1000+4096)
			w, err := envelope.NewEncrypter(ctx, &buf, keks, nil)
			if err != nil {
				b.Fatal(err)
			}
			w.Write(data)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			sealed = buf.b
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			d, err := envelope.NewDecrypter(ctx, bytesReader(sealed), keks)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

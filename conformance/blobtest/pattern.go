package blobtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// pattern is a deterministic pseudo-random byte stream: byte i depends only
// on (seed, i), so any range of a large object can be regenerated for
// comparison without keeping the object in memory.
type pattern uint64

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fill writes bytes [off, off+len(buf)) of the stream into buf.
func (p pattern) fill(buf []byte, off int64) {
	if off%8 != 0 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], splitmix64(uint64(p)+uint64(off/8)))
		n := copy(buf, w[off%8:])
		buf = buf[n:]
		off += int64(n)
	}
	i := uint64(off / 8)
	for len(buf) >= 8 {
		binary.LittleEndian.PutUint64(buf, splitmix64(uint64(p)+i))
		buf = buf[8:]
		i++
	}
	if len(buf) > 0 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], splitmix64(uint64(p)+i))
		copy(buf, w[:])
	}
}

// bytes returns bytes [off, off+n) of the stream.
func (p pattern) bytes(off, n int64) []byte {
	b := make([]byte, n)
	p.fill(b, off)
	return b
}

// reader returns a reader of the first size bytes of the stream.
func (p pattern) reader(size int64) *patternReader {
	return &patternReader{p: p, size: size}
}

type patternReader struct {
	p         pattern
	off, size int64
}

func (r *patternReader) Read(b []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	r.p.fill(b, r.off)
	r.off += int64(len(b))
	return len(b), nil
}

// verifier is an io.Writer that compares what is written to it with the
// stream from offset start on, hashing it with SHA-256 as it goes. It keeps
// only a scratch buffer, never the data.
type verifier struct {
	p         pattern
	start     int64
	n         int64 // bytes seen
	firstDiff int64 // offset (relative to start) of the first differing byte, or -1
	gotByte   byte
	wantByte  byte
	sha       hash.Hash
	scratch   []byte
}

func newVerifier(p pattern, start int64) *verifier {
	return &verifier{p: p, start: start, firstDiff: -1, sha: sha256.New()}
}

func (v *verifier) Write(b []byte) (int, error) {
	v.sha.Write(b)
	if v.firstDiff < 0 {
		if cap(v.scratch) < len(b) {
			v.scratch = make([]byte, len(b))
		}
		want := v.scratch[:len(b)]
		v.p.fill(want, v.start+v.n)
		if !bytes.Equal(want, b) {
			for i := range b {
				if b[i] != want[i] {
					v.firstDiff = v.n + int64(i)
					v.gotByte, v.wantByte = b[i], want[i]
					break
				}
			}
		}
	}
	v.n += int64(len(b))
	return len(b), nil
}

// problem describes how what was seen differs from wantSize bytes of the
// stream, or returns "" when it matches.
func (v *verifier) problem(wantSize int64, wantSHA []byte) string {
	got := v.sha.Sum(nil)
	switch {
	case v.n != wantSize && v.firstDiff >= 0:
		return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d (got 0x%02x, want 0x%02x)",
			v.n, wantSize, v.start+v.firstDiff, v.gotByte, v.wantByte)
	case v.n != wantSize:
		return fmt.Sprintf("got %d bytes, want %d (the bytes read match the start of the object)", v.n, wantSize)
	case v.firstDiff >= 0:
		return fmt.Sprintf("content differs: first difference at offset %d (got 0x%02x, want 0x%02x); sha256 got %x, want %x",
			v.start+v.firstDiff, v.gotByte, v.wantByte, got, wantSHA)
	case wantSHA != nil && !bytes.Equal(got, wantSHA):
		return fmt.Sprintf("sha256 got %x, want %x", got, wantSHA)
	}
	return ""
}

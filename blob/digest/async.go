package digest

import (
	"crypto/sha256"
	"hash"
)

// asyncHash computes a SHA-256 on a goroutine of its own, so that hashing
// overlaps the I/O of the stream being hashed (a second core does the
// hashing while the first reads or writes). write copies its argument; at
// most asyncDepth blocks of up to asyncBlock bytes are in flight, so memory
// stays bounded. sum and stop end the goroutine; one of them must be called.
type asyncHash struct {
	work   chan []byte
	free   chan []byte
	done   chan struct{}
	h      hash.Hash
	cur    []byte // the block being filled
	result []byte
}

const (
	asyncBlock = 256 << 10
	asyncDepth = 8
)

// pipelined says whether hashing runs on its own goroutine. Off: on the
// 2-core test machine, under load, hashing inline measured as fast or faster
// (BenchmarkDigest "inline" vs "supplied"), and inline needs no goroutine
// that a reader left unclosed would leak. Kept for measuring on idle
// many-core machines, where overlapping the hash with network I/O should
// pay.
var pipelined = false

// newAsyncHash starts the hashing goroutine; with inline, write hashes at
// once instead (no goroutine).
func newAsyncHash(inline bool) *asyncHash {
	if inline {
		return &asyncHash{h: sha256.New()}
	}
	a := &asyncHash{
		work: make(chan []byte, asyncDepth),
		free: make(chan []byte, asyncDepth+1),
		done: make(chan struct{}),
		h:    sha256.New(),
	}
	go func() {
		defer close(a.done)
		for b := range a.work {
			a.h.Write(b)
			select {
			case a.free <- b[:0]:
			default:
			}
		}
	}()
	return a
}

func (a *asyncHash) write(p []byte) {
	if a.result != nil {
		return // stopped (a read after Close): nothing more counts
	}
	if a.work == nil {
		a.h.Write(p)
		return
	}
	for len(p) > 0 {
		if a.cur == nil {
			select {
			case a.cur = <-a.free:
			default:
				a.cur = make([]byte, 0, asyncBlock)
			}
		}
		n := min(len(p), cap(a.cur)-len(a.cur))
		a.cur = append(a.cur, p[:n]...)
		p = p[n:]
		if len(a.cur) == cap(a.cur) {
			a.work <- a.cur
			a.cur = nil
		}
	}
}

// sum waits for the hashing to finish and returns the SHA-256.
func (a *asyncHash) sum() []byte {
	if a.result == nil {
		if a.work != nil {
			if len(a.cur) > 0 {
				a.work <- a.cur
			}
			close(a.work)
			<-a.done
		}
		a.result = a.h.Sum(nil)
	}
	return a.result
}

// stop ends the goroutine without needing the result.
func (a *asyncHash) stop() { a.sum() }

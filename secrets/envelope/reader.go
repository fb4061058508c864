package envelope

import (
	"bytes"
	"cmp"
	"context"
	"crypto/cipher"
	"fmt"
	"io"
	"math"
)

// A DataKey is an envelope's data key, unwrapped: what it takes to decrypt
// that envelope's body, whole or by range, any number of times, without
// calling a keeper again. It holds only the chunk key derived from the data
// key. It is safe for concurrent use.
type DataKey struct {
	h     *Header
	kekID string
	aead  cipher.AEAD
}

// Unwrap unwraps the header's data key with the first KEK of keks, in the
// caller's order among those the header names, whose keeper can. It fails
// with ErrWrongKey if none can, and with ErrTampered if a keeper returns a
// key other than the one the header commits to.
func (h *Header) Unwrap(ctx context.Context, keks []KEK) (*DataKey, error) {
	dk, id, err := h.unwrapDataKey(ctx, keks)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return &DataKey{h: h, kekID: id, aead: chunkAEAD(dk, h.chunkSize)}, nil
}

// Header returns the header the key belongs to.
func (k *DataKey) Header() *Header { return k.h }

// KEKUsed returns the id of the KEK that unwrapped the key.
func (k *DataKey) KEKUsed() string { return k.kekID }

// NewReader returns the plaintext of the envelope body read from body (the
// bytes after the header, through the end marker). Each chunk is
// authenticated before any of its bytes are returned; a bad envelope makes
// Read fail with one of the package's errors, after returning only the
// chunks before the bad one.
func (k *DataKey) NewReader(body io.Reader) io.Reader {
	return newChunkReader(k, body, 0, math.MaxUint64, 0)
}

// A RangeFunc returns length bytes of an envelope, from byte offset (counted
// from the start of the header). For a blob it is a range read, e.g.
//
//	func(off, n int64) (io.ReadCloser, error) { return bucket.NewRangeReader(ctx, key, off, n, nil) }
//
// and for an io.ReaderAt
//
//	func(off, n int64) (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(ra, off, n)), nil }
type RangeFunc func(offset, length int64) (io.ReadCloser, error)

// NewRangeReader returns length bytes of the plaintext from offset (a
// negative length means to the end), reading through one call of fetch only
// the chunks that hold them. ciphertextSize is the size of the whole
// envelope, header included. A range past the end is cut at the end, as
// slicing would be, and may be empty; a range that reaches the end also
// reads and authenticates the final chunk, so that io.EOF always means the
// envelope is complete. Chunks are authenticated as by NewReader. Closing
// the reader closes fetch's.
func (k *DataKey) NewRangeReader(ciphertextSize, offset, length int64, fetch RangeFunc) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("envelope: negative range offset %d", offset)
	}
	if length == 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	chunks, size, err := k.h.layout(ciphertextSize)
	if err != nil {
		return nil, err
	}
	offset = min(offset, size)
	end := size
	if length > 0 && length < size-offset {
		end = offset + length
	}
	c, f := int64(k.h.chunkSize), int64(k.h.chunkSize+ChunkOverhead)
	first, last := min(offset/c, chunks-1), chunks-1
	start, stop := k.h.Size()+first*f, ciphertextSize
	if end < size {
		last = (end - 1) / c
	}
	if last < chunks-1 {
		// Up to the end of chunk last, plus the look-ahead by which a
		// reader knows that chunk is not the final one.
		stop = k.h.Size() + (last+1)*f + int64(lookahead)
	}
	rc, err := fetch(start, stop-start)
	if err != nil {
		return nil, fmt.Errorf("envelope: reading envelope range: %w", err)
	}
	cr := newChunkReader(k, io.LimitReader(rc, stop-start), uint64(first), uint64(last), uint64(chunks))
	cr.skip, cr.limit = int(offset-first*c), end-offset
	return rangeReader{cr, rc}, nil
}

type rangeReader struct {
	io.Reader
	io.Closer
}

// PlaintextSize returns the plaintext size of an envelope of ciphertextSize
// bytes (header included) with header h. It fails with ErrTruncated if no
// complete envelope has that size.
func PlaintextSize(ciphertextSize int64, h *Header) (int64, error) {
	_, size, err := h.layout(ciphertextSize)
	return size, err
}

// layout returns the number of chunks and the plaintext size of an envelope
// of ciphertextSize bytes.
func (h *Header) layout(ciphertextSize int64) (chunks, size int64, err error) {
	c, f := int64(h.chunkSize), int64(h.chunkSize+ChunkOverhead)
	body := ciphertextSize - h.Size() - int64(len(endMarker))
	if body < ChunkOverhead {
		return 0, 0, fmt.Errorf("%w: %d bytes is too short for an envelope with a %d-byte header", ErrTruncated, ciphertextSize, h.Size())
	}
	// body = full*f + (ChunkOverhead + lastLen) with 0 <= lastLen <= c,
	// and lastLen > 0 if full > 0.
	full := (body - ChunkOverhead - 1) / f // rounds toward 0, so 0 for an empty plaintext
	lastLen := body - ChunkOverhead - full*f
	if lastLen > c {
		return 0, 0, fmt.Errorf("%w: %d bytes is not the size of a complete envelope (cut short, or bytes appended)", ErrTruncated, ciphertextSize)
	}
	if full+1 > maxChunks {
		return 0, 0, fmt.Errorf("%w: %d bytes would be more than %d chunks", ErrTampered, ciphertextSize, uint64(maxChunks))
	}
	return full + 1, full*c + lastLen, nil
}

// A Decrypter reads the plaintext of an envelope.
type Decrypter struct {
	k *DataKey
	r io.Reader
}

// NewDecrypter reads the envelope header from src, unwraps its data key with
// the first KEK of keks (in the caller's order, among those the header names)
// whose keeper can, and returns a reader of the plaintext that reads the
// rest of src one chunk at a time. See Header.Unwrap and DataKey.NewReader
// for what can fail.
func NewDecrypter(ctx context.Context, src io.Reader, keks []KEK) (*Decrypter, error) {
	h, err := ReadHeader(src)
	if err != nil {
		return nil, err
	}
	k, err := h.Unwrap(ctx, keks)
	if err != nil {
		return nil, err
	}
	return &Decrypter{k: k, r: k.NewReader(src)}, nil
}

// Read reads authenticated plaintext. At the end of a complete envelope it
// returns io.EOF; otherwise, after the last good chunk, it returns an error
// matching one of ErrTruncated, ErrReordered or ErrTampered (or src's error).
func (d *Decrypter) Read(p []byte) (int, error) { return d.r.Read(p) }

// Header returns the envelope's header.
func (d *Decrypter) Header() *Header { return d.k.h }

// KEKUsed returns the id of the KEK that unwrapped the data key.
func (d *Decrypter) KEKUsed() string { return d.k.kekID }

const (
	// lookahead is how many bytes past a full chunk a reader needs to see to
	// know that chunk is not the last: the end marker and one more byte.
	lookahead = len(endMarker) + 1
	// maxTrialBytes bounds the work of finding where a misplaced chunk
	// belongs: at most 1024 tries and 64 MiB of AES-GCM (some 30 ms).
	maxTrialBytes = 64 << 20
	maxTrials     = 1024
)

// chunkReader decrypts chunks first..last of an envelope body. It holds one
// chunk plus the look-ahead of ciphertext and one chunk of plaintext.
type chunkReader struct {
	k     *DataKey
	src   io.Reader
	buf   []byte // ciphertext read but not yet used: buf[:n]
	n     int
	plain []byte // cap: the chunk size
	out   []byte // authenticated plaintext not yet returned, within plain
	ad    [9]byte
	index uint64 // of the next chunk
	last  uint64 // the last chunk wanted
	total uint64 // chunks in the envelope, or 0 if unknown (a stream)
	skip  int    // bytes to drop from the first chunk (range reads)
	limit int64  // bytes to return in all
	eof   bool
	err   error
}

func newChunkReader(k *DataKey, src io.Reader, first, last, total uint64) *chunkReader {
	return &chunkReader{
		k:     k,
		src:   src,
		buf:   make([]byte, k.h.chunkSize+ChunkOverhead+lookahead),
		plain: make([]byte, 0, k.h.chunkSize),
		index: first,
		last:  last,
		total: total,
		limit: math.MaxInt64,
	}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			clear(r.plain[:cap(r.plain)]) // may hold a misplaced chunk tried during diagnosis
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// next authenticates the next chunk and makes its plaintext r.out.
func (r *chunkReader) next() error {
	if r.index >= maxChunks {
		return fmt.Errorf("%w: more than %d chunks", ErrTampered, uint64(maxChunks))
	}
	f := r.k.h.chunkSize + ChunkOverhead
	m, err := io.ReadFull(r.src, r.buf[r.n:])
	r.n += m
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return r.tail()
	case err != nil:
		return fmt.Errorf("envelope: reading envelope chunk %d: %w", r.index, err)
	}
	// More than the end marker follows a full chunk, so it is not the last.
	pt, ok := r.open(r.buf[:f], r.index, false)
	if !ok {
		return r.diagnose(r.buf[:f], false)
	}
	r.n = copy(r.buf, r.buf[f:r.n])
	r.deliver(pt, false)
	return nil
}

// tail handles the end of the stream, when r.buf[:r.n] is all that is left:
// normally the final chunk and the end marker.
func (r *chunkReader) tail() error {
	t, i, f := r.buf[:r.n], r.index, r.k.h.chunkSize+ChunkOverhead
	body, marker := t, []byte(nil)
	if len(t) >= len(endMarker) {
		body, marker = t[:len(t)-len(endMarker)], t[len(t)-len(endMarker):]
	}
	if string(marker) == endMarker {
		if pt, ok := r.open(body, i, true); ok {
			r.deliver(pt, true)
			return nil
		}
		return r.diagnose(body, true)
	}
	// No intact end marker: the stream was cut, unless only the marker was
	// damaged, in which case the bytes before it open as the final chunk.
	if marker != nil {
		if _, ok := r.open(body, i, true); ok {
			return fmt.Errorf("%w: end marker after the final chunk (%d) damaged: %q", ErrTampered, i, marker)
		}
	}
	if len(t) == 0 {
		if i == 0 {
			return fmt.Errorf("%w: no chunks after the header", ErrTruncated)
		}
		return fmt.Errorf("%w: envelope ends after chunk %d, which is not the final chunk", ErrTruncated, i-1)
	}
	if len(t) >= f {
		if _, ok := r.open(t[:f], i, false); ok {
			if len(t) == f {
				return fmt.Errorf("%w: envelope ends after chunk %d, which is not the final chunk", ErrTruncated, i)
			}
			return fmt.Errorf("%w: envelope ends %d bytes into chunk %d", ErrTruncated, len(t)-f, i+1)
		}
	}
	return fmt.Errorf("%w: envelope ends %d bytes into chunk %d", ErrTruncated, len(t), i)
}

func (r *chunkReader) open(frame []byte, index uint64, final bool) ([]byte, bool) {
	pt, err := r.k.aead.Open(r.plain[:0], nil, frame, chunkAD(&r.ad, index, final))
	return pt, err == nil
}

func (r *chunkReader) deliver(pt []byte, final bool) {
	r.out = pt[min(r.skip, len(pt)):]
	if int64(len(r.out)) > r.limit {
		r.out = r.out[:r.limit]
	}
	r.limit -= int64(len(r.out))
	r.skip = 0
	r.eof = final || r.index == r.last
	r.index++
}

// diagnose explains why frame did not open as chunk r.index with the final
// flag final: it is authentic but in the wrong place (ErrReordered), the
// stream ends or goes on where it should not (ErrTruncated, ErrTampered), or
// it opens nowhere (ErrTampered). Only chunks within a bounded distance are
// tried.
func (r *chunkReader) diagnose(frame []byte, final bool) error {
	i := r.index
	if _, ok := r.open(frame, i, !final); ok {
		if final {
			return fmt.Errorf("%w: envelope ends after chunk %d, which is not the final chunk", ErrTruncated, i)
		}
		return fmt.Errorf("%w: data follows the final chunk (%d)", ErrTampered, i)
	}
	trials := min(maxTrials, max(4, maxTrialBytes/max(1, len(frame))))
	// try reports whether frame is chunk j; false if j does not exist.
	try := func(j uint64, fin bool) bool {
		if j >= maxChunks || (r.total > 0 && (j >= r.total || fin != (j == r.total-1))) {
			return false
		}
		trials--
		_, ok := r.open(frame, j, fin)
		return ok
	}
	// Nearest positions first: swaps of neighbours are the likely case.
	for d := uint64(1); trials > 0; d++ {
		for _, c := range [...]struct {
			j   uint64
			fin bool
			ok  bool
		}{{i + d, false, true}, {i - d, false, d <= i}, {i + d, true, true}, {i - d, true, d <= i}} {
			if c.ok && trials > 0 && try(c.j, c.fin) {
				what := ""
				if c.fin {
					what = ", the final chunk"
				}
				return fmt.Errorf("%w: chunk at index %d belongs at index %d%s (chunks were moved, duplicated or dropped)", ErrReordered, i, c.j, what)
			}
		}
		if limit := cmp.Or(r.total, maxChunks); d >= i && i+d >= limit-1 {
			break // every position tried
		}
	}
	return fmt.Errorf("%w: chunk %d failed authentication", ErrTampered, i)
}

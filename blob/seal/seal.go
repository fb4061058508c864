// Package seal encrypts every object of a bucket on the client, so that the
// storage provider holds ciphertext only.
//
// Wrap returns a *blob.Bucket (gocloud's own portable type) over any other
// bucket. Each object body is a civicport envelope (package secrets): a fresh
// random 256-bit data key per object, AES-256-GCM in authenticated chunks,
// the data key wrapped under every key-encryption key (KEK) given, typically
// keepers on different providers, so that the records stay readable with any
// one of them. Why: election records must stay confidential when they move
// between providers, and no single provider's key service (or its outage)
// may decide whether they can be read.
//
// # What the provider sees
//
//   - The body: the envelope (header with wrapped data keys and KEK ids,
//     then ciphertext chunks). Nothing of the plaintext.
//   - The key, the content type, the HTTP headers (Cache-Control,
//     Content-Disposition, Content-Encoding, Content-Language) and the user
//     metadata, as written: they are stored in clear, so never put a secret
//     in them. (The SHA-256 that migrate.Run records as civicport-sha256
//     is the plaintext's: it lets someone who guesses a record's exact
//     content confirm the guess.)
//   - Three metadata entries of Seal's own, hidden from Attributes:
//     civicport-sealed=1, civicport-seal-header-size and
//     civicport-seal-chunk-size, from which the plaintext size follows
//     without a read. Keys starting with "civicport-seal" are reserved:
//     writing one is InvalidArgument.
//   - The plaintext size, roughly: ciphertext is the plaintext plus the
//     header, 28 bytes per chunk and the key record (below).
//
// # Swapped objects
//
// The envelope authenticates a body, not where it is stored: someone with
// access to the storage could copy the sealed bytes of one record over
// another's and both would decrypt. Seal therefore starts every sealed
// plaintext with a record naming the object's key (magic "CVPSEAL1", the
// key length as 4 bytes, the key) and every read checks it: an object moved
// or swapped behind Seal's back fails with ErrWrongObject. The key is the
// one seen by the Seal bucket; objects keep their key when the bucket is
// migrated, but reading them through a different prefix (blob.PrefixedBucket
// under or over Seal) fails the same way. Rolling an object back to an older
// sealed version of itself is not detected (that is what versioning and
// signed manifests are for).
//
// # What readers see
//
// Sizes (Attributes.Size, ListObject.Size, Reader.Size) are plaintext sizes;
// Attributes computes them from the metadata above, and List costs one
// Attributes request per object (the provider lists ciphertext sizes, and
// the header size varies with the KEKs). Objects in the bucket that are not
// sealed are listed with their stored size and fail to read.
//
// MD5 is nil everywhere (the provider's MD5 is of the ciphertext). A write
// with WriterOptions.ContentMD5 is still checked, against the plaintext, by
// the portable layer, and aborted on mismatch.
//
// A full read streams the object in one request and authenticates each
// chunk before returning its bytes; a range read fetches the header and the
// first chunk (to check the key record), then only the chunks of the range.
// Errors say what went wrong, and match with errors.Is: envelope.ErrTampered
// (flipped bytes), envelope.ErrTruncated, envelope.ErrReordered,
// envelope.ErrWrongKey (no KEK given can unwrap the data key; gcerrors code
// PermissionDenied), envelope.ErrNotEnvelope / ErrNotSealed (an object not
// written by Seal), ErrWrongObject. Integrity errors have the gcerrors code
// FailedPrecondition, which migrate.Run does not retry.
//
// Copy decrypts and re-encrypts the object under a new data key on the
// client (the key record must name the new key), keeping content type,
// headers and metadata; it costs a download and an upload. SignedURL is
// Unimplemented: a signed URL would hand out ciphertext.
//
// Rewrap changes the KEKs of every object without decrypting or
// re-encrypting any body.
package seal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/secrets/envelope"
)

// Metadata keys Seal keeps beside the user's.
const (
	MetadataSealed     = "civicport-sealed"
	MetadataHeaderSize = "civicport-seal-header-size"
	MetadataChunkSize  = "civicport-seal-chunk-size"
	reservedPrefix     = "civicport-seal"
)

const (
	recordMagic = "CVPSEAL1"
	// prefetch is how much of an object a range read fetches first beyond
	// the chunk size: room for a typical header and chunk 0's overhead.
	prefetch = 8 << 10
	// endMarkerLen is the length of the envelope's end marker.
	endMarkerLen = 8
)

var (
	// ErrWrongObject: the sealed content names another key: the object was
	// moved, copied or swapped outside Seal.
	ErrWrongObject = errors.New("seal: object holds the sealed content of another key (moved or swapped)")
	// ErrNotSealed: the object was not written by Seal (no seal metadata,
	// or an envelope without Seal's key record).
	ErrNotSealed = errors.New("seal: object is not sealed")
	errSignedURL = errors.New("seal: signed URLs are not supported (a signed URL would hand out ciphertext)")
)

// Options configure Wrap. A nil *Options means the defaults.
type Options struct {
	// ChunkSize is the plaintext bytes per envelope chunk (0 means
	// secrets.DefaultChunkSize, 64 KiB). Range reads fetch whole chunks.
	ChunkSize int
	// Decrypt lists extra KEKs tried, after those given to Wrap, when
	// reading (e.g. a retired key during a rotation). They never wrap new
	// data keys.
	Decrypt []envelope.KEK
	// ListWorkers is how many Attributes requests List makes at once to
	// find plaintext sizes (default 16).
	ListWorkers int
}

// Wrap returns a bucket that seals every object written to b under all of
// keks and opens objects with any one of them (see the package
// documentation). The returned bucket owns b: closing it closes b. Wrap
// fails, leaving b to the caller, when keks could not wrap a data key (none,
// a duplicate or invalid id, a missing keeper: see envelope.CheckKEKs), a
// Decrypt KEK has no keeper, or the chunk size is out of range.
func Wrap(b *blob.Bucket, keks []envelope.KEK, opts *Options) (*blob.Bucket, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = envelope.DefaultChunkSize
	}
	if err := envelope.CheckKEKs(keks); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	for _, k := range o.Decrypt {
		if k.Keeper == nil {
			return nil, fmt.Errorf("seal: Decrypt KEK %q has no keeper", k.ID)
		}
	}
	if err := envelope.CheckChunkSize(o.ChunkSize); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if o.ListWorkers <= 0 {
		o.ListWorkers = 16
	}
	return blob.NewBucket(&bucket{
		Bucket: driveradapter.Bucket(b),
		o:      o,
		keks:   keks,
		open:   append(append([]envelope.KEK(nil), keks...), o.Decrypt...),
	}), nil
}

type bucket struct {
	driver.Bucket
	o    Options
	keks []envelope.KEK // wrap new data keys
	open []envelope.KEK // unwrap: keks, then o.Decrypt
}

// codedError carries a gcerrors code for errors of this package.
type codedError struct {
	code gcerrors.ErrorCode
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return &codedError{gcerrors.InvalidArgument, fmt.Errorf(format, args...)}
}

func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	var ce *codedError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, envelope.ErrWrongKey):
		return gcerrors.PermissionDenied
	case errors.Is(err, errSignedURL):
		return gcerrors.Unimplemented
	case errors.Is(err, envelope.ErrTampered), errors.Is(err, envelope.ErrTruncated),
		errors.Is(err, envelope.ErrReordered), errors.Is(err, envelope.ErrNotEnvelope),
		errors.Is(err, envelope.ErrUnsupportedVersion), errors.Is(err, ErrWrongObject),
		errors.Is(err, ErrNotSealed):
		return gcerrors.FailedPrecondition
	}
	return b.Bucket.ErrorCode(err)
}

// record returns the key record that starts every sealed plaintext.
func record(key string) []byte {
	r := make([]byte, 0, len(recordMagic)+4+len(key))
	r = append(r, recordMagic...)
	r = binary.BigEndian.AppendUint32(r, uint32(len(key)))
	return append(r, key...)
}

func recordLen(key string) int64 { return int64(len(recordMagic) + 4 + len(key)) }

// checkRecord reads the key record from r and checks that it names key.
func checkRecord(r io.Reader, key string) error {
	want := record(key)
	got := make([]byte, len(recordMagic)+4)
	if _, err := io.ReadFull(r, got); err != nil {
		return recordErr(key, err)
	}
	if string(got[:len(recordMagic)]) != recordMagic {
		return fmt.Errorf("%w: %q is an envelope without Seal's key record", ErrNotSealed, key)
	}
	n := binary.BigEndian.Uint32(got[len(recordMagic):])
	if n > 1<<20 {
		return fmt.Errorf("%w: %q names a key of %d bytes", ErrWrongObject, key, n)
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(r, name); err != nil {
		return recordErr(key, err)
	}
	if !bytes.Equal(append(got, name...), want) {
		return fmt.Errorf("%w: %q holds the sealed content of %q", ErrWrongObject, key, name)
	}
	return nil
}

func recordErr(key string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %q ends inside Seal's key record", ErrNotSealed, key)
	}
	return err
}

// plaintextSize returns the user-visible size of an object of key with
// ciphertext size s, header size h and chunk size c (the arithmetic of the
// envelope layout, secrets/envelope/envelope.go), minus the key record.
func plaintextSize(key string, s, h, c int64) (int64, error) {
	if c < envelope.MinChunkSize || c > envelope.MaxChunkSize || h <= 0 {
		return 0, fmt.Errorf("%w: %q: bad seal metadata (header %d, chunk %d)", ErrNotSealed, key, h, c)
	}
	f := c + envelope.ChunkOverhead
	body := s - h - endMarkerLen
	if body < envelope.ChunkOverhead {
		return 0, fmt.Errorf("%w: %q: %d bytes is too short for its %d-byte header", envelope.ErrTruncated, key, s, h)
	}
	full := (body - envelope.ChunkOverhead - 1) / f
	last := body - envelope.ChunkOverhead - full*f
	p := full*c + last - recordLen(key)
	if last > c || p < 0 {
		return 0, fmt.Errorf("%w: %q: %d bytes is not the size of a complete sealed object", envelope.ErrTruncated, key, s)
	}
	return p, nil
}

func userMetadata(md map[string]string) map[string]string {
	out := make(map[string]string, len(md))
	for k, v := range md {
		if k != MetadataSealed && !strings.HasPrefix(k, reservedPrefix) {
			out[k] = v
		}
	}
	return out
}

func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := b.Bucket.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	size, err := b.sizeOf(ctx, key, a)
	if err != nil {
		return nil, err
	}
	c := *a
	c.Size, c.MD5, c.Metadata = size, nil, userMetadata(a.Metadata)
	return &c, nil
}

// sizeOf returns the plaintext size of key, from its seal metadata, or, if
// that is missing or damaged, from its header.
func (b *bucket) sizeOf(ctx context.Context, key string, a *driver.Attributes) (int64, error) {
	if a.Metadata[MetadataSealed] != "1" {
		return 0, fmt.Errorf("%w: %q has no %s metadata", ErrNotSealed, key, MetadataSealed)
	}
	h, err1 := strconv.ParseInt(a.Metadata[MetadataHeaderSize], 10, 64)
	c, err2 := strconv.ParseInt(a.Metadata[MetadataChunkSize], 10, 64)
	if err1 == nil && err2 == nil {
		if p, err := plaintextSize(key, a.Size, h, c); err == nil {
			return p, nil
		}
	}
	r, err := b.Bucket.NewRangeReader(ctx, key, 0, 64<<10, &driver.ReaderOptions{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	hd, err := envelope.ReadHeader(r)
	if err != nil {
		return 0, fmt.Errorf("seal: %q: %w", key, err)
	}
	return plaintextSize(key, r.Attributes().Size, hd.Size(), int64(hd.ChunkSize()))
}

func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	page, err := b.Bucket.ListPaged(ctx, opts)
	if err != nil {
		return nil, err
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, b.o.ListWorkers)
		mu   sync.Mutex
		ferr error
	)
	for _, o := range page.Objects {
		o.MD5 = nil
		if o.IsDir {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, err := b.Bucket.Attributes(ctx, o.Key)
			if err != nil {
				if gcerrors.Code(err) != gcerrors.NotFound { // deleted since: keep the listed size
					mu.Lock()
					ferr = cmpErr(ferr, err)
					mu.Unlock()
				}
				return
			}
			if size, err := b.sizeOf(ctx, o.Key, a); err == nil {
				o.Size = size
			} else if !errors.Is(err, ErrNotSealed) {
				mu.Lock()
				ferr = cmpErr(ferr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return nil, ferr
	}
	return page, nil
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	for k := range opts.Metadata {
		if strings.HasPrefix(k, reservedPrefix) || k == MetadataSealed {
			return nil, invalid("seal: metadata key %q is reserved", k)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	dst := &switchWriter{}
	enc, err := envelope.NewEncrypter(ctx, dst, b.keks, &envelope.Options{ChunkSize: b.o.ChunkSize})
	if err != nil {
		cancel()
		return nil, err
	}
	md := maps.Clone(opts.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[MetadataSealed] = "1"
	md[MetadataHeaderSize] = strconv.Itoa(dst.buf.Len())
	md[MetadataChunkSize] = strconv.Itoa(b.o.ChunkSize)
	iopts := *opts
	iopts.Metadata = md
	iopts.ContentMD5 = nil // the portable layer checks it against the plaintext
	inner, err := b.Bucket.NewTypedWriter(ctx, key, contentType, &iopts)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &writer{enc: enc, inner: inner, ctx: ctx, cancel: cancel}
	if _, err := inner.Write(dst.buf.Bytes()); err != nil {
		w.abort(err)
		return nil, err
	}
	dst.buf, dst.w = bytes.Buffer{}, inner
	if _, err := enc.Write(record(key)); err != nil {
		w.abort(err)
		return nil, err
	}
	return w, nil
}

// switchWriter collects the envelope header until the inner writer exists
// (its metadata needs the header's size), then forwards to it.
type switchWriter struct {
	buf bytes.Buffer
	w   io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.w != nil {
		return s.w.Write(p)
	}
	return s.buf.Write(p)
}

type writer struct {
	enc    io.WriteCloser
	inner  driver.Writer
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// abort cancels the inner write so that nothing is committed.
func (w *writer) abort(err error) {
	w.err = err
	w.cancel()
	_ = w.inner.Close()
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.enc.Write(p)
	if err != nil {
		w.abort(err)
	}
	return n, err
}

func (w *writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.abort(err)
		return err
	}
	if err := w.enc.Close(); err != nil {
		w.abort(err)
		return err
	}
	defer w.cancel()
	w.err = errors.New("seal: writer closed")
	return w.inner.Close()
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset == 0 && length < 0 {
		return b.fullReader(ctx, key, opts)
	}
	return b.rangeReader(ctx, key, offset, length, opts)
}

type reader struct {
	io.Reader
	closer io.Closer
	attrs  driver.ReaderAttributes
	as     func(any) bool
}

func (r *reader) Close() error                         { return r.closer.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(i any) bool                        { return r.as != nil && r.as(i) }

func (b *bucket) fullReader(ctx context.Context, key string, opts *driver.ReaderOptions) (driver.Reader, error) {
	ir, err := b.Bucket.NewRangeReader(ctx, key, 0, -1, opts)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (driver.Reader, error) {
		ir.Close()
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	ia := ir.Attributes()
	h, err := envelope.ReadHeader(ir)
	if err != nil {
		return fail(err)
	}
	size, err := plaintextSize(key, ia.Size, h.Size(), int64(h.ChunkSize()))
	if err != nil {
		return fail(err)
	}
	k, err := h.Unwrap(ctx, b.open)
	if err != nil {
		return fail(err)
	}
	pr := k.NewReader(ir)
	if err := checkRecord(pr, key); err != nil {
		return fail(err)
	}
	return &reader{
		Reader: &keyedErr{r: pr, key: key},
		closer: ir,
		attrs:  driver.ReaderAttributes{ContentType: ia.ContentType, ModTime: ia.ModTime, Size: size},
		as:     ir.As,
	}, nil
}

// keyedErr names the key in read errors.
type keyedErr struct {
	r   io.Reader
	key string
}

func (k *keyedErr) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("seal: reading %q: %w", k.key, err)
	}
	return n, err
}

func (b *bucket) rangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	// The first request fetches the header and chunk 0 (for the key
	// record), and, for a small object, everything.
	c := int64(b.o.ChunkSize)
	var head []byte
	var ia driver.ReaderAttributes
	var as func(any) bool
	var h *envelope.Header
	for _, n := range []int64{prefetch, 64 << 10} {
		ir, err := b.Bucket.NewRangeReader(ctx, key, 0, n+c+envelope.ChunkOverhead+endMarkerLen+1, opts)
		if err != nil {
			return nil, err
		}
		opts = &driver.ReaderOptions{} // BeforeRead is called once
		head, err = io.ReadAll(ir)
		ia, as = *ir.Attributes(), ir.As
		ir.Close()
		if err != nil {
			return nil, err
		}
		h, err = envelope.ReadHeader(bytes.NewReader(head))
		if err == nil {
			break
		}
		if !errors.Is(err, envelope.ErrTruncated) || int64(len(head)) >= ia.Size || n != prefetch {
			return nil, fmt.Errorf("seal: reading %q: %w", key, err)
		}
	}
	s := ia.Size
	size, err := plaintextSize(key, s, h.Size(), int64(h.ChunkSize()))
	if err != nil {
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	k, err := h.Unwrap(ctx, b.open)
	if err != nil {
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	fetch := func(off, n int64) (io.ReadCloser, error) {
		if off+n <= int64(len(head)) {
			return io.NopCloser(bytes.NewReader(head[off : off+n])), nil
		}
		r, err := b.Bucket.NewRangeReader(ctx, key, off, n, &driver.ReaderOptions{})
		if err != nil {
			return nil, err
		}
		if r.Attributes().Size != s {
			r.Close()
			return nil, fmt.Errorf("%w: %q changed while it was read (%d bytes, then %d)", envelope.ErrTampered, key, s, r.Attributes().Size)
		}
		return r, nil
	}
	rl := recordLen(key)
	rr, err := k.NewRangeReader(s, 0, rl, fetch)
	if err != nil {
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	err = checkRecord(rr, key)
	rr.Close()
	if err != nil {
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	attrs := driver.ReaderAttributes{ContentType: ia.ContentType, ModTime: ia.ModTime, Size: size}
	if length == 0 {
		return &reader{Reader: bytes.NewReader(nil), closer: io.NopCloser(nil), attrs: attrs, as: as}, nil
	}
	// A range that reaches the end, even past it, reads and authenticates
	// the final chunk, so that a truncated object never reads as a short one.
	offset = min(offset, size)
	if length > size-offset {
		length = -1
	}
	dr, err := k.NewRangeReader(s, rl+offset, length, fetch)
	if err != nil {
		return nil, fmt.Errorf("seal: reading %q: %w", key, err)
	}
	return &reader{Reader: &keyedErr{r: dr, key: key}, closer: dr, attrs: attrs, as: as}, nil
}

func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts != nil && opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(func(any) bool { return false }); err != nil {
			return err
		}
	}
	a, err := b.Bucket.Attributes(ctx, srcKey)
	if err != nil {
		return err
	}
	r, err := b.fullReader(ctx, srcKey, &driver.ReaderOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewTypedWriter(ctx, dstKey, a.ContentType, &driver.WriterOptions{
		CacheControl:       a.CacheControl,
		ContentDisposition: a.ContentDisposition,
		ContentEncoding:    a.ContentEncoding,
		ContentLanguage:    a.ContentLanguage,
		Metadata:           userMetadata(a.Metadata),
	})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		w.Close()
		return err
	}
	return w.Close()
}

func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errSignedURL
}

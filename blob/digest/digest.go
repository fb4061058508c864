// Package digest makes a bucket record and check the SHA-256 of every object.
//
// Wrap returns a *blob.Bucket (gocloud's own portable type) that, on every
// write, computes the SHA-256 of the content while it streams and stores it
// in the object's metadata under civicport-sha256 (MetadataKey, the
// record migrate.Run, migrate.Verify and the manifests already use), and, on
// every full read, recomputes it and fails the read if the content does not
// match. Why: provider hashes cannot be trusted across providers (S3 ETags are
// not MD5s for multipart or KMS-encrypted objects, GCS composite objects have
// no MD5), and a flipped bit on a disk or a file swapped behind the
// application's back must not be read as a good election record.
//
// # Writes
//
// Object metadata is sent before the body, so the hash of content not yet
// seen cannot go with it. Two cases:
//
//   - The caller already knows the hash (as migrate.Run does) and passes it
//     as WriterOptions.Metadata["civicport-sha256"] (lower-case hex): the
//     content streams straight to the backend while it is hashed, and Close
//     fails with ErrMismatch, aborting the write (its context is cancelled,
//     so nothing is committed), when the content does not match it.
//   - Otherwise the content is held until Close, in memory up to
//     Options.BufferLimit (default 8 MiB) and beyond that in a temporary
//     spool file (Options.SpoolDir), hashed as it arrives; Close then writes
//     it with the hash in its metadata. This costs a second local pass over
//     large objects (the spool file), not a second network transfer, and
//     the upload starts only at Close.
//
// (Alternatives considered: writing first and adding the hash afterwards
// needs a metadata update or a server-side copy with new metadata, which
// gocloud's portable API has neither of; a sidecar object holding the hash
// is not committed atomically with the object.)
//
// Writing an object twice, or copying it with Bucket.Copy, keeps the record
// right: Copy copies metadata along with the bytes.
//
// # Reads
//
// A read of the whole object (NewReader, or NewRangeReader from offset 0
// with a negative length or one that covers the object) is verified: when
// the content ends, Read returns an error matching ErrMismatch (with the key
// and both hashes) instead of io.EOF if the content does not match its
// record. Bytes returned before the end are not yet verified: treat them as
// untrusted until Read has returned io.EOF. A full read costs one extra
// request (the object's attributes, for the record).
//
// A range read of part of an object cannot be verified (the hash covers the
// whole object) and passes through unchecked; use migrate.Verify or a full read
// to check an object.
//
// Objects without a record (written before the bucket was wrapped, or by
// another tool) are read unchecked by default, so that wrapping an existing
// bucket does not make it unreadable; with Options.Require they fail with
// ErrNoDigest.
//
// # What else changes
//
// Attributes.Metadata includes civicport-sha256: it is the integrity record,
// shared with migrate.Run and migrate.Verify, so a migration from a wrapped
// bucket neither reads an object twice nor trusts a provider hash (blobtest
// counts it as civicport's own, not as unexpected user metadata). A caller
// that copies Attributes.Metadata onto a new write with different content
// gets ErrMismatch, never a wrong record. Sizes, MD5s,
// listing, copy, delete and signed URLs pass through unchanged; a signed
// URL bypasses the check.
//
// Integrity errors have the gcerrors code FailedPrecondition (gocloud has no
// DataLoss), which migrate.Run does not retry.
package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/driveradapter"
)

// MetadataKey is the user-metadata key under which civicport records the
// lower-case hex SHA-256 of an object's content: written by Wrap, by
// migrate.Run and by blob/mirror, checked by verified reads, Verify and
// scrubs.
const MetadataKey = "civicport-sha256"

// DefaultBufferLimit is the default Options.BufferLimit.
const DefaultBufferLimit = 8 << 20

var (
	// ErrMismatch: content does not match its SHA-256 (on a read, the
	// recorded one; on a write, the one the caller supplied). Errors
	// matching it are *MismatchError.
	ErrMismatch = errors.New("digest: content does not match its SHA-256")
	// ErrNoDigest: the object has no recorded SHA-256 and Options.Require
	// is set.
	ErrNoDigest = errors.New("digest: object has no recorded SHA-256")
)

// MismatchError says which object failed and how.
type MismatchError struct {
	Key      string
	Recorded string // the recorded (or, on a write, supplied) SHA-256, hex
	Computed string // the SHA-256 of the bytes that went through, hex
	Write    bool   // true for a write, false for a read
}

func (e *MismatchError) Error() string {
	what := "read"
	if e.Write {
		what = "write"
	}
	return fmt.Sprintf("digest: %s of %q: content does not match its SHA-256: recorded %s, computed %s", what, e.Key, e.Recorded, e.Computed)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// Options configure Wrap. A nil *Options means the defaults.
type Options struct {
	// Require makes a full read of an object without a recorded SHA-256
	// fail with ErrNoDigest. Default false: such objects are read
	// unchecked.
	Require bool
	// BufferLimit is how much of a write without a supplied hash is held in
	// memory before it is spooled to a temporary file (default
	// DefaultBufferLimit). A negative value spools every such write.
	BufferLimit int64
	// SpoolDir is where spool files go (default os.TempDir()). Each is
	// removed when its writer is closed.
	SpoolDir string
}

// Wrap returns a bucket that records the SHA-256 of everything written to
// b and checks it on every full read (see the package documentation). The
// returned bucket owns b: closing it closes b.
func Wrap(b *blob.Bucket, opts *Options) *blob.Bucket {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.BufferLimit == 0 {
		o.BufferLimit = DefaultBufferLimit
	}
	return blob.NewBucket(&bucket{Bucket: driveradapter.Bucket(b), o: o})
}

type bucket struct {
	driver.Bucket
	o Options
}

func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, ErrMismatch) || errors.Is(err, ErrNoDigest) {
		return gcerrors.FailedPrecondition
	}
	var ia *invalidArg
	if errors.As(err, &ia) {
		return gcerrors.InvalidArgument
	}
	var ce *changedError
	if errors.As(err, &ce) {
		return gcerrors.FailedPrecondition
	}
	return b.Bucket.ErrorCode(err)
}

// changedError: the object was replaced between opening it and reading its
// record; reading it again will do.
type changedError struct{ key string }

func (e *changedError) Error() string {
	return fmt.Sprintf("digest: %q was replaced while it was being opened; read it again", e.key)
}

type invalidArg struct{ msg string }

func (e *invalidArg) Error() string { return e.msg }

// parseSum returns the SHA-256 recorded in md, or "" if there is none. A
// value that is not 64 lower- or upper-case hex digits is an error.
func parseSum(md map[string]string) (string, error) {
	v, ok := md[MetadataKey]
	if !ok {
		return "", nil
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != sha256.Size {
		return "", &invalidArg{fmt.Sprintf("digest: metadata %s is %q, not a hex SHA-256", MetadataKey, v)}
	}
	return hex.EncodeToString(b), nil
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	r, err := b.Bucket.NewRangeReader(ctx, key, offset, length, opts)
	if err != nil || offset != 0 || (length >= 0 && length < r.Attributes().Size) {
		return r, err // a part of the object: nothing to verify against
	}
	// The attributes are read after the reader is open: if they describe
	// the object being read (same size and modification time), their
	// record is that object's.
	a, err := b.Bucket.Attributes(ctx, key)
	if err != nil {
		r.Close()
		return nil, err
	}
	ra := r.Attributes()
	if a.Size != ra.Size || !a.ModTime.Equal(ra.ModTime) {
		r.Close()
		return nil, &changedError{key}
	}
	want, err := parseSum(a.Metadata)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("digest: reading %q: %w", key, err)
	}
	if want == "" {
		if b.o.Require {
			r.Close()
			return nil, fmt.Errorf("digest: reading %q: %w (Options.Require is set)", key, ErrNoDigest)
		}
		return r, nil
	}
	return &reader{Reader: r, key: key, want: want, h: newAsyncHash(!pipelined)}, nil
}

type reader struct {
	driver.Reader
	key  string
	want string
	h    *asyncHash
	err  error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.Reader.Read(p)
	r.h.write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(r.h.sum()); got != r.want {
			err = &MismatchError{Key: r.key, Recorded: r.want, Computed: got}
		}
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *reader) Close() error {
	r.h.stop()
	return r.Reader.Close()
}

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	want, err := parseSum(opts.Metadata)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &writer{b: b, ctx: ctx, cancel: cancel, key: key, contentType: contentType, opts: *opts, want: want}
	if want == "" {
		w.stage = NewStager(b.o.BufferLimit, b.o.SpoolDir)
	} else {
		if w.inner, err = b.Bucket.NewTypedWriter(ctx, key, contentType, opts); err != nil {
			cancel()
			return nil, err
		}
		// Streaming: hash beside the upload.
		w.async = newAsyncHash(!pipelined)
	}
	return w, nil
}

// writer streams to inner when the hash was supplied (want != ""), and
// otherwise stages the content until Close.
type writer struct {
	b           *bucket
	ctx         context.Context
	cancel      context.CancelFunc
	key         string
	contentType string
	opts        driver.WriterOptions
	want        string
	stage       *Stager    // when holding the content
	async       *asyncHash // when streaming
	inner       driver.Writer
	err         error
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	var n int
	var err error
	if w.async != nil {
		w.async.write(p)
		n, err = w.inner.Write(p)
	} else {
		n, err = w.stage.Write(p)
	}
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// fail records err and aborts the write.
func (w *writer) fail(err error) {
	w.err = err
	if w.async != nil {
		w.async.stop()
	}
	w.cancel()
	if w.inner != nil {
		_ = w.inner.Close()
	}
	if w.stage != nil {
		w.stage.Close()
	}
}

func (w *writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.async != nil {
		sum := hex.EncodeToString(w.async.sum())
		if sum != w.want {
			err := &MismatchError{Key: w.key, Recorded: w.want, Computed: sum, Write: true}
			w.fail(err)
			return err
		}
		defer w.cancel()
		err := w.inner.Close()
		w.err = errors.New("digest: writer closed")
		return err
	}
	defer w.stage.Close()
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return err
	}
	opts := w.opts
	md := make(map[string]string, len(opts.Metadata)+1)
	for k, v := range opts.Metadata {
		md[k] = v
	}
	md[MetadataKey] = w.stage.Sum()
	opts.Metadata = md
	inner, err := w.b.Bucket.NewTypedWriter(w.ctx, w.key, w.contentType, &opts)
	if err != nil {
		w.fail(err)
		return err
	}
	w.inner = inner
	if _, err := io.Copy(inner, w.stage.NewReader()); err != nil {
		w.fail(err)
		return err
	}
	defer w.cancel()
	err = inner.Close()
	w.err = errors.New("digest: writer closed")
	return err
}

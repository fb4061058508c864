package minio

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/writecheck"
)

// NewTypedWriter implements driver.Bucket.NewTypedWriter.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	partSize := b.partSize
	if opts.BufferSize >= MinPartSize {
		partSize = opts.BufferSize
	}
	conc := b.concurrency
	if opts.MaxConcurrency > 0 {
		conc = opts.MaxConcurrency
	}
	md := make(map[string]string, len(opts.Metadata))
	for k, v := range opts.Metadata {
		// With the x-amz-meta- prefix spelled out, minio-go sends every key
		// as user metadata, even one named like a standard header.
		md["x-amz-meta-"+escapeMetadataKey(k)] = escapeMetadataValue(v)
	}
	w := &writer{
		ctx:      ctx,
		b:        b,
		core:     minio.Core{Client: b.client},
		name:     escapeKey(key, false),
		partSize: partSize,
		free:     make(chan []byte, conc),
		opts: minio.PutObjectOptions{
			UserMetadata:       md,
			ContentType:        contentType,
			CacheControl:       opts.CacheControl,
			ContentDisposition: opts.ContentDisposition,
			ContentEncoding:    opts.ContentEncoding,
			ContentLanguage:    opts.ContentLanguage,
		},
	}
	w.pool = b.partPool(partSize)
	for range conc {
		w.free <- nil
	}
	if opts.IfNotExist {
		w.opts.SetMatchETagExcept("*") // If-None-Match: *
	}
	if len(opts.ContentMD5) > 0 {
		w.md5 = base64.StdEncoding.EncodeToString(opts.ContentMD5)
	}
	if opts.BeforeWrite != nil {
		asFunc := func(i any) bool {
			switch p := i.(type) {
			case **minio.PutObjectOptions:
				*p = &w.opts
			case **writecheck.Check:
				w.check = &writecheck.Check{Size: -1}
				*p = w.check
			default:
				return false
			}
			return true
		}
		if err := opts.BeforeWrite(asFunc); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// writer implements driver.Writer.
//
// It buffers up to partSize bytes. If Close comes first, the object is sent
// as one PUT. Otherwise it becomes a multipart upload: each full buffer is
// uploaded as a part by a goroutine while Write fills the next, with at most
// cap(free) parts in flight, so a writer holds at most cap(free)+1 buffers.
// A Write of more than a part uploads whole parts straight from the caller's
// slice, in parallel, and returns when they are sent. Errors and
// cancellation abort the upload; nothing is stored until the upload is
// completed in Close.
type writer struct {
	ctx      context.Context
	b        *bucket
	core     minio.Core
	name     string
	opts     minio.PutObjectOptions
	md5      string            // base64 Content-MD5 of the whole object, or ""
	check    *writecheck.Check // asked for through BeforeWrite, or nil
	partSize int
	pool     *sync.Pool // of *[]byte with cap partSize (bucket.partPool)
	buf      []byte

	// Multipart state, used once more than partSize bytes are written.
	uploadID  string
	nparts    int
	free      chan []byte // a token, with a buffer to reuse, per part that may be in flight
	stopAbort func() bool // stops the abort-on-cancel hook
	abortOnce sync.Once
	wg        sync.WaitGroup

	// Streamed single PUT (see stream), used instead of multipart for an
	// object whose size the Check gave, up to the bucket's streamLimit.
	pw      *io.PipeWriter
	sent    int64         // bytes written to pw
	putDone chan struct{} // closed when the PUT has returned putInfo, putErr
	putInfo minio.UploadInfo
	putErr  error

	mu    sync.Mutex
	parts []minio.CompletePart
	err   error // the first error; the write has failed
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	if w.pw == nil && w.uploadID == "" && len(w.buf) == 0 && w.streams() {
		w.stream()
	}
	if w.pw != nil {
		return w.streamWrite(p)
	}
	n := len(p)
	var borrowed sync.WaitGroup // parts reading from p
	defer borrowed.Wait()
	for len(p) > 0 {
		// A whole part that is known not to be the whole object is
		// uploaded without copying.
		if len(w.buf) == 0 && len(p) >= w.partSize && (w.uploadID != "" || len(p) > w.partSize) {
			if _, err := w.startPart(p[:w.partSize], &borrowed); err != nil {
				return n - len(p), err
			}
			p = p[w.partSize:]
			continue
		}
		if len(w.buf) == w.partSize {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
		k := min(len(p), w.partSize-len(w.buf))
		w.grow(k)
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
	}
	borrowed.Wait()
	return n, w.failed()
}

// grow makes room in w.buf for n more bytes.
func (w *writer) grow(n int) {
	need := len(w.buf) + n
	if need <= cap(w.buf) {
		return
	}
	// Doubling up to 64 KiB (a small object keeps a small buffer), then
	// straight to the pooled part buffer: no chain of copies up to
	// partSize.
	var nb []byte
	if c := max(2*cap(w.buf), need, 4<<10); c <= 64<<10 && c < w.partSize {
		nb = make([]byte, 0, c)
	} else {
		nb = w.getBuf()
	}
	w.buf = append(nb, w.buf...)
}

// getBuf returns an empty buffer of capacity partSize. Pooling them saves
// the page faults of fresh memory, which cost more than the copy.
func (w *writer) getBuf() []byte {
	if p, ok := w.pool.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, w.partSize)
}

func (w *writer) putBuf(p []byte) {
	if cap(p) == w.partSize {
		w.pool.Put(&p)
	}
}

// failed returns the write's error, if it failed: ctx was cancelled or an
// upload request failed.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = w.ctx.Err()
	}
	return w.err
}

func (w *writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// flush uploads w.buf as the next part and gives w a new buffer.
func (w *writer) flush() error {
	spare, err := w.startPart(w.buf, nil)
	if err != nil {
		return err
	}
	if spare == nil {
		spare = w.getBuf()
	}
	w.buf = spare[:0]
	return nil
}

// startPart uploads data as the next part in a goroutine, starting the
// multipart upload first if need be, once fewer than cap(free) parts are in
// flight. If borrowed is nil, data is a buffer of w, recycled through w.free
// when the part is sent, and startPart returns a spare buffer (or nil) for w
// to fill next. Otherwise data belongs to the caller, who must wait on
// borrowed before reusing it.
func (w *writer) startPart(data []byte, borrowed *sync.WaitGroup) (spare []byte, err error) {
	if err := w.failed(); err != nil {
		return nil, err
	}
	if w.uploadID == "" {
		id, err := w.core.NewMultipartUpload(w.ctx, w.b.name, w.name, w.withHeader(w.opts, "X-Amz-Checksum-Algorithm", "SHA256"))
		if err != nil {
			w.setErr(err)
			return nil, err
		}
		w.uploadID = id
		// Abort when ctx is cancelled, even if Close is never called.
		w.stopAbort = context.AfterFunc(w.ctx, w.abort)
	}
	select {
	case spare = <-w.free:
	case <-w.ctx.Done():
		w.setErr(w.ctx.Err())
		return nil, w.ctx.Err()
	}
	recycle := data
	if borrowed != nil {
		recycle, spare = spare, nil
		borrowed.Add(1)
	}
	w.nparts++
	num := w.nparts
	// minio-go sends only SSE-C keys with parts, as S3 wants.
	popts := minio.PutObjectPartOptions{SSE: w.opts.ServerSideEncryption}
	var partSum string // base64 SHA-256 of the part, for the server to check
	switch {
	case w.check != nil:
		// The signed x-amz-checksum-sha256 header binds the body, which
		// the server hashes once to check it: the payload itself goes
		// unsigned, without minio-go's second SHA-256 (or, over HTTP, its
		// chunk signatures) and the server's second hash.
		sum := sha256.Sum256(data)
		partSum = base64.StdEncoding.EncodeToString(sum[:])
		popts.CustomHeader = http.Header{"X-Amz-Checksum-Sha256": {partSum}}
		popts.DisableContentSha256 = true
	case w.b.secure:
		sum := sha256.Sum256(data)
		popts.Sha256Hex = hex.EncodeToString(sum[:])
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		part, err := w.core.PutObjectPart(w.ctx, w.b.name, w.name, w.uploadID, num, bytes.NewReader(data), int64(len(data)), popts)
		if borrowed != nil {
			borrowed.Done()
		}
		w.mu.Lock()
		if err == nil {
			w.parts = append(w.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag, ChecksumSHA256: partSum})
		} else {
			if w.err == nil {
				w.err = err
			}
			// The transport may still read a failed request's body.
			recycle = nil
		}
		w.mu.Unlock()
		w.free <- recycle
	}()
	return spare, nil
}

// abort aborts the multipart upload, once: as the ctx hook or from Close,
// which then waits for the hook's abort to finish.
func (w *writer) abort() {
	w.abortOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
		defer cancel()
		_ = w.core.AbortMultipartUpload(ctx, w.b.name, w.name, w.uploadID)
	})
}

// Close completes the write. After ctx is cancelled it aborts the write and
// returns ctx's error.
func (w *writer) Close() error {
	defer w.release()
	if w.pw != nil {
		return w.closeStream()
	}
	if w.uploadID == "" {
		if err := w.failed(); err != nil {
			return err
		}
		err := w.putSingle()
		if err != nil {
			w.buf = nil // the transport may still read a failed request's body
		}
		return err
	}
	var err error
	if len(w.buf) > 0 {
		var spare []byte
		spare, err = w.startPart(w.buf, nil)
		w.buf = spare
	}
	w.wg.Wait()
	if err == nil {
		err = w.failed()
	}
	if err == nil {
		slices.SortFunc(w.parts, func(x, y minio.CompletePart) int { return cmp.Compare(x.PartNumber, y.PartNumber) })
		var info minio.UploadInfo
		info, err = w.core.CompleteMultipartUpload(w.ctx, w.b.name, w.name, w.uploadID, w.parts, completeOptions(w.opts))
		if err == nil {
			w.stopAbort()
			w.checked(writecheck.SHA256Parts, info.ETag)
			return nil
		}
	}
	w.stopAbort()
	w.abort()
	if w.ctx.Err() != nil {
		return w.ctx.Err()
	}
	return err
}

// release returns w's buffers to the pool; no part is in flight.
func (w *writer) release() {
	w.putBuf(w.buf)
	w.buf = nil
	for {
		select {
		case p := <-w.free:
			w.putBuf(p)
		default:
			return
		}
	}
}

// completeOptions keeps the conditional headers (If-None-Match: * for
// IfNotExist, or what BeforeWrite set) and the encryption of o for
// CompleteMultipartUpload, where the server checks the conditions again; the
// object's description went with NewMultipartUpload.
func completeOptions(o minio.PutObjectOptions) minio.PutObjectOptions {
	c := o // copies the unexported conditional headers
	c.UserMetadata, c.UserTags = nil, nil
	c.ContentType, c.ContentEncoding, c.ContentDisposition, c.ContentLanguage, c.CacheControl = "", "", "", "", ""
	c.Expires, c.RetainUntilDate = time.Time{}, time.Time{}
	c.Mode, c.LegalHold = "", ""
	c.StorageClass, c.WebsiteRedirectLocation = "", ""
	return c
}

// putSingle sends w.buf as one PUT with its MD5 (when known) and, over HTTPS,
// its SHA-256 for the server to check. With a Check whose SHA256 is set, that
// SHA-256 goes as x-amz-checksum-sha256 instead, which the server verifies
// against the body and stores with the object; the header is signed, so
// the payload goes unsigned (as for parts in startPart).
func (w *writer) putSingle() error {
	opts, verified, payloadSum := w.opts, "", ""
	if w.check != nil && w.check.SHA256 != "" {
		b64, ok := w.check.Base64SHA256()
		if !ok {
			return fmt.Errorf("minio: writecheck.Check.SHA256 %q is not a hex SHA-256", w.check.SHA256)
		}
		opts = w.withHeader(opts, "X-Amz-Checksum-Sha256", b64)
		opts.DisableContentSha256 = true
		verified = writecheck.SHA256
	} else {
		payloadSum = w.sha256(w.buf)
	}
	info, err := w.core.PutObject(w.ctx, w.b.name, w.name, bytes.NewReader(w.buf), int64(len(w.buf)), w.md5, payloadSum, opts)
	if err == nil {
		w.checked(verified, info.ETag)
	}
	return err
}

// withHeader returns o with one more request header when a Check was asked
// for (minio-go sends UserMetadata keys that are x-amz-* headers as they
// are, and adds no checksum of its own when one is there).
func (w *writer) withHeader(o minio.PutObjectOptions, k, v string) minio.PutObjectOptions {
	if w.check == nil {
		return o
	}
	o.UserMetadata = maps.Clone(o.UserMetadata)
	if o.UserMetadata == nil {
		o.UserMetadata = map[string]string{}
	}
	o.UserMetadata[k] = v
	return o
}

// checked reports a committed write's verification to the Check, if any.
func (w *writer) checked(verified, etag string) {
	if w.check != nil {
		w.check.Verified, w.check.ETag = verified, etag
	}
}

// sha256 returns the hex SHA-256 of p for x-amz-content-sha256 over HTTPS.
// Over HTTP minio-go signs the payload chunk by chunk itself, which already
// lets the server check it, so the hash is not computed twice.
func (w *writer) sha256(p []byte) string {
	if !w.b.secure {
		return ""
	}
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// streams says whether the write goes as one streamed PUT: its size is
// known (a Check) and more than a part, up to the bucket's streamLimit, and
// no Content-MD5 was asked for (which a streamed body cannot have).
func (w *writer) streams() bool {
	return w.check != nil && w.check.Size > int64(w.partSize) && w.check.Size <= w.b.streamLimit && w.md5 == ""
}

// stream starts the single PUT of w.check.Size bytes, whose body is what
// Write passes through a pipe, so that nothing is buffered. minio-go sends
// the body aws-chunked with the SHA-256 it computes on the way as a
// trailing x-amz-checksum-sha256, which the server verifies against the
// body it received and stores; the payload itself goes unsigned (the
// trailer's checksum binds it, as the signed header does in putSingle).
func (w *writer) stream() {
	pr, pw := io.Pipe()
	w.pw, w.putDone = pw, make(chan struct{})
	opts := w.opts
	opts.Checksum = minio.ChecksumSHA256
	opts.DisableContentSha256 = true
	go func() {
		defer close(w.putDone)
		w.putInfo, w.putErr = w.core.PutObject(w.ctx, w.b.name, w.name, pr, w.check.Size, "", "", opts)
		// Unblocks a Write the request no longer reads.
		pr.CloseWithError(cmp.Or(w.putErr, errors.New("minio: the PUT ended before the body")))
	}()
}

// streamWrite passes p to the streamed PUT, refusing bytes beyond the size
// the Check declared (the request would not send them).
func (w *writer) streamWrite(p []byte) (int, error) {
	if w.sent+int64(len(p)) > w.check.Size {
		err := fmt.Errorf("minio: write of more than the %d bytes writecheck.Check.Size declared", w.check.Size)
		w.setErr(err)
		w.pw.CloseWithError(err)
		return 0, err
	}
	n, err := w.pw.Write(p)
	w.sent += int64(n)
	if err != nil {
		w.setErr(err)
		return n, w.failed()
	}
	return n, nil
}

// closeStream ends the streamed PUT's body and waits for its response. The
// server stored the SHA-256 it verified; when it differs from the Check's
// (the caller hashed other bytes than it wrote), the version written is
// removed again and the write fails.
func (w *writer) closeStream() error {
	err := w.failed()
	if err == nil && w.sent != w.check.Size {
		err = fmt.Errorf("minio: %d bytes written of the %d writecheck.Check.Size declared", w.sent, w.check.Size)
	}
	if err != nil {
		w.pw.CloseWithError(err)
		<-w.putDone
		return err
	}
	w.pw.Close()
	<-w.putDone
	if w.putErr != nil {
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		return w.putErr
	}
	// A server that does not echo the checksum verified nothing we know of.
	stored, verified := w.putInfo.ChecksumSHA256, ""
	if w.check.SHA256 != "" && stored != "" {
		if want, _ := w.check.Base64SHA256(); stored != want {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
			defer cancel()
			_ = w.b.client.RemoveObject(ctx, w.b.name, w.name, minio.RemoveObjectOptions{VersionID: w.putInfo.VersionID})
			return fmt.Errorf("minio: the server stored SHA-256 %s (base64), but writecheck.Check.SHA256 is %q: the version written was removed", stored, w.check.SHA256)
		}
		verified = writecheck.SHA256
	}
	w.checked(verified, w.putInfo.ETag)
	return nil
}

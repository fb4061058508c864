// Package minio is a gocloud.dev/blob driver for MinIO built on the native
// MinIO client, github.com/minio/minio-go/v7.
//
// gocloud's s3blob already reaches MinIO through the AWS SDK, but on-prem
// servers need care there (checksum trailers, path-style addressing), and
// s3blob hides its client. This driver talks to MinIO with MinIO's own
// client, exposes that client so callers can use what S3 portability leaves
// out (object lock, retention, legal hold, versioning), and returns an
// ordinary *blob.Bucket: code written against gocloud works unchanged.
//
// # URLs
//
// Open a bucket with OpenBucket and a *minio.Client, or with
// blob.OpenBucket and a URL (see URLOpener):
//
//	minio://127.0.0.1:9100/ballots?secure=false&region=us-east-1
//
// # Writes
//
// A write of up to Options.PartSize bytes (16 MiB by default) is buffered and
// sent as one PUT, with Content-MD5 when the caller gave
// WriterOptions.ContentMD5 (blob.Bucket.WriteAll always does). A larger write
// becomes a multipart upload of PartSize parts, Options.Concurrency of them
// (2 by default) in flight while the writer fills the next one, so a writer
// holds at most Concurrency+1 parts in memory; part buffers are reused from
// one write to the next. A single Write call carrying whole parts uploads them
// straight from the caller's slice. A writer can stream at most 10,000 parts
// (about 156 GiB with 16 MiB parts); set PartSize or WriterOptions.BufferSize
// for larger objects. WriterOptions.IfNotExist is checked by the server when
// a multipart upload starts and again when it completes.
//
// A write whose size the caller declared through a writecheck.Check (see
// below), larger than a part and up to Options.StreamLimit (100 MiB by
// default), streams as one PUT instead: its body goes through as it is
// written, nothing is buffered, and minio-go sends the SHA-256 it computes
// on the way as a trailing x-amz-checksum-sha256 (aws-chunked encoding),
// which the server verifies against what it received and stores. MinIO,
// versitygw and SeaweedFS take it (tested); set StreamLimit negative for a
// server that refuses trailing checksums.
//
// The payload of every other request is protected by SHA-256: over plain
// HTTP minio-go signs it chunk by chunk (the server checks the signatures),
// over HTTPS this driver sends its SHA-256 as x-amz-content-sha256; a write
// with a Check sends an x-amz-checksum-sha256 header the server verifies
// instead (per part on a multipart upload). Other x-amz-checksum trailers
// are sent only when the caller's *minio.Client enables them
// (minio.Options.TrailingHeaders); the URL opener never does, since older
// S3 servers reject them.
//
// A write whose context is cancelled is aborted, also when Close is never
// called: a single PUT is never sent (a streamed one is cut off), a
// multipart upload is aborted, and no object is created.
//
// # Escaping
//
// Keys are stored under the same object names as gocloud's s3blob uses
// (ASCII control characters and the "/" of "../" are hex-escaped as
// "__0x2f__"), so both drivers can share a bucket. In addition MinIO refuses
// some names that S3 accepts (XMinioInvalidObjectName); this driver escapes
// them instead of failing: the second "/" of "//", a leading "/", and a path
// component that is "." or ".." (then the separator after it, or its last dot).
// Such keys read, write, copy and list correctly, but a "/" that had to be
// escaped no longer separates "directories" in a delimited List. ObjectName
// gives the stored name of a key. Metadata keys and values are escaped
// like s3blob's, and metadata keys are returned lower-cased.
//
// # Differences from other gocloud backends
//
// These follow from MinIO and S3, and are covered by the tests of this
// package:
//   - List supports the delimiter "/" only (MinIO groups keys at "/" only; a
//     backslash delimiter pages forever there). Other delimiters return an
//     error with code gcerrors.Unimplemented.
//   - SignedURL for PUT with EnforceAbsentContentType returns Unimplemented:
//     S3 signatures cannot require a header to be absent. A PUT URL with a
//     ContentType is enforced by the signature.
//   - MD5 comes from the ETag and is nil for objects written in several parts
//     (larger than PartSize); also, untested here, for objects encrypted on
//     the server.
//   - CreateTime equals ModTime: S3 objects are immutable and Last-Modified
//     is when this version of the object was created.
//   - Deleting or overwriting an object version under retention or legal
//     hold fails with PermissionDenied, as on AWS (MinIO itself answers
//     InvalidRequest "Object is WORM protected"). A plain Delete in a
//     versioned bucket succeeds: it adds a delete marker.
//
// # As
//
// This package exposes the following types for As:
//   - Bucket: *minio.Client (see also Client and BucketName);
//     writecheck.MetadataSetter (copies an object onto itself with its
//     metadata replaced)
//   - Error: minio.ErrorResponse
//   - ListObject: minio.ObjectInfo
//   - ListOptions.BeforeList: *minio.ListObjectsOptions
//   - Reader: minio.ObjectInfo (with all response headers)
//   - ReaderOptions.BeforeRead: *minio.GetObjectOptions
//   - Attributes: minio.ObjectInfo
//   - WriterOptions.BeforeWrite: *minio.PutObjectOptions. What describes the
//     object is used (metadata, tags, retention, legal hold, storage class,
//     encryption, conditions such as SetMatchETag); upload tuning (PartSize,
//     NumThreads, checksum settings) is not: see Options.
//     *writecheck.Check: the server verifies x-amz-checksum-sha256 of a
//     single-part or streamed upload (Verified "sha256", when Check.SHA256
//     is set by Close; a streamed one whose stored SHA-256 is not
//     Check.SHA256 is removed again and fails) or of every part of a
//     multipart one ("sha256-parts"). Check.Size, when set, chooses a
//     streamed PUT (see Writes).
//   - CopyOptions.BeforeCopy: *minio.CopyDestOptions, *minio.CopySrcOptions
//   - DeleteOptions.BeforeDelete: *minio.RemoveObjectOptions
//   - SignedURLOptions.BeforeSign: *url.Values (query parameters to sign),
//     *http.Header (headers to sign)
package minio // import "github.com/civicport/civicport/adapters/minio"

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/hexescape"
	"github.com/civicport/civicport/internal/httpcode"
)

const (
	// DefaultPartSize is the default Options.PartSize.
	DefaultPartSize = 16 << 20
	// MinPartSize is the smallest part S3 accepts in a multipart upload.
	MinPartSize = 5 << 20
	// DefaultConcurrency is the default Options.Concurrency.
	DefaultConcurrency = 2
	// DefaultStreamLimit is the default Options.StreamLimit: AWS advises
	// multipart uploads from about 100 MB.
	DefaultStreamLimit = 100 << 20
	// maxListPage is the largest page ListPaged returns. One ListObjectsV2
	// request returns at most 1000 entries and the driver asks for one more
	// than a page, to learn whether another page follows.
	maxListPage = 999
)

// Options sets options for OpenBucket.
type Options struct {
	// PartSize is the part size of streamed writes, and the largest write
	// sent as a single PUT. Zero means DefaultPartSize; otherwise it must be
	// at least MinPartSize. WriterOptions.BufferSize, when at least
	// MinPartSize, overrides it for one write.
	PartSize int

	// Concurrency is how many parts of one write are uploaded at once. Zero
	// means DefaultConcurrency. A writer holds up to Concurrency+1 parts in
	// memory. WriterOptions.MaxConcurrency overrides it for one write.
	Concurrency int

	// StreamLimit is the largest write of a size known up front (the
	// Size of a writecheck.Check asked for through BeforeWrite) that is
	// streamed as one PUT instead of a multipart upload: nothing is
	// buffered beyond what is in flight, and the server verifies the
	// whole object's SHA-256, sent as a trailing x-amz-checksum-sha256
	// (aws-chunked encoding; MinIO and AWS S3 take it). Zero means
	// DefaultStreamLimit; negative means never (for servers that refuse
	// trailing checksums).
	StreamLimit int64
}

// OpenBucket returns a *blob.Bucket for the bucket bucketName reached through
// client. It does not contact the server; a missing bucket shows up as a
// gcerrors.NotFound error of the first operation.
func OpenBucket(ctx context.Context, client *minio.Client, bucketName string, opts *Options) (*blob.Bucket, error) {
	drv, err := openBucket(client, bucketName, opts)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(drv), nil
}

func openBucket(client *minio.Client, bucketName string, opts *Options) (*bucket, error) {
	if client == nil {
		return nil, errors.New("minio.OpenBucket: client is required")
	}
	if bucketName == "" {
		return nil, errors.New("minio.OpenBucket: bucket name is required")
	}
	if err := s3utils.CheckValidBucketName(bucketName); err != nil {
		return nil, fmt.Errorf("minio.OpenBucket: bucket name %q: %w", bucketName, err)
	}
	if opts == nil {
		opts = &Options{}
	}
	partSize := opts.PartSize
	switch {
	case partSize == 0:
		partSize = DefaultPartSize
	case partSize < MinPartSize:
		return nil, fmt.Errorf("minio.OpenBucket: PartSize %d is below the S3 minimum of %d bytes", partSize, MinPartSize)
	}
	conc := opts.Concurrency
	switch {
	case conc == 0:
		conc = DefaultConcurrency
	case conc < 0:
		return nil, fmt.Errorf("minio.OpenBucket: Concurrency %d is negative", conc)
	}
	streamLimit := opts.StreamLimit
	if streamLimit == 0 {
		streamLimit = DefaultStreamLimit
	}
	return &bucket{
		client:      client,
		name:        bucketName,
		partSize:    partSize,
		concurrency: conc,
		streamLimit: streamLimit,
		secure:      client.EndpointURL().Scheme == "https",
	}, nil
}

// bucketName is the type Bucket.As fills in for BucketName.
type bucketName string

// Client returns the *minio.Client behind b, if b was opened by this package
// (possibly wrapped, e.g. by blob.PrefixedBucket). Use it for what the
// portable API leaves out, without a second connection:
// PutObjectRetention, PutObjectLegalHold, GetBucketVersioning, ... Name
// objects with ObjectName(key) (and the prefix of a prefixed bucket).
func Client(b *blob.Bucket) (*minio.Client, bool) {
	var c *minio.Client
	return c, b.As(&c)
}

// BucketName returns the name of the MinIO bucket behind b, if b was opened
// by this package.
func BucketName(b *blob.Bucket) (string, bool) {
	var n bucketName
	return string(n), b.As(&n)
}

// bucket implements driver.Bucket.
type bucket struct {
	client      *minio.Client
	name        string
	partSize    int
	concurrency int
	streamLimit int64    // negative: never stream a single PUT
	secure      bool     // HTTPS endpoint: minio-go then sends no payload hash itself
	bufs        sync.Map // part size -> *sync.Pool of part buffers (*[]byte of that cap)
}

func (b *bucket) Close() error { return nil }

// As implements driver.Bucket.As.
func (b *bucket) As(i any) bool {
	switch p := i.(type) {
	case **minio.Client:
		*p = b.client
	case *bucketName:
		*p = bucketName(b.name)
	case *writecheck.MetadataSetter:
		*p = metadataSetter{b}
	default:
		return false
	}
	return true
}

// metadataSetter replaces an object's user metadata by copying it onto
// itself with x-amz-metadata-directive REPLACE (MinIO rewrites only the
// metadata of an unencrypted object; S3 copies server-side, up to 5 GiB).
// Content headers are read first and sent again, since REPLACE replaces
// them too.
type metadataSetter struct{ b *bucket }

func (m metadataSetter) SetMetadata(ctx context.Context, key string, md map[string]string, etag string) error {
	name := escapeKey(key, false)
	info, err := m.b.client.StatObject(ctx, m.b.name, name, minio.StatObjectOptions{})
	if err != nil {
		return err
	}
	etag = strings.Trim(etag, `"`)
	if etag != "" && etag != info.ETag {
		return fmt.Errorf("minio: %q: ETag %s, expected %s: %w", key, info.ETag, etag, writecheck.ErrChanged)
	}
	h := map[string]string{
		"X-Amz-Metadata-Directive":   "REPLACE",
		"X-Amz-Copy-Source-If-Match": info.ETag, // nothing rewritten between the stat and the copy
		"Content-Type":               info.ContentType,
	}
	for k, v := range map[string]string{
		"Cache-Control":       info.Metadata.Get("Cache-Control"),
		"Content-Disposition": info.Metadata.Get("Content-Disposition"),
		"Content-Encoding":    info.Metadata.Get("Content-Encoding"),
		"Content-Language":    info.Metadata.Get("Content-Language"),
	} {
		if v != "" {
			h[k] = v
		}
	}
	for k, v := range md {
		h["x-amz-meta-"+escapeMetadataKey(k)] = escapeMetadataValue(v)
	}
	_, err = minio.Core{Client: m.b.client}.CopyObject(ctx, m.b.name, name, m.b.name, name, h, minio.CopySrcOptions{}, minio.PutObjectOptions{})
	return err
}

// ErrorAs implements driver.Bucket.ErrorAs.
func (b *bucket) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// codeError is an error of this driver with its gcerrors code.
type codeError struct {
	code gcerrors.ErrorCode
	msg  string
}

func (e *codeError) Error() string { return e.msg }

func unimplemented(format string, args ...any) error {
	return &codeError{code: gcerrors.Unimplemented, msg: fmt.Sprintf(format, args...)}
}

// ErrorCode implements driver.Bucket.ErrorCode.
func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

func errorCode(err error) gcerrors.ErrorCode {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return gcerrors.Unknown
	}
	switch er.Code {
	case "InvalidRequest":
		// MinIO refuses to delete or overwrite a version under retention or
		// legal hold with a generic code; AWS says AccessDenied.
		if strings.Contains(er.Message, "WORM protected") {
			return gcerrors.PermissionDenied
		}
		return gcerrors.InvalidArgument
	case "NoSuchBucket", "NoSuchKey", "NoSuchVersion", "NoSuchUpload", "NotFound":
		return gcerrors.NotFound
	case "PreconditionFailed", "BadDigest", "XAmzContentSHA256Mismatch", "InvalidObjectState":
		return gcerrors.FailedPrecondition
	case "AccessDenied", "ObjectLocked", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AllAccessDisabled",
		"ExpiredToken", "InvalidToken", "AccountProblem", "Forbidden":
		return gcerrors.PermissionDenied
	case "InvalidArgument", "InvalidBucketName", "InvalidObjectName", "XMinioInvalidObjectName", "XMinioInvalidResourceName",
		"KeyTooLongError", "InvalidRange", "InvalidDigest", "EntityTooLarge",
		"EntityTooSmall", "MalformedXML", "InvalidPart", "InvalidPartOrder", "MetadataTooLarge":
		return gcerrors.InvalidArgument
	case "BucketAlreadyExists", "BucketAlreadyOwnedByYou":
		return gcerrors.AlreadyExists
	case "NotImplemented":
		return gcerrors.Unimplemented
	case "SlowDown", "ServiceUnavailable", "XMinioServerNotInitialized", "TooManyRequests":
		return gcerrors.ResourceExhausted
	case "InternalError":
		return gcerrors.Internal
	}
	return httpcode.Code(er.StatusCode)
}

// Attributes implements driver.Bucket.Attributes.
func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	info, err := b.client.StatObject(ctx, b.name, escapeKey(key, false), minio.StatObjectOptions{})
	if err != nil {
		return nil, err
	}
	return attributesOf(info), nil
}

// attributesOf turns a stat or GET response into driver attributes.
func attributesOf(info minio.ObjectInfo) *driver.Attributes {
	md := make(map[string]string, len(info.UserMetadata))
	for k, v := range info.UserMetadata {
		md[strings.ToLower(unescapeMetadataKey(k))] = unescapeMetadataValue(v)
	}
	return &driver.Attributes{
		CacheControl:       info.Metadata.Get("Cache-Control"),
		ContentDisposition: info.Metadata.Get("Content-Disposition"),
		ContentEncoding:    info.ContentEncoding,
		ContentLanguage:    info.Metadata.Get("Content-Language"),
		ContentType:        info.ContentType,
		Metadata:           md,
		CreateTime:         info.LastModified,
		ModTime:            info.LastModified,
		Size:               info.Size,
		MD5:                etagMD5(info.ETag, isEncrypted(info.Headers)),
		ETag:               `"` + info.ETag + `"`,
		AsFunc:             objectInfoAs(info),
	}
}

func objectInfoAs(info minio.ObjectInfo) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*minio.ObjectInfo)
		if ok {
			*p = info
		}
		return ok
	}
}

// etagMD5 returns the MD5 an ETag carries: a plain 32-digit hex ETag of an
// unencrypted object. Multipart ETags ("<hex>-<parts>") carry none.
func etagMD5(etag string, encrypted bool) []byte {
	if encrypted || len(etag) != 32 {
		return nil
	}
	md5, err := hex.DecodeString(etag)
	if err != nil {
		return nil
	}
	return md5
}

func isEncrypted(h http.Header) bool {
	return h.Get("X-Amz-Server-Side-Encryption") != "" ||
		h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != ""
}

// ListPaged implements driver.Bucket.ListPaged.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return nil, unimplemented(`minio: list delimiter %q is not supported; MinIO groups keys only at "/"`, opts.Delimiter)
	}
	pageSize := opts.PageSize
	if pageSize <= 0 || pageSize > maxListPage {
		pageSize = maxListPage
	}
	noOwner := false
	lo := &minio.ListObjectsOptions{
		Prefix:     escapeKey(opts.Prefix, true),
		Recursive:  opts.Delimiter == "",
		MaxKeys:    pageSize + 1,
		StartAfter: string(opts.PageToken),
		FetchOwner: &noOwner,
	}
	if opts.BeforeList != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.ListObjectsOptions)
			if ok {
				*p = lo
			}
			return ok
		}
		if err := opts.BeforeList(asFunc); err != nil {
			return nil, err
		}
	}

	// The page token is the object name of the last entry of the previous
	// page. Ask for one entry more than a page: if it comes, there is a next
	// page; if not, there is none, and no empty last page is returned. S3
	// servers fill a response up to max-keys, so this is one request.
	var objs []minio.ObjectInfo
	for o := range b.client.ListObjectsIter(ctx, b.name, *lo) {
		if o.Err != nil {
			return nil, o.Err
		}
		// A page may end on a common prefix ("dir/"); keys under it sort
		// after it, and the server may report it again.
		if lo.StartAfter != "" && o.Key <= lo.StartAfter {
			continue
		}
		objs = append(objs, o)
		if len(objs) > pageSize {
			break
		}
	}
	// minio-go yields a response's objects before its common prefixes.
	slices.SortFunc(objs, func(x, y minio.ObjectInfo) int { return strings.Compare(x.Key, y.Key) })

	page := &driver.ListPage{}
	if len(objs) > pageSize {
		objs = objs[:pageSize]
		page.NextPageToken = []byte(objs[pageSize-1].Key)
	}
	for _, o := range objs {
		lobj := &driver.ListObject{Key: hexescape.Unescape(o.Key), AsFunc: objectInfoAs(o)}
		// Common prefixes carry only a key.
		if !lo.Recursive && o.ETag == "" && o.LastModified.IsZero() && strings.HasSuffix(o.Key, "/") {
			lobj.IsDir = true
		} else {
			lobj.ModTime = o.LastModified
			lobj.Size = o.Size
			lobj.MD5 = etagMD5(o.ETag, false)
		}
		page.Objects = append(page.Objects, lobj)
	}
	return page, nil
}

// NewRangeReader implements driver.Bucket.NewRangeReader.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	name := escapeKey(key, false)
	gopts := &minio.GetObjectOptions{}
	switch {
	case length > 0:
		_ = gopts.SetRange(offset, offset+length-1)
	case length < 0 && offset > 0:
		_ = gopts.SetRange(offset, 0)
	}
	if opts.BeforeRead != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.GetObjectOptions)
			if ok {
				*p = gopts
			}
			return ok
		}
		if err := opts.BeforeRead(asFunc); err != nil {
			return nil, err
		}
	}
	if length == 0 {
		return b.emptyReader(ctx, name, gopts)
	}

	// One GET, read straight from the response. (A *minio.Object would add a
	// goroutine per reader and a channel round trip per Read, which costs
	// about 5% on small objects.)
	body, info, _, err := minio.Core{Client: b.client}.GetObject(ctx, b.name, name, *gopts)
	if err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "InvalidRange" {
			// The range starts at or after the end of the object.
			return b.emptyReader(ctx, name, gopts)
		}
		return nil, err
	}
	return &reader{
		body: body,
		info: info,
		attrs: driver.ReaderAttributes{
			ContentType: info.ContentType,
			ModTime:     info.LastModified,
			Size:        objectSize(info),
		},
	}, nil
}

// emptyReader returns a reader of no bytes for a read of length 0 or one that
// starts at or after the end of the object, after checking that the object
// exists.
func (b *bucket) emptyReader(ctx context.Context, name string, gopts *minio.GetObjectOptions) (driver.Reader, error) {
	sopts := minio.StatObjectOptions{VersionID: gopts.VersionID, ServerSideEncryption: gopts.ServerSideEncryption}
	info, err := b.client.StatObject(ctx, b.name, name, sopts)
	if err != nil {
		return nil, err
	}
	return &reader{
		body: http.NoBody,
		info: info,
		attrs: driver.ReaderAttributes{
			ContentType: info.ContentType,
			ModTime:     info.LastModified,
			Size:        info.Size,
		},
	}, nil
}

// objectSize is the size of the whole object, also for a range read, where
// info.Size is the size of the range: "Content-Range: bytes 10-14/27".
func objectSize(info minio.ObjectInfo) int64 {
	if cr := info.Headers.Get("Content-Range"); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				return n
			}
		}
	}
	return info.Size
}

// reader implements driver.Reader.
type reader struct {
	body  io.ReadCloser
	info  minio.ObjectInfo
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.body.Read(p) }
func (r *reader) Close() error                         { return r.body.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }

// As gives minio.ObjectInfo, and *driver.Attributes: the object's full
// attributes from the GET response, so a reader needs no extra stat.
func (r *reader) As(i any) bool {
	if p, ok := i.(**driver.Attributes); ok {
		*p = attributesOf(r.info)
		return true
	}
	return objectInfoAs(r.info)(i)
}

// Copy implements driver.Bucket.Copy with one server-side CopyObject
// request, which S3 limits to sources of up to 5 GiB.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	dst := &minio.CopyDestOptions{Bucket: b.name, Object: escapeKey(dstKey, false)}
	src := &minio.CopySrcOptions{Bucket: b.name, Object: escapeKey(srcKey, false)}
	if opts.BeforeCopy != nil {
		asFunc := func(i any) bool {
			switch p := i.(type) {
			case **minio.CopyDestOptions:
				*p = dst
			case **minio.CopySrcOptions:
				*p = src
			default:
				return false
			}
			return true
		}
		if err := opts.BeforeCopy(asFunc); err != nil {
			return err
		}
	}
	_, err := b.client.CopyObject(ctx, *dst, *src)
	return err
}

// Delete implements driver.Bucket.Delete.
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	name := escapeKey(key, false)
	// S3 deletes of missing objects succeed; the portable API wants NotFound.
	if _, err := b.client.StatObject(ctx, b.name, name, minio.StatObjectOptions{}); err != nil {
		return err
	}
	ropts := &minio.RemoveObjectOptions{}
	if opts.BeforeDelete != nil {
		asFunc := func(i any) bool {
			p, ok := i.(**minio.RemoveObjectOptions)
			if ok {
				*p = ropts
			}
			return ok
		}
		if err := opts.BeforeDelete(asFunc); err != nil {
			return err
		}
	}
	return b.client.RemoveObject(ctx, b.name, name, *ropts)
}

// SignedURL implements driver.Bucket.SignedURL.
func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	name := escapeKey(key, false)
	params := url.Values{}
	headers := http.Header{}
	switch opts.Method {
	case http.MethodGet, http.MethodDelete:
	case http.MethodPut:
		if opts.ContentType != "" {
			headers.Set("Content-Type", opts.ContentType)
		} else if opts.EnforceAbsentContentType {
			return "", unimplemented("minio: a signed PUT URL cannot require the Content-Type header to be absent")
		}
	default:
		return "", fmt.Errorf("minio: unsupported SignedURL method %q", opts.Method)
	}
	if opts.BeforeSign != nil {
		asFunc := func(i any) bool {
			switch p := i.(type) {
			case **url.Values:
				*p = &params
			case **http.Header:
				*p = &headers
			default:
				return false
			}
			return true
		}
		if err := opts.BeforeSign(asFunc); err != nil {
			return "", err
		}
	}
	u, err := b.client.PresignHeader(ctx, opts.Method, b.name, name, opts.Expiry, params, headers)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// partPool returns the pool of part buffers of size bytes. One pool per
// size: a caller that sets WriterOptions.BufferSize (blob/migrate does,
// per object) reuses its buffers as the default size does, instead of
// allocating and zeroing a fresh part each time.
func (b *bucket) partPool(size int) *sync.Pool {
	if p, ok := b.bufs.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := b.bufs.LoadOrStore(size, new(sync.Pool))
	return p.(*sync.Pool)
}

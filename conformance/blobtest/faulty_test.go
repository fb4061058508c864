package blobtest

// The failing case first: these tests prove the suite can fail. Each builds a
// deliberately broken bucket (a small test-only driver over a healthy
// in-memory bucket, through internal/driveradapter) and asserts that the
// suite reports a fail, with evidence, for the capability that is broken,
// while the capabilities the fault does not touch still pass.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/keyrefusal"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
	"github.com/civicport/civicport/internal/driveradapter"
)

// faultyOpener opens a fresh in-memory bucket per call and wraps its driver
// with wrap.
func faultyOpener(wrap func(driver.Bucket) driver.Bucket) Opener {
	return func(ctx context.Context) (*blob.Bucket, error) {
		return blob.NewBucket(wrap(driveradapter.Bucket(memblob.OpenBucket(nil)))), nil
	}
}

// runCaps runs only caps with small sizes, for speed.
func runCaps(t *testing.T, open Opener, caps ...string) []conformance.Result {
	t.Helper()
	res := Run(t.Context(), open, &Options{Capabilities: caps, LargeObjectSize: 3<<20 + 5, Logf: t.Logf})
	require.Len(t, res, len(caps))
	for _, r := range res {
		t.Logf("%s", r)
	}
	return res
}

var requireStatus = resulttest.RequireStatus

// --- a bucket that flips one byte of everything it reads ---

type flipBytes struct{ driver.Bucket }

func (f flipBytes) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	r, err := f.Bucket.NewRangeReader(ctx, key, off, n, o)
	if err != nil {
		return nil, err
	}
	return &flipReader{Reader: r, pos: off}, nil
}

// flipReader flips the byte at object offset 4097, if the range covers it.
type flipReader struct {
	driver.Reader
	pos int64
}

const flipAt = 4097

func (r *flipReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if i := flipAt - r.pos; i >= 0 && i < int64(n) {
		p[i] ^= 0x01
	}
	r.pos += int64(n)
	return n, err
}

func TestFaultyFlippedByte(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return flipBytes{d} }),
		conformance.BlobReadWrite, conformance.BlobLargeObject, conformance.BlobEmptyObject, conformance.BlobMetadata)
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Fail, "read-write/object.bin", "content differs at offset 4097")
	requireStatus(t, res, conformance.BlobLargeObject, conformance.Fail, "first difference at offset 4097", "sha256 got")
	requireStatus(t, res, conformance.BlobEmptyObject, conformance.Pass)
	requireStatus(t, res, conformance.BlobMetadata, conformance.Pass)
}

// --- a bucket that drops user metadata ---

type dropMetadata struct{ driver.Bucket }

func (d dropMetadata) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.Bucket.Attributes(ctx, key)
	if a != nil {
		a.Metadata = nil
	}
	return a, err
}

func TestFaultyDropsMetadata(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return dropMetadata{d} }),
		conformance.BlobMetadata, conformance.BlobCopyServerSide, conformance.BlobContentType)
	requireStatus(t, res, conformance.BlobMetadata, conformance.Fail, `metadata "mixed-case" missing`, `metadata "unicode-value" missing`)
	requireStatus(t, res, conformance.BlobCopyServerSide, conformance.Fail, "the copy has metadata")
	requireStatus(t, res, conformance.BlobContentType, conformance.Pass)
}

// --- a bucket that ignores IfNotExist ---

type ignoreIfNotExist struct{ driver.Bucket }

func (d ignoreIfNotExist) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	c := *o
	c.IfNotExist = false
	return d.Bucket.NewTypedWriter(ctx, key, ct, &c)
}

func TestFaultyIgnoresIfNotExist(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return ignoreIfNotExist{d} }),
		conformance.BlobConditionalWrite, conformance.BlobReadWrite)
	requireStatus(t, res, conformance.BlobConditionalWrite, conformance.Fail,
		"second if-not-exists write", "succeeded, want FailedPrecondition",
		`after the refused write: got "second if-not-exists write", want "first if-not-exists write"`,
		"concurrent if-not-exists writes", "8 succeeded")
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Pass)
}

// --- a bucket that silently truncates large objects ---

type truncateLarge struct{ driver.Bucket }

const truncateAfter = 2 << 20

func (d truncateLarge) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	w, err := d.Bucket.NewTypedWriter(ctx, key, ct, o)
	if err != nil {
		return nil, err
	}
	return &truncWriter{Writer: w}, nil
}

type truncWriter struct {
	driver.Writer
	n int64
}

func (w *truncWriter) Write(p []byte) (int, error) {
	keep := min(int64(len(p)), max(0, truncateAfter-w.n))
	w.n += int64(len(p))
	if keep > 0 {
		if _, err := w.Writer.Write(p[:keep]); err != nil {
			return 0, err
		}
	}
	return len(p), nil // claims it all
}

func TestFaultyTruncatesLargeObjects(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return truncateLarge{d} }),
		conformance.BlobLargeObject, conformance.BlobReadWrite, conformance.BlobListPagination)
	requireStatus(t, res, conformance.BlobLargeObject, conformance.Fail, "size 2097152, want 3145733")
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Pass)
	requireStatus(t, res, conformance.BlobListPagination, conformance.Pass)
}

// --- a bucket that reports a wrong MD5, and one that commits refused writes ---

type wrongMD5 struct{ driver.Bucket }

func (d wrongMD5) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.Bucket.Attributes(ctx, key)
	if a != nil && len(a.MD5) > 0 {
		a.MD5 = append([]byte(nil), a.MD5...)
		a.MD5[0] ^= 0xff
	}
	return a, err
}

// ignoreCancel writes with a context that is never cancelled, so a write the
// portable layer aborts (wrong ContentMD5) is committed anyway.
type ignoreCancel struct{ driver.Bucket }

func (d ignoreCancel) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	c := *o
	c.ContentMD5 = nil
	return d.Bucket.NewTypedWriter(context.WithoutCancel(ctx), key, ct, &c)
}

// noMD5 honestly reports no MD5.
type noMD5 struct{ driver.Bucket }

func (d noMD5) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.Bucket.Attributes(ctx, key)
	if a != nil {
		a.MD5 = nil
	}
	return a, err
}

func (d noMD5) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	p, err := d.Bucket.ListPaged(ctx, o)
	if p != nil {
		for _, obj := range p.Objects {
			obj.MD5 = nil
		}
	}
	return p, err
}

func TestFaultyMD5(t *testing.T) {
	t.Run("wrong MD5 reported", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return wrongMD5{d} }), conformance.BlobMD5)
		requireStatus(t, res, conformance.BlobMD5, conformance.Fail, "Attributes.MD5 of", "md5/object.bin")
	})
	t.Run("refused write committed", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return ignoreCancel{d} }), conformance.BlobMD5)
		requireStatus(t, res, conformance.BlobMD5, conformance.Fail,
			"was created by a write refused for a wrong ContentMD5",
			"changed by an overwrite refused for a wrong ContentMD5")
	})
	t.Run("no MD5 is unsupported, not fail", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return noMD5{d} }), conformance.BlobMD5)
		requireStatus(t, res, conformance.BlobMD5, conformance.Unsupported, "reports no MD5")
	})
}

// --- a bucket whose listing stops after the first page ---

type firstPageOnly struct{ driver.Bucket }

func (d firstPageOnly) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	p, err := d.Bucket.ListPaged(ctx, o)
	if p != nil {
		p.NextPageToken = nil
	}
	return p, err
}

func TestFaultyPagination(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return firstPageOnly{d} }),
		conformance.BlobListPagination, conformance.BlobListPrefixDelimiter)
	requireStatus(t, res, conformance.BlobListPagination, conformance.Fail,
		"ListPage with pages of 1000: 100 of 1100 keys missing", "pages of 7: 1093 of 1100 keys missing", `"k001000"`)
	// Whole listings are right; listing a directory page by page loses
	// everything after the first page.
	requireStatus(t, res, conformance.BlobListPrefixDelimiter, conformance.Fail,
		`list prefix "" delimiter "/" in pages of 1: got ["alt/ (dir)"]`)
}

// --- a bucket that ignores the page size when a delimiter is set, and
// groups only by "/" (fake-gcs-server's two delimiter bugs) ---

type delimiterBugs struct{ driver.Bucket }

func (d delimiterBugs) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	c := *o
	if c.Delimiter != "" {
		c.PageSize = 0
	}
	if c.Delimiter != "" && c.Delimiter != "/" {
		c.Delimiter = "/"
	}
	return d.Bucket.ListPaged(ctx, &c)
}

func TestFaultyDelimiterListing(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return delimiterBugs{d} }), conformance.BlobListPrefixDelimiter)
	requireStatus(t, res, conformance.BlobListPrefixDelimiter, conformance.Fail,
		`list prefix "" delimiter "/" in pages of 1: a page of 5 entries`,
		`list prefix "alt/" delimiter "-": got ["alt/x-1.txt" "alt/x-2.txt" "alt/y-1.txt" "alt/z.txt"]`)
}

// --- a bucket that normalises keys to NFC (as some file systems do) ---

type nfcKeys struct{ driver.Bucket }

func (d nfcKeys) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	return d.Bucket.Attributes(ctx, norm.NFC.String(key))
}

func (d nfcKeys) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	return d.Bucket.NewRangeReader(ctx, norm.NFC.String(key), off, n, o)
}

func (d nfcKeys) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	return d.Bucket.NewTypedWriter(ctx, norm.NFC.String(key), ct, o)
}

func (d nfcKeys) Delete(ctx context.Context, key string, o *driver.DeleteOptions) error {
	return d.Bucket.Delete(ctx, norm.NFC.String(key), o)
}

func TestFaultyNormalisesKeys(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return nfcKeys{d} }),
		conformance.BlobUnicodeKeys, conformance.BlobSpecialKeys)
	requireStatus(t, res, conformance.BlobUnicodeKeys, conformance.Fail,
		"keys did not round-trip",
		`"norm/café.txt": read back the content of "norm/cafe\u0301.txt"`,
		`"norm/cafe\u0301.txt" (not NFC): not listed as written; listed as "norm/café.txt"`)
	requireStatus(t, res, conformance.BlobSpecialKeys, conformance.Pass)
}

// --- a bucket that refuses keys with "+" ---

type refusePlus struct{ driver.Bucket }

func (d refusePlus) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	for _, c := range key {
		if c == '+' {
			return nil, errors.New("invalid object name")
		}
	}
	return d.Bucket.NewTypedWriter(ctx, key, ct, o)
}

func TestFaultyRefusesKeys(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return refusePlus{d} }),
		conformance.BlobSpecialKeys, conformance.BlobCopyServerSide)
	requireStatus(t, res, conformance.BlobSpecialKeys, conformance.Fail,
		`1 of 30 keys did not round-trip: "plus+sign": write refused: Unknown: invalid object name`)
	requireStatus(t, res, conformance.BlobCopyServerSide, conformance.Fail, `"plus+sign.bin": write source`)
}

// --- buckets that refuse a key as they document (keyrefusal), or not ---

// refuseLongSegments refuses keys with a path segment over 255 bytes: with
// a documented *keyrefusal.Error, or (plain) an error of its own. leaky
// writes the object before refusing it; clean stores every key
// path-cleaned ("single/./dot" is "single/dot"), a silent change.
type refuseLongSegments struct {
	driver.Bucket
	plain, leaky, clean bool
}

func (d refuseLongSegments) k(key string) string {
	if d.clean {
		return path.Clean(key)
	}
	return key
}

func (d refuseLongSegments) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	for _, seg := range strings.Split(key, "/") {
		if len(seg) <= 255 {
			continue
		}
		if d.plain {
			return nil, errors.New("file name too long")
		}
		if d.leaky {
			c := *o
			c.ContentMD5 = nil
			w, err := d.Bucket.NewTypedWriter(ctx, key, ct, &c)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write([]byte("half written")); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
		}
		return nil, &keyrefusal.Error{Backend: "test bucket", Key: key, Reason: fmt.Sprintf("%q has a path segment of %d bytes; names are at most 255", key, len(seg))}
	}
	return d.Bucket.NewTypedWriter(ctx, d.k(key), ct, o)
}

func (d refuseLongSegments) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	return d.Bucket.NewRangeReader(ctx, d.k(key), off, n, o)
}

func (d refuseLongSegments) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	return d.Bucket.Attributes(ctx, d.k(key))
}

func (d refuseLongSegments) Delete(ctx context.Context, key string, o *driver.DeleteOptions) error {
	return d.Bucket.Delete(ctx, d.k(key), o)
}

// A refusal the backend documents (a *keyrefusal.Error) is named in the
// detail and does not fail the check, behind a caller's prefix too; the
// same refusal as a plain error fails; a documented refusal excuses
// neither a key silently stored under another name nor a refused key left
// in the bucket.
func TestSpecialKeysDocumentedRefusal(t *testing.T) {
	prefix := "civicport-conform-0123456789ab/01/"
	open := func(d refuseLongSegments) Opener {
		return func(ctx context.Context) (*blob.Bucket, error) {
			d.Bucket = driveradapter.Bucket(memblob.OpenBucket(nil))
			return blob.PrefixedBucket(blob.NewBucket(d), prefix), nil
		}
	}
	run := func(d refuseLongSegments) []conformance.Result {
		t.Helper()
		res := Run(t.Context(), open(d), &Options{Capabilities: []string{conformance.BlobSpecialKeys}, KeyPrefixLen: len(prefix), Logf: t.Logf})
		require.Len(t, res, 1)
		t.Logf("%s", res[0])
		return res
	}
	segment := `"segment/ssssssssssssssss"..."ssssssssssss" (one 300-byte path segment)`
	requireStatus(t, run(refuseLongSegments{}), conformance.BlobSpecialKeys, conformance.Pass,
		"29 keys round-tripped (write, read, list, delete); 1 refused as the backend documents: "+segment+`: "segment/sss`,
		`sss" has a path segment of 300 bytes; names are at most 255`)
	requireStatus(t, run(refuseLongSegments{plain: true}), conformance.BlobSpecialKeys, conformance.Fail,
		"1 of 30 keys did not round-trip: "+segment+": write refused: Unknown: file name too long")
	requireStatus(t, run(refuseLongSegments{clean: true}), conformance.BlobSpecialKeys, conformance.Fail,
		`"single/./dot": read back the content of "single/dot"`, "(and 1 refused as the backend documents)")
	requireStatus(t, run(refuseLongSegments{leaky: true}), conformance.BlobSpecialKeys, conformance.Fail,
		segment+": refused as documented, but then Exists = true", segment+": refused as documented, but listed")
}

// --- honest backends: Unimplemented is unsupported, never fail ---

type noCopyNoConditional struct{ driver.Bucket }

func (d noCopyNoConditional) Copy(context.Context, string, string, *driver.CopyOptions) error {
	return errUnimplemented
}

func (d noCopyNoConditional) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	if o.IfNotExist {
		return nil, errUnimplemented
	}
	return d.Bucket.NewTypedWriter(ctx, key, ct, o)
}

func (d noCopyNoConditional) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errUnimplemented) {
		return gcerrors.Unimplemented
	}
	return d.Bucket.ErrorCode(err)
}

var errUnimplemented = errors.New("not implemented by this backend")

func TestHonestUnimplementedIsUnsupported(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return noCopyNoConditional{d} }),
		conformance.BlobCopyServerSide, conformance.BlobConditionalWrite, conformance.BlobNotFound)
	requireStatus(t, res, conformance.BlobCopyServerSide, conformance.Unsupported, "Copy is not implemented")
	requireStatus(t, res, conformance.BlobConditionalWrite, conformance.Unsupported, "IfNotExist writes are not implemented")
	requireStatus(t, res, conformance.BlobNotFound, conformance.Pass)
}

// --- a bucket that signs URLs that do not work: it claims the capability ---

type brokenSignedURL struct{ driver.Bucket }

func (d brokenSignedURL) SignedURL(ctx context.Context, key string, o *driver.SignedURLOptions) (string, error) {
	return "http://127.0.0.1:1/" + key + "?signature=nope", nil
}

func TestFaultySignedURLIsFailNotSkip(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return brokenSignedURL{d} }), conformance.BlobSignedURL)
	requireStatus(t, res, conformance.BlobSignedURL, conformance.Fail, "GET the signed URL for", "PUT to the signed URL for")
}

// --- a bucket that shows S3 version ids but ignores the version asked for ---

type fakeVersions struct {
	driver.Bucket
	n *atomic.Int64
}

func (d fakeVersions) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.Bucket.Attributes(ctx, key)
	if a == nil {
		return a, err
	}
	id := "v" + string(rune('a'+d.n.Add(1)%26))
	inner := a.AsFunc
	a.AsFunc = func(i any) bool {
		if h, ok := i.(*s3.HeadObjectOutput); ok {
			h.VersionId = &id
			return true
		}
		return inner != nil && inner(i)
	}
	return a, err
}

func (d fakeVersions) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	in := &s3.GetObjectInput{}
	if o != nil && o.BeforeRead != nil {
		if err := o.BeforeRead(func(i any) bool {
			if p, ok := i.(**s3.GetObjectInput); ok {
				*p = in
				return true
			}
			return false
		}); err != nil {
			return nil, err
		}
	}
	// in.VersionId is ignored: the newest content is returned.
	return d.Bucket.NewRangeReader(ctx, key, off, n, &driver.ReaderOptions{})
}

func TestFaultyVersioningIgnoresVersionID(t *testing.T) {
	var n atomic.Int64
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return fakeVersions{d, &n} }), conformance.BlobVersioning)
	requireStatus(t, res, conformance.BlobVersioning, conformance.Fail, "returned the newer content: the version id was ignored")
}

// --- Run never panics, honours its context and its timeout ---

type panicky struct{ driver.Bucket }

func (panicky) Attributes(context.Context, string) (*driver.Attributes, error) {
	panic("driver bug")
}

type hangingReads struct{ driver.Bucket }

func (hangingReads) NewRangeReader(ctx context.Context, _ string, _, _ int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestRunNeverPanics(t *testing.T) {
	res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return panicky{d} }),
		conformance.BlobReadWrite, conformance.BlobEmptyObject)
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Fail, "the check panicked: driver bug")

	res = Run(t.Context(), nil, &Options{Capabilities: []string{conformance.BlobReadWrite}})
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Fail, "Opener is nil")

	res = Run(t.Context(), func(context.Context) (*blob.Bucket, error) { panic("opener bug") },
		&Options{Capabilities: []string{conformance.BlobMD5}})
	requireStatus(t, res, conformance.BlobMD5, conformance.Fail, "the Opener panicked: opener bug")

	res = Run(t.Context(), func(context.Context) (*blob.Bucket, error) { return nil, errors.New("no credentials") },
		&Options{Capabilities: []string{conformance.BlobMD5}})
	requireStatus(t, res, conformance.BlobMD5, conformance.Fail, "opening a fresh bucket: Unknown: no credentials")

	res = Run(t.Context(), faultyOpener(func(d driver.Bucket) driver.Bucket { return d }),
		&Options{Capabilities: []string{"blob.teleport", conformance.BlobReadWrite}})
	require.Len(t, res, 2)
	assert.Equal(t, conformance.BlobReadWrite, res[0].Capability, "suite order first")
	requireStatus(t, res, "blob.teleport", conformance.Skipped, `unknown capability "blob.teleport"`)
}

func TestRunHonoursContext(t *testing.T) {
	healthy := faultyOpener(func(d driver.Bucket) driver.Bucket { return d })

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := Run(ctx, healthy, nil)
	require.Len(t, res, len(conformance.BlobCapabilities()))
	for _, r := range res {
		assert.Equal(t, conformance.Skipped, r.Status, r.Capability)
		assert.Contains(t, r.Detail, "not run: context canceled")
	}

	// Cancelled during the third check: it and the rest are skipped.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	var opens atomic.Int32
	res = Run(ctx, func(ctx context.Context) (*blob.Bucket, error) {
		if opens.Add(1) == 3 {
			cancel()
		}
		return healthy(ctx)
	}, nil)
	assert.Equal(t, conformance.Pass, res[0].Status)
	assert.Equal(t, conformance.Pass, res[1].Status)
	for _, r := range res[2:] {
		assert.Equal(t, conformance.Skipped, r.Status, r.Capability)
	}
	assert.Contains(t, res[2].Detail, "interrupted: context canceled")

	// A hung backend is a fail once the check's time is up.
	start := time.Now()
	res = Run(t.Context(), faultyOpener(func(d driver.Bucket) driver.Bucket { return hangingReads{d} }),
		&Options{Capabilities: []string{conformance.BlobReadWrite}, CheckTimeout: 300 * time.Millisecond})
	requireStatus(t, res, conformance.BlobReadWrite, conformance.Fail, "check did not finish within 300ms", "DeadlineExceeded")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// patternReader and verifier are what keep large objects out of memory;
// check they agree with each other at arbitrary offsets.
func TestPattern(t *testing.T) {
	p := pattern(99)
	all, err := io.ReadAll(p.reader(1000))
	require.NoError(t, err)
	require.Len(t, all, 1000)
	for _, off := range []int64{0, 1, 7, 8, 9, 500, 993} {
		assert.Equal(t, all[off:], p.bytes(off, 1000-off), "offset %d", off)
	}
	v := newVerifier(p, 3)
	_, _ = v.Write(all[3:500])
	_, _ = v.Write(all[500:])
	assert.Empty(t, v.problem(997, nil))
	bad := append([]byte(nil), all...)
	bad[700] ^= 1
	v = newVerifier(p, 0)
	_, _ = v.Write(bad)
	assert.Contains(t, v.problem(1000, nil), "first difference at offset 700")
}

// Run leaves no goroutines behind (concurrent writers, races, cleanup).
func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	res := Run(t.Context(), faultyOpener(func(d driver.Bucket) driver.Bucket { return brokenSignedURL{d} }),
		&Options{LargeObjectSize: 1 << 20})
	require.Len(t, res, len(conformance.BlobCapabilities()))
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines before Run: %d", before)
}

// --- a server with MinIO's 1,024-byte key limit, behind a caller's prefix ---

type keyLimit struct{ driver.Bucket }

func (d keyLimit) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	if len(key) > 1024 {
		return nil, errors.New("Object name cannot be longer than 1024 characters")
	}
	return d.Bucket.NewTypedWriter(ctx, key, ct, o)
}

// The caller isolates the run under a long prefix (as conform does). The
// suite's 1,000-byte key counts that prefix when told its length, and the
// backend passes; not told, the harness makes a key the server rightly
// refuses, which is what the CLI used to report against MinIO.
func TestSpecialKeysCountTheCallersPrefix(t *testing.T) {
	prefix := "civicport-conform-0123456789ab/" + strings.Repeat("p", 60) + "/01/"
	open := func(ctx context.Context) (*blob.Bucket, error) {
		inner := blob.NewBucket(keyLimit{driveradapter.Bucket(memblob.OpenBucket(nil))})
		return blob.PrefixedBucket(inner, prefix), nil
	}
	run := func(prefixLen int) []conformance.Result {
		res := Run(t.Context(), open, &Options{Capabilities: []string{conformance.BlobSpecialKeys}, KeyPrefixLen: prefixLen, Logf: t.Logf})
		require.Len(t, res, 1)
		t.Logf("%s", res[0])
		return res
	}
	requireStatus(t, run(len(prefix)), conformance.BlobSpecialKeys, conformance.Pass)
	requireStatus(t, run(0), conformance.BlobSpecialKeys, conformance.Fail, "longer than 1024 characters")
}

// --- a bucket that reports a missing object as an unknown error ---

type notFoundUnknown struct{ driver.Bucket }

// hide turns a NotFound into an error with no code: the portable layer
// then reports Unknown.
func (d notFoundUnknown) hide(err error) error {
	if err != nil && d.Bucket.ErrorCode(err) == gcerrors.NotFound {
		return errors.New("something went wrong")
	}
	return err
}

func (d notFoundUnknown) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.Bucket.Attributes(ctx, key)
	return a, d.hide(err)
}

func (d notFoundUnknown) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	r, err := d.Bucket.NewRangeReader(ctx, key, off, n, o)
	return r, d.hide(err)
}

func (d notFoundUnknown) Delete(ctx context.Context, key string, o *driver.DeleteOptions) error {
	return d.hide(d.Bucket.Delete(ctx, key, o))
}

func (d notFoundUnknown) ErrorCode(err error) gcerrors.ErrorCode {
	if err != nil && err.Error() == "something went wrong" {
		return gcerrors.Unknown
	}
	return d.Bucket.ErrorCode(err)
}

// --- a bucket whose range reads ignore the offset ---

type rangeFromStart struct{ driver.Bucket }

func (d rangeFromStart) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	return d.Bucket.NewRangeReader(ctx, key, 0, n, o)
}

// --- a bucket that drops the HTTP headers it is given ---

type dropHeaders struct{ driver.Bucket }

func (d dropHeaders) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	c := *o
	c.CacheControl, c.ContentDisposition, c.ContentLanguage = "", "", ""
	return d.Bucket.NewTypedWriter(ctx, key, ct, &c)
}

func TestFaultyNotFoundRangeHeaders(t *testing.T) {
	t.Run("not found is unknown", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return notFoundUnknown{d} }), conformance.BlobNotFound, conformance.BlobContentType)
		requireStatus(t, res, conformance.BlobNotFound, conformance.Fail, "got Unknown: something went wrong, want NotFound")
		requireStatus(t, res, conformance.BlobContentType, conformance.Pass)
	})
	t.Run("range from the start", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return rangeFromStart{d} }), conformance.BlobRangeRead, conformance.BlobReadWrite)
		requireStatus(t, res, conformance.BlobRangeRead, conformance.Fail, "range (offset 100, length 1000): content differs at offset 0")
		requireStatus(t, res, conformance.BlobReadWrite, conformance.Pass)
	})
	t.Run("headers dropped", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return dropHeaders{d} }), conformance.BlobHTTPHeaders, conformance.BlobContentType)
		requireStatus(t, res, conformance.BlobHTTPHeaders, conformance.Fail, `Cache-Control: got "", want "public, max-age=3600"`, `Content-Language: got "", want "fr-CA"`)
		requireStatus(t, res, conformance.BlobContentType, conformance.Pass)
	})
}

// --- a bucket that stores every object as application/octet-stream ---

type octetStream struct{ driver.Bucket }

func (d octetStream) NewTypedWriter(ctx context.Context, key, _ string, o *driver.WriterOptions) (driver.Writer, error) {
	return d.Bucket.NewTypedWriter(ctx, key, "application/octet-stream", o)
}

// --- a bucket that cannot store an empty object (it writes a newline) ---

type noEmpty struct{ driver.Bucket }

func (d noEmpty) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	w, err := d.Bucket.NewTypedWriter(ctx, key, ct, o)
	if err != nil {
		return nil, err
	}
	return &padEmpty{Writer: w}, nil
}

type padEmpty struct {
	driver.Writer
	n int
}

func (w *padEmpty) Write(p []byte) (int, error) { w.n += len(p); return w.Writer.Write(p) }
func (w *padEmpty) Close() error {
	if w.n == 0 {
		if _, err := w.Writer.Write([]byte("\n")); err != nil {
			return err
		}
	}
	return w.Writer.Close()
}

func TestFaultyContentTypeAndEmptyObject(t *testing.T) {
	t.Run("content type lost", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return octetStream{d} }), conformance.BlobContentType, conformance.BlobReadWrite)
		requireStatus(t, res, conformance.BlobContentType, conformance.Fail, `csv: Attributes.ContentType "application/octet-stream", want "text/csv; charset=utf-8"`)
		requireStatus(t, res, conformance.BlobReadWrite, conformance.Pass)
	})
	t.Run("empty object padded", func(t *testing.T) {
		res := runCaps(t, faultyOpener(func(d driver.Bucket) driver.Bucket { return noEmpty{d} }), conformance.BlobEmptyObject, conformance.BlobReadWrite)
		requireStatus(t, res, conformance.BlobEmptyObject, conformance.Fail, "WriteAll of 0 bytes to")
		requireStatus(t, res, conformance.BlobReadWrite, conformance.Pass)
	})
}

package blob

import (
	"context"
	"net/url"
	"strconv"

	"cloud.google.com/go/storage"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/driveradapter"
)

// gcsBucket mends gocloud's gcsblob where it would alter data in transit.
//
// Reads: the GCS client asks for gzip and decompresses objects stored with
// "Content-Encoding: gzip" (GCS "decompressive transcoding"), so a read
// returns other bytes than were stored and than Attributes().Size counts. A
// migration would then write the decompressed bytes under a gzip header:
// a silently corrupted copy. civicport always reads the stored bytes
// (ObjectHandle.ReadCompressed), as every other backend does.
//
// Writes report the CRC32C the server verified (NewTypedWriter); json is
// false for a bucket opened over gRPC (grpc=true or zonal=true), whose
// uploads are not tested here and report nothing.
type gcsBucket struct {
	driver.Bucket
	json bool
}

func wrapGCS(b *gcblob.Bucket, u *url.URL) *gcblob.Bucket {
	return gcblob.NewBucket(gcsBucket{Bucket: driveradapter.Bucket(b), json: !gcsGRPC(u)})
}

// gcsGRPC reports whether u opens its bucket over gRPC, as gcsblob reads
// it (a value it cannot parse has already failed the open).
func gcsGRPC(u *url.URL) bool {
	for _, k := range []string{"grpc", "zonal"} {
		if on, err := strconv.ParseBool(u.Query().Get(k)); err == nil && on {
			return true
		}
	}
	return false
}

func (b gcsBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	o := driver.ReaderOptions{}
	if opts != nil {
		o = *opts
	}
	o.BeforeRead = before(func(as func(any) bool) {
		var oh **storage.ObjectHandle
		if as(&oh) {
			*oh = (*oh).ReadCompressed(true)
		}
	}, o.BeforeRead)
	return b.Bucket.NewRangeReader(ctx, key, offset, length, &o)
}

// NewTypedWriter answers BeforeWrite's As for a *writecheck.Check, which
// reports what the server verified; civicport sends nothing of its own (a
// Check's SHA-256 yields no CRC32C, and GCS verifies no SHA-256).
//
// Over the JSON API the storage client (cloud.google.com/go/storage v1.69
// with google.golang.org/api) computes a CRC32C of the bytes written unless
// its Writer's DisableAutoChecksum is set, or sends the caller's own CRC32C
// when SendCRC32C is. An object smaller than the Writer's ChunkSize (gocloud:
// WriterOptions.BufferSize, default 16 MiB) goes in one request with that
// CRC32C in its metadata, which the server checks against what it received,
// refusing the write on a mismatch: Verified "crc32c". A larger object goes
// as a resumable upload whose final request carries the client's CRC32C in
// X-Goog-Hash; Cloud Storage documents that it verifies it too, but
// fake-gcs-server ignores it (TestFakeGCSIgnoresResumableCRC32C), so that is
// not claimed. With ChunkSize 0 (BufferSize < 0) the body streams in one
// request without the client's CRC32C (the client compares the server's
// only after the object is stored): nothing is claimed either, unless the
// caller sent its own.
func (b gcsBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	var sw *storage.Writer
	o, wc := offerCheck(opts, func(as func(any) bool, wc *writecheck.Check) error {
		if wc != nil && b.json {
			as(&sw) // after the caller's BeforeWrite: its settings are final
		}
		return nil
	})
	w, err := b.Bucket.NewTypedWriter(ctx, key, contentType, o)
	if err != nil || *wc == nil {
		return w, err
	}
	return &checkedWriter{Writer: w, done: func() error { (*wc).Verified = gcsVerified(sw); return nil }}, nil
}

// gcsVerified is what the server verified of sw's committed upload (see
// NewTypedWriter): writecheck.CRC32C when the upload went in one request
// carrying a CRC32C, else "". sw.ChunkSize is compared unrounded (the
// client rounds it up to a multiple of 256 KiB), so an object between the
// two is not claimed although it was checked.
func gcsVerified(sw *storage.Writer) string {
	if sw == nil {
		return ""
	}
	a := sw.Attrs()
	if a == nil {
		return ""
	}
	oneRequest := sw.ChunkSize == 0 || a.Size < int64(sw.ChunkSize)
	sent := sw.SendCRC32C || (sw.ChunkSize > 0 && !sw.DisableAutoChecksum)
	if oneRequest && sent {
		return writecheck.CRC32C
	}
	return ""
}

package blob

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/hexescape"
)

// s3Bucket mends gocloud's s3blob where it breaks on S3-compatible servers.
//
// Copy: s3blob escapes the copy source with url.QueryEscape, which turns a
// space into "+"; S3 servers read "+" in a path as a plus sign, so copying
// a key with a space fails with NotFound (or copies the wrong object). A
// literal "+" is escaped as "%2B" by QueryEscape, so every "+" in the copy
// source stands for a space and is rewritten to "%20".
type s3Bucket struct{ driver.Bucket }

func wrapS3(b *gcblob.Bucket) *gcblob.Bucket {
	return gcblob.NewBucket(s3Bucket{driveradapter.Bucket(b)})
}

func (b s3Bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	o := driver.CopyOptions{}
	if opts != nil {
		o = *opts
	}
	o.BeforeCopy = before(func(as func(any) bool) {
		var in *s3.CopyObjectInput
		if as(&in) && in.CopySource != nil {
			src := strings.ReplaceAll(*in.CopySource, "+", "%20")
			in.CopySource = &src
		}
	}, o.BeforeCopy)
	return b.Bucket.Copy(ctx, dstKey, srcKey, &o)
}

// before returns a Before* callback that applies mend, then the caller's
// own callback (if any), so a caller can still override what mend set.
func before(mend func(as func(any) bool), user func(as func(any) bool) error) func(as func(any) bool) error {
	return func(as func(any) bool) error {
		mend(as)
		if user != nil {
			return user(as)
		}
		return nil
	}
}

// s3blob's transfer manager sends an object smaller than this as one PUT,
// a larger one as a multipart upload (transfermanager's default
// MultipartUploadThreshold, which s3blob does not change).
const s3SinglePartMax = 16 << 20

// NewTypedWriter answers BeforeWrite's As for a *writecheck.Check: the
// upload then carries x-amz-checksum-sha256, which the server verifies
// (and stores). s3blob itself sends no checksum (its requests go
// UNSIGNED-PAYLOAD with RequestChecksumCalculation when_required, as
// S3-compatible servers expect), so without a Check nothing is verified by
// the server.
//
// A single-part upload whose SHA-256 the caller gave up front carries that
// SHA-256 (Verified "sha256"); otherwise the SDK computes each part's
// SHA-256 from the bytes it sends (Verified "sha256-parts"; for one part
// that is the whole object's, but not compared with the caller's).
func (b s3Bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	verified := writecheck.SHA256Parts
	o, wc := offerCheck(opts, func(as func(any) bool, wc *writecheck.Check) error {
		var in *transfermanager.UploadObjectInput
		if wc == nil || !as(&in) {
			return nil
		}
		if b64, ok := wc.Base64SHA256(); ok && wc.Size >= 0 && wc.Size < s3SinglePartMax {
			in.ChecksumSHA256 = aws.String(b64)
			verified = writecheck.SHA256
		} else {
			in.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmSha256
		}
		return nil
	})
	w, err := b.Bucket.NewTypedWriter(ctx, key, contentType, o)
	if err != nil || *wc == nil {
		return w, err
	}
	return &checkedWriter{Writer: w, done: func() error { (*wc).Verified = verified; return nil }}, nil
}

// As also answers for a *writecheck.MetadataSetter (s3SetMetadata).
func (b s3Bucket) As(i any) bool {
	if p, ok := i.(*writecheck.MetadataSetter); ok {
		*p = s3SetMetadata{b}
		return true
	}
	return b.Bucket.As(i)
}

// s3SetMetadata replaces an object's user metadata by copying it onto
// itself with MetadataDirective REPLACE (server-side; up to 5 GiB, S3's
// CopyObject limit), conditional on its ETag (x-amz-copy-source-if-match).
// REPLACE also replaces the content headers, so they are read and sent
// again; metadata is escaped as s3blob escapes it on writes.
type s3SetMetadata struct{ b s3Bucket }

func (s s3SetMetadata) SetMetadata(ctx context.Context, key string, md map[string]string, etag string) error {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return err
	}
	if etag != "" && strings.Trim(etag, `"`) != strings.Trim(a.ETag, `"`) {
		return fmt.Errorf("s3: %q: ETag %s, expected %s: %w", key, a.ETag, etag, writecheck.ErrChanged)
	}
	return s.b.Copy(ctx, key, key, &driver.CopyOptions{BeforeCopy: func(as func(any) bool) error {
		var in *s3.CopyObjectInput
		if !as(&in) {
			return fmt.Errorf("s3: no CopyObjectInput to replace %q's metadata", key)
		}
		in.MetadataDirective = s3types.MetadataDirectiveReplace
		in.CopySourceIfMatch = aws.String(a.ETag)
		in.Metadata = make(map[string]string, len(md))
		for k, v := range md {
			in.Metadata[hexescape.S3MetadataKey(k)] = url.PathEscape(v)
		}
		for _, h := range []struct {
			dst **string
			v   string
		}{{&in.ContentType, a.ContentType}, {&in.CacheControl, a.CacheControl}, {&in.ContentDisposition, a.ContentDisposition}, {&in.ContentEncoding, a.ContentEncoding}, {&in.ContentLanguage, a.ContentLanguage}} {
			if h.v != "" {
				*h.dst = aws.String(h.v)
			}
		}
		return nil
	}})
}

package blob

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
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

// s3SinglePartMax is the largest object s3:// sends as one PUT with the
// caller's SHA-256 (the default MultipartUploadThreshold of the SDK's
// transfer manager, 16 MiB, less one byte).
const s3SinglePartMax = 16<<20 - 1

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
//
// It also bounds the memory of every upload (boundUpload).
func (b s3Bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	verified := writecheck.SHA256Parts
	o, wc := offerCheck(opts, func(as func(any) bool, wc *writecheck.Check) error {
		single := int64(-1) // the size of an object sent as one PUT with its SHA-256
		var in *transfermanager.UploadObjectInput
		if wc != nil && as(&in) {
			if b64, ok := wc.Base64SHA256(); ok && wc.Size >= 0 && wc.Size <= s3SinglePartMax {
				in.ChecksumSHA256 = aws.String(b64)
				verified = writecheck.SHA256
				single = wc.Size
			} else {
				in.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmSha256
			}
		}
		return b.boundUpload(as, opts, single)
	})
	w, err := b.Bucket.NewTypedWriter(ctx, key, contentType, o)
	if err != nil || *wc == nil {
		return w, err
	}
	return &checkedWriter{Writer: w, done: func() error { (*wc).Verified = verified; return nil }}, nil
}

// boundUpload replaces the transfer manager s3blob built for one upload
// with one whose MultipartUploadThreshold is the part size (or, for an
// object of known size sent as one PUT, that size plus one byte). s3blob
// sets only the part size and concurrency (BufferSize, MaxConcurrency) and
// leaves the threshold at 16 MiB, and the transfer manager (v0.4.16) begins
// every upload with an io.ReadAll of up to the threshold before it fills
// its Concurrency+1 part buffers: about 31 MiB live per upload of a 32 MiB
// object with 5 MiB parts, 8 concurrent uploads about 250 MB. With the
// threshold at the part size it is (Concurrency+2) x part size.
//
// s3blob offers the *transfermanager.Client for this ("applications can
// manipulate the exposed *Client directly"); its options are unexported,
// so the Client is replaced whole, built as s3blob builds it: the bucket's
// *s3.Client and that client's RequestChecksumCalculation (s3blob takes
// both from the same aws.Config).
//
// A single PUT (single >= 0) carries the caller's SHA-256 as
// x-amz-checksum-sha256, a signed header the server verifies, and goes
// UNSIGNED-PAYLOAD: over plain HTTP the SDK would otherwise hash the body a
// second time for the signature, and the server verify that hash too (0.9
// s of CPU here for 2,000 objects of 64 KiB), for no protection the checksum
// does not give. (A checksum the SDK computes, as for parts, it reuses as
// the signature's payload hash.)
func (b s3Bucket) boundUpload(as func(any) bool, opts *driver.WriterOptions, single int64) error {
	var (
		tm *transfermanager.Client
		cl *s3.Client
	)
	if !as(&tm) || !b.Bucket.As(&cl) {
		return nil
	}
	var api transfermanager.S3APIClient = cl
	if single >= 0 {
		api = unsignedPayload{cl}
	}
	*tm = *transfermanager.New(api, func(o *transfermanager.Options) {
		o.RequestChecksumCalculation = cl.Options().RequestChecksumCalculation
		if opts.BufferSize != 0 {
			o.PartSizeBytes = int64(opts.BufferSize)
		}
		if opts.MaxConcurrency != 0 {
			o.Concurrency = opts.MaxConcurrency
		}
		part := cmp.Or(o.PartSizeBytes, s3DefaultPartSize)
		o.MultipartUploadThreshold = part
		if single >= part {
			o.MultipartUploadThreshold = single + 1
		}
	})
	return nil
}

// unsignedPayload sends the body of PutObject as UNSIGNED-PAYLOAD where
// the SDK would compute its SHA-256 for the signature.
type unsignedPayload struct{ *s3.Client }

func (c unsignedPayload) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return c.Client.PutObject(ctx, in, withUnsignedPayload(opts)...)
}

// withUnsignedPayload returns a copy of opts (the transfer manager shares
// one slice between concurrent requests) that also swaps the payload hash of
// the signature for UNSIGNED-PAYLOAD, where the stack computes one.
func withUnsignedPayload(opts []func(*s3.Options)) []func(*s3.Options) {
	return append(slices.Clip(opts), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			if _, ok := st.Finalize.Get((&v4.UnsignedPayload{}).ID()); !ok {
				return nil
			}
			return v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware(st)
		})
	})
}

// s3DefaultPartSize is the transfer manager's part size when none is set
// (its defaultPartSizeBytes).
const s3DefaultPartSize = 8 << 20

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

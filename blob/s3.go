package blob

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/driveradapter"
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

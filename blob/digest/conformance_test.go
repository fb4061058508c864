package digest_test

import (
	"context"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// differences are what Digest changes on every backend: nothing blobtest
// measures. (The metadata read back includes the integrity record
// civicport-sha256, which blobtest treats as civicport's own, not the
// user's.)
var differences = map[string]decoratortest.Expect{}

func TestConformanceMem(t *testing.T) {
	// blobtest.Test reports a fail as a test error; what Wrap cannot do is
	// unsupported (a skip), and checkResults checks why.
	res := blobtest.Test(t, func(ctx context.Context) (*blob.Bucket, error) {
		return digest.Wrap(memblob.OpenBucket(nil), nil), nil
	}, &blobtest.Options{LargeObjectSize: 8 << 20})
	decoratortest.Check(t, differences, res, map[string]decoratortest.Expect{
		conformance.BlobSignedURL: {Status: conformance.Unsupported, Evidence: nil},
	})
}

func TestConformanceFile(t *testing.T) {
	dir := t.TempDir()
	decoratortest.Run(t, differences, func(ctx context.Context) (*blob.Bucket, error) {
		b, err := cpblob.Open(ctx, "file://"+dir)
		if err != nil {
			return nil, err
		}
		return digest.Wrap(b, nil), nil
	}, map[string]decoratortest.Expect{
		// civicport's file:// refuses two keys a file system cannot hold, as
		// documented (keyrefusal), as without Digest.
		conformance.BlobSpecialKeys: {Status: conformance.Pass, Evidence: []string{"2 refused as the backend documents"}},
		// fileblob's IfNotExist is a stat then a rename: concurrent writers
		// can both win, when the check's timing hits the window.
		conformance.BlobConditionalWrite: {Status: conformance.Fail, Evidence: []string{"concurrent if-not-exists writes"}, Racy: true},
		conformance.BlobSignedURL:        {Status: conformance.Unsupported, Evidence: []string{"bucket does not have an Options.URLSigner"}},
	})
}

func TestConformanceMinIO(t *testing.T) {
	s := testenv.MinIO(t)
	decoratortest.Run(t, differences, func(ctx context.Context) (*blob.Bucket, error) {
		b, err := cpblob.Open(ctx, s.S3URL(s.NewBucket(t)))
		if err != nil {
			return nil, err
		}
		return digest.Wrap(b, nil), nil
	}, map[string]decoratortest.Expect{
		// MinIO's and s3blob's own key limits, as without Digest.
		conformance.BlobSpecialKeys: {Status: conformance.Fail, Evidence: []string{"6 of 30 keys did not round-trip"}},
		// MinIO's paged listing with a "-" delimiter loops, as without the
		// decorator (conformance/blobtest TestS3blobMinIO).
		conformance.BlobListPrefixDelimiter: {Status: conformance.Fail, Evidence: []string{`delimiter "-" in pages of 1: got ["alt/x- (dir)" "alt/x- (dir)"`}},
	})
}

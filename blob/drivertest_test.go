package blob_test

import (
	"context"
	"net/http"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// urlHarness runs gocloud's blob drivertest over a bucket opened by
// civicport's Open (through the driver adapter, since portable buckets hide
// their drivers): every MakeDriver opens the same bucket anew.
type urlHarness struct {
	url, missingURL string
	nonSlash        bool
	httpClient      *http.Client // for SignedURL requests; nil: a plain client
}

func (h *urlHarness) open(ctx context.Context, u string) (driver.Bucket, error) {
	b, err := blob.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	return driveradapter.Bucket(b), nil
}

func (h *urlHarness) MakeDriver(ctx context.Context) (driver.Bucket, error) {
	return h.open(ctx, h.url)
}
func (h *urlHarness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	return h.open(ctx, h.missingURL)
}
func (h *urlHarness) HTTPClient() *http.Client {
	if h.httpClient != nil {
		return h.httpClient
	}
	return &http.Client{}
}
func (h *urlHarness) SupportsCopy() bool               { return true }
func (h *urlHarness) SupportsNonSlashDelimiters() bool { return h.nonSlash }

// SkipDownloadAt is false: gocloud's DownloadAt test (v0.49+) runs too.
func (h *urlHarness) SkipDownloadAt() bool { return false }
func (h *urlHarness) Close()               {}

func TestConformanceS3BlobMinIO(t *testing.T) {
	s := testenv.MinIO(t)
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &urlHarness{url: s.S3URL(s.NewBucket(t)), missingURL: s.S3URL(testenv.UniqueName("missing"))}, nil
	}, nil)
}

func TestConformanceS3BlobVersitygw(t *testing.T) {
	s := testenv.Versitygw(t)
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &urlHarness{url: s.S3URL(s.NewBucket(t)), missingURL: s.S3URL(testenv.UniqueName("missing")), nonSlash: true}, nil
	}, nil)
}

func TestConformanceGCSBlobFakeGCS(t *testing.T) {
	g := testenv.FakeGCS(t)
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &urlHarness{url: g.GSURL(g.NewBucket(t)), missingURL: g.GSURL(testenv.UniqueName("missing")), nonSlash: true}, nil
	}, nil)
}

func TestConformanceAzureBlobAzurite(t *testing.T) {
	a := testenv.Azurite(t)
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		// Not nonSlash: Azure supports any delimiter, but Azurite cuts a
		// multi-character one to its first character (and gocloud escapes
		// a "\" delimiter into one), see TestAzuriteCutsMultiCharDelimiter.
		return &urlHarness{url: a.URL(a.NewContainer(t)), missingURL: a.URL(testenv.UniqueName("missing")),
			httpClient: &http.Client{Transport: blobTypeHeader{http.DefaultTransport}}}, nil
	}, nil)
}

// blobTypeHeader adds the "x-ms-blob-type: BlockBlob" header Azure requires
// on a PUT to a signed URL (gocloud's azureblob doc: signed PUT URLs are not
// portable there; its own drivertest adds the header the same way).
type blobTypeHeader struct{ base http.RoundTripper }

func (b blobTypeHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		req = req.Clone(req.Context())
		req.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	return b.base.RoundTrip(req)
}

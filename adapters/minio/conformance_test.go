package minio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/minio/minio-go/v7"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

// harness gives every drivertest subtest a fresh bucket on the MinIO test
// server, removed when the subtest ends.
type harness struct {
	s      testenv.S3
	client *minio.Client
	bucket string
}

func newHarness(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
	s := testenv.MinIO(t)
	return &harness{s: s, client: s.Client(t), bucket: s.NewBucket(t)}, nil
}

func (h *harness) MakeDriver(ctx context.Context) (driver.Bucket, error) {
	return openBucket(h.client, h.bucket, nil)
}

func (h *harness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	return openBucket(h.client, testenv.UniqueName("cp-missing"), nil)
}

func (h *harness) HTTPClient() *http.Client { return &http.Client{} }
func (h *harness) SupportsCopy() bool       { return true }

// SupportsNonSlashDelimiters is false: MinIO groups keys only at "/" and the
// driver refuses other delimiters (TestNonSlashDelimiterUnimplemented).
func (h *harness) SupportsNonSlashDelimiters() bool { return false }

// SkipDownloadAt is false: gocloud's DownloadAt test (v0.49+) runs too.
func (h *harness) SkipDownloadAt() bool { return false }
func (h *harness) Close()               {}

func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, newHarness, []drivertest.AsTest{verifyAs{}})
}

// verifyAs checks every type the package documents for As, and that the
// driver really uses what the Before* callbacks change.
type verifyAs struct{}

func (verifyAs) Name() string { return "verify As types for minio" }

func (verifyAs) BucketCheck(b *blob.Bucket) error {
	c, ok := Client(b)
	if !ok || c == nil {
		return errors.New("Client(bucket) failed")
	}
	if name, ok := BucketName(b); !ok || name == "" {
		return errors.New("BucketName(bucket) failed")
	}
	return nil
}

func (verifyAs) ErrorCheck(b *blob.Bucket, err error) error {
	var er minio.ErrorResponse
	if !b.ErrorAs(err, &er) {
		return fmt.Errorf("ErrorAs(%v) to minio.ErrorResponse failed", err)
	}
	if er.Code != "NoSuchKey" {
		return fmt.Errorf("got error code %q, want NoSuchKey", er.Code)
	}
	return nil
}

func (verifyAs) BeforeRead(as func(any) bool) error {
	var o *minio.GetObjectOptions
	if !as(&o) {
		return errors.New("BeforeRead As(*minio.GetObjectOptions) failed")
	}
	// Ask the server to override a response header; ReaderCheck sees it.
	o.SetReqParam("response-content-language", "x-as-test")
	return nil
}

func (verifyAs) BeforeWrite(as func(any) bool) error {
	var o *minio.PutObjectOptions
	if !as(&o) {
		return errors.New("BeforeWrite As(*minio.PutObjectOptions) failed")
	}
	o.UserTags = map[string]string{"as-test": "yes"} // AttributesCheck sees it
	return nil
}

func (verifyAs) BeforeCopy(as func(any) bool) error {
	var dst *minio.CopyDestOptions
	var src *minio.CopySrcOptions
	if !as(&dst) || !as(&src) {
		return errors.New("BeforeCopy As(*minio.CopyDestOptions / *minio.CopySrcOptions) failed")
	}
	if dst.Object == "" || src.Object == "" {
		return errors.New("BeforeCopy: empty object names")
	}
	return nil
}

func (verifyAs) BeforeDelete(as func(any) bool) error {
	var o *minio.RemoveObjectOptions
	if !as(&o) {
		return errors.New("BeforeDelete As(*minio.RemoveObjectOptions) failed")
	}
	return nil
}

func (verifyAs) BeforeList(as func(any) bool) error {
	var o *minio.ListObjectsOptions
	if !as(&o) {
		return errors.New("BeforeList As(*minio.ListObjectsOptions) failed")
	}
	return nil
}

func (verifyAs) BeforeSign(as func(any) bool) error {
	var q *url.Values
	var h *http.Header
	if !as(&q) || !as(&h) {
		return errors.New("BeforeSign As(*url.Values / *http.Header) failed")
	}
	return nil
}

func (verifyAs) AttributesCheck(attrs *blob.Attributes) error {
	var info minio.ObjectInfo
	if !attrs.As(&info) {
		return errors.New("Attributes As(minio.ObjectInfo) failed")
	}
	if info.UserTagCount != 1 {
		return fmt.Errorf("got %d object tags, want the 1 set in BeforeWrite", info.UserTagCount)
	}
	return nil
}

func (verifyAs) ReaderCheck(r *blob.Reader) error {
	var info minio.ObjectInfo
	if !r.As(&info) {
		return errors.New("Reader As(minio.ObjectInfo) failed")
	}
	if got := info.Metadata.Get("Content-Language"); got != "x-as-test" {
		return fmt.Errorf("got Content-Language %q, want the override set in BeforeRead", got)
	}
	return nil
}

func (verifyAs) ListObjectCheck(o *blob.ListObject) error {
	var info minio.ObjectInfo
	if !o.As(&info) {
		return errors.New("ListObject As(minio.ObjectInfo) failed")
	}
	if info.Key == "" {
		return errors.New("ListObject As: empty minio.ObjectInfo")
	}
	return nil
}

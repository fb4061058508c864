package testenv

import (
	"context"
	"net/url"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is an S3-compatible test server (MinIO, versitygw or SeaweedFS).
type S3 struct {
	Name      string // "minio", "versitygw" or "seaweedfs"
	Host      string // host:port, e.g. 127.0.0.1:9100
	AccessKey string
	SecretKey string
	Region    string
}

// MinIO returns the MinIO test server (CIVICPORT_MINIO_ADDR, default
// 127.0.0.1:9100), skipping t if it is not running.
func MinIO(t testing.TB) S3 {
	t.Helper()
	return s3Server(t, "minio", "MinIO", "CIVICPORT_MINIO_ADDR", "127.0.0.1:9100", "/minio/health/ready")
}

// Versitygw returns the versitygw S3 gateway test server
// (CIVICPORT_VERSITYGW_ADDR, default 127.0.0.1:7070), skipping t if it is not
// running.
func Versitygw(t testing.TB) S3 {
	t.Helper()
	return s3Server(t, "versitygw", "versitygw", "CIVICPORT_VERSITYGW_ADDR", "127.0.0.1:7070", "/health")
}

// SeaweedFS returns the SeaweedFS S3 gateway test server
// (CIVICPORT_SEAWEEDFS_ADDR, default 127.0.0.1:8333), skipping t if it is
// not running.
func SeaweedFS(t testing.TB) S3 {
	t.Helper()
	return s3Server(t, "seaweedfs", "SeaweedFS", "CIVICPORT_SEAWEEDFS_ADDR", "127.0.0.1:8333", "/healthz")
}

// s3Server is the S3 server name at $addrEnv (default def), with the one
// test key pair, skipping t when a GET of health does not succeed.
func s3Server(t testing.TB, name, label, addrEnv, def, health string) S3 {
	t.Helper()
	s := S3{Name: name, Host: serviceHost(t, label, addrEnv, def, probePath(health)), AccessKey: DefaultAccessKey, SecretKey: DefaultSecretKey, Region: DefaultRegion}
	ensureAWSEnv()
	return s
}

// Endpoint is the server's base URL.
func (s S3) Endpoint() string { return "http://" + s.Host }

// Client returns a raw minio-go client for the server (for set-up, checks
// that bypass civicport, and benchmarks).
func (s S3) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: false,
		Region: s.Region,
	})
	if err != nil {
		t.Fatalf("minio client for %s: %v", s.Host, err)
	}
	return c
}

// BucketOption changes how NewBucket creates a bucket.
type BucketOption func(*minio.MakeBucketOptions)

// WithObjectLock creates the bucket with S3 Object Lock (and so versioning)
// enabled.
func WithObjectLock() BucketOption {
	return func(o *minio.MakeBucketOptions) { o.ObjectLocking = true }
}

// NewBucket creates a bucket with a unique name and removes it, with every
// object version in it, when t ends. It returns the bucket name.
func (s S3) NewBucket(t testing.TB, opts ...BucketOption) string {
	t.Helper()
	c := s.Client(t)
	name := UniqueName("cp-" + s.Name)
	mo := minio.MakeBucketOptions{Region: s.Region}
	for _, o := range opts {
		o(&mo)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, name, mo); err != nil {
		t.Fatalf("create bucket %s on %s: %v", name, s.Name, err)
	}
	t.Cleanup(func() { removeBucket(t, c, name) })
	return name
}

func removeBucket(t testing.TB, c *minio.Client, name string) {
	ctx := context.Background()
	objs := c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	for o := range objs {
		if o.Err != nil {
			t.Logf("cleanup: list %s: %v", name, o.Err)
			break
		}
		_ = c.RemoveObject(ctx, name, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID, GovernanceBypass: true})
	}
	if err := c.RemoveBucket(ctx, name); err != nil {
		// Objects under compliance retention cannot be removed before their
		// date; such buckets are left behind on the throw-away test server.
		t.Logf("cleanup: remove bucket %s: %v", name, err)
	}
}

// S3URL is a gocloud s3:// URL for bucket on this server, with the settings
// an on-prem S3 server needs (path-style addressing, checksums only when
// required).
func (s S3) S3URL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint())
	q.Set("use_path_style", "true")
	q.Set("region", s.Region)
	q.Set("request_checksum_calculation", "when_required")
	q.Set("response_checksum_validation", "when_required")
	return "s3://" + bucket + "?" + q.Encode()
}

// MinioURL is a civicport minio:// URL (the native adapter) for bucket on this
// server. Credentials come from the environment (see adapters/minio).
func (s S3) MinioURL(bucket string) string {
	return "minio://" + s.Host + "/" + bucket + "?secure=false&region=" + s.Region
}

package minio

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
	"golang.org/x/net/http/httpguts"

	"github.com/civicport/civicport/internal/hexescape"
)

// These tests need no server.

func TestParseURL(t *testing.T) {
	host, bucket, opts, stream, err := parseURL(mustParse(t, "minio://127.0.0.1:9100/ballots?secure=false&region=us-east-1"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9100", host)
	assert.Equal(t, "ballots", bucket)
	assert.False(t, opts.Secure)
	assert.Equal(t, "us-east-1", opts.Region)
	assert.True(t, stream, "streamed PUTs by default")

	_, bucket, opts, stream, err = parseURL(mustParse(t, "minio://minio.example.org/ballots/?stream=false"))
	require.NoError(t, err)
	assert.Equal(t, "ballots", bucket)
	assert.True(t, opts.Secure, "HTTPS by default")
	assert.Empty(t, opts.Region)
	assert.False(t, stream)
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string // substrings of the error
	}{
		{"minio://127.0.0.1:9100", []string{"names no bucket", "want minio://host:port/bucket"}},
		{"minio://127.0.0.1:9100/", []string{"names no bucket"}},
		{"minio:///ballots", []string{"names no server"}},
		{"minio://h/ballots/2026", []string{`path "/ballots/2026" is not a bucket name`, "prefix"}},
		{"minio://h/b?secure=maybe", []string{`invalid value "maybe" for query parameter "secure"`, "true or false"}},
		{"minio://h/b?stream=no", []string{`invalid value "no" for query parameter "stream"`, "true or false"}},
		{"minio://h/b?endpoint=x", []string{`unknown query parameter "endpoint"`, "allowed: region, secure, stream"}},
		{"minio://h/b?zz=1&aa=2&region=r", []string{`unknown query parameter "aa", "zz"`}},
		{"minio://me:hunter2@h/b", []string{"carries credentials", "MINIO_ACCESS_KEY"}},
	} {
		_, _, _, _, err := parseURL(mustParse(t, tc.url))
		require.Error(t, err, tc.url)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.url)
		}
		assert.NotContains(t, err.Error(), "hunter2", "the error must not show a password")
	}
}

func TestURLOpenerErrors(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MINIO_ACCESS_KEY", "id")
	t.Setenv("MINIO_SECRET_KEY", "s3cr3t-value")
	_, err := blob.OpenBucket(ctx, "minio://127.0.0.1:9100?secure=false")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "names no bucket")
	_, err = blob.OpenBucket(ctx, "minio://127.0.0.1:9100/bkt?secure=nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"secure"`)
	_, err = blob.OpenBucket(ctx, "minio://127.0.0.1:9100/bkt?bogus=1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown query parameter "bogus"; allowed: region, secure`)
	assert.NotContains(t, err.Error(), "s3cr3t-value")

	// A syntactically fine URL opens without contacting the server.
	b, err := blob.OpenBucket(ctx, "minio://127.0.0.1:9/bkt?secure=false&region=us-east-1")
	require.NoError(t, err)
	require.NoError(t, b.Close())
}

func TestEnvCredentials(t *testing.T) {
	clear := func() {
		for _, k := range []string{"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			t.Setenv(k, "")
		}
	}
	value := func(t *testing.T) (string, string) {
		c, err := envCredentials()
		require.NoError(t, err)
		v, err := c.GetWithContext(nil)
		require.NoError(t, err)
		return v.AccessKeyID, v.SecretAccessKey
	}

	clear()
	_, err := envCredentials()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set MINIO_ACCESS_KEY and MINIO_SECRET_KEY")
	_, err = blob.OpenBucket(context.Background(), "minio://h:1/bkt")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no credentials")

	t.Setenv("AWS_ACCESS_KEY_ID", "aws-id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	id, secret := value(t)
	assert.Equal(t, "aws-id", id)
	assert.Equal(t, "aws-secret", secret)

	t.Setenv("MINIO_ACCESS_KEY", "minio-id")
	t.Setenv("MINIO_SECRET_KEY", "minio-secret")
	id, secret = value(t)
	assert.Equal(t, "minio-id", id, "MINIO_* wins over AWS_*")
	assert.Equal(t, "minio-secret", secret)

	t.Setenv("MINIO_SECRET_KEY", "")
	_, err = envCredentials()
	require.Error(t, err)
	assert.Equal(t, "minio: MINIO_ACCESS_KEY is set but MINIO_SECRET_KEY is not", err.Error())

	clear()
	t.Setenv("AWS_SECRET_ACCESS_KEY", "only-the-secret")
	_, err = envCredentials()
	require.Error(t, err)
	assert.Equal(t, "minio: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not", err.Error())
}

func TestOpenBucketErrors(t *testing.T) {
	ctx := context.Background()
	c, err := minio.New("127.0.0.1:9", &minio.Options{})
	require.NoError(t, err)
	for _, tc := range []struct {
		client *minio.Client
		name   string
		opts   *Options
		want   string
	}{
		{nil, "bkt", nil, "client is required"},
		{c, "", nil, "bucket name is required"},
		{c, "no..dots", nil, `bucket name "no..dots"`},
		{c, "bkt", &Options{PartSize: 1 << 20}, "PartSize 1048576 is below the S3 minimum"},
		{c, "bkt", &Options{Concurrency: -1}, "Concurrency -1 is negative"},
	} {
		_, err := OpenBucket(ctx, tc.client, tc.name, tc.opts)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	b, err := OpenBucket(ctx, c, "bucket", nil)
	require.NoError(t, err)
	got, ok := Client(b)
	assert.True(t, ok)
	assert.Same(t, c, got)
	name, ok := BucketName(b)
	assert.True(t, ok)
	assert.Equal(t, "bucket", name)

	// Not a bucket of this package.
	mb := memblob.OpenBucket(nil)
	_, ok = Client(mb)
	assert.False(t, ok)
	_, ok = BucketName(mb)
	assert.False(t, ok)
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "NoSuchVersion", StatusCode: 404}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "PreconditionFailed", StatusCode: 412}, gcerrors.FailedPrecondition},
		{minio.ErrorResponse{Code: "BadDigest", StatusCode: 400}, gcerrors.FailedPrecondition},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "XMinioInvalidObjectName", StatusCode: 400}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "InvalidRange", StatusCode: 416}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "InvalidRequest", StatusCode: 400}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Object is WORM protected and cannot be overwritten", StatusCode: 400}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "BucketAlreadyOwnedByYou", StatusCode: 409}, gcerrors.AlreadyExists},
		{minio.ErrorResponse{Code: "NotImplemented", StatusCode: 501}, gcerrors.Unimplemented},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, gcerrors.ResourceExhausted},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, gcerrors.Internal},
		// Unknown codes fall back to the HTTP status.
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 404}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 403}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 412}, gcerrors.FailedPrecondition},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 400}, gcerrors.InvalidArgument},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 418}, gcerrors.Unknown},
		{minio.ErrorResponse{Code: "XMinioInvalidResourceName", StatusCode: 400}, gcerrors.InvalidArgument},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey"}), gcerrors.NotFound},
		{fmt.Errorf("op: %w", context.Canceled), gcerrors.Canceled},
		{context.DeadlineExceeded, gcerrors.DeadlineExceeded},
		{unimplemented("x"), gcerrors.Unimplemented},
		{errors.New("dial tcp: connection refused"), gcerrors.Unknown},
	} {
		assert.Equal(t, tc.want, errorCode(tc.err), "%#v", tc.err)
	}
}

func TestEscapeKey(t *testing.T) {
	for key, want := range map[string]string{
		"":              "",
		"plain/key.txt": "plain/key.txt",
		"a//b":          "a/__0x2f__b",
		"a///b":         "a/__0x2f__/b", // no "//" is left
		"/x":            "__0x2f__x",
		"./x":           ".__0x2f__x",
		"x/.":           "x/__0x2e__",
		"..":            ".__0x2e__",
		"x/..":          "x/.__0x2e__",
		"x/../y":        "x/..__0x2f__y", // s3blob's rule
		"x\\..\\y":      "x\\..__0x5c__y",
		"tab\there":     "tab__0x9__here",
		"a..b/c":        "a..b/c",
		".../x":         "...__0x2f__x", // "/" after ".." (s3blob)
		"x/.hidden":     "x/.hidden",
		"x/ . /y":       "x/ . __0x2f__y",
	} {
		assert.Equal(t, want, escapeKey(key, false), "%q", key)
		assert.Equal(t, key, hexescape.Unescape(escapeKey(key, false)), "%q round trip", key)
	}
	// A prefix leaves its last, unfinished component alone, so that it stays
	// a prefix of the escaped keys that extend it.
	for _, tc := range []struct{ prefix, key string }{
		{"x/.", "x/.hidden"},
		{"x/..", "x/..more"},
		{"x/", "x/./y"},
		{"a/", "a//b"},
		{"a//", "a//b"},
		{"x/./", "x/./y"},
	} {
		assert.True(t, strings.HasPrefix(escapeKey(tc.key, false), escapeKey(tc.prefix, true)), "%q is not a prefix of %q", escapeKey(tc.prefix, true), escapeKey(tc.key, false))
	}
}

func TestEscapeMetadata(t *testing.T) {
	for _, k := range []string{"plain", "with space", "a@b:c=d", "☺", "__0x41__", "%2F", "/,;?"} {
		e := escapeMetadataKey(k)
		assert.True(t, httpguts.ValidHeaderFieldName("X-Amz-Meta-"+e), "%q -> %q", k, e)
		assert.Equal(t, k, unescapeMetadataKey(e), k)
	}
	for _, v := range []string{"plain", "new\nline", "☺", "%41"} {
		assert.True(t, httpguts.ValidHeaderFieldValue(escapeMetadataValue(v)), v)
		assert.Equal(t, v, unescapeMetadataValue(escapeMetadataValue(v)))
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

package openurl_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/openurl"
	"github.com/civicport/civicport/internal/redact"
)

func TestParse(t *testing.T) {
	valid := func(s string) bool { return s == "mem" || s == "s3" }
	schemes := []string{"mem", "s3"}
	for _, tc := range []struct{ in, kind, want string }{
		{"", "", "empty URL; want SCHEME://BUCKET with SCHEME one of mem, s3"},
		{" \t", "", "empty URL; "},
		{"records", "", "URL has no scheme; want SCHEME://BUCKET"},
		{"ftp://records", "", `unknown scheme "ftp"; registered schemes: mem, s3`},
		{"ftp://records", "topic scheme", `unknown topic scheme "ftp"`},
		{"s3://user:hunter2@records\x7f", "", "malformed URL; want SCHEME://BUCKET"},
	} {
		u, msg, cause := openurl.Parse(tc.in, "SCHEME://BUCKET", tc.kind, schemes, valid)
		assert.Nil(t, u, tc.in)
		assert.Contains(t, msg, tc.want, tc.in)
		assert.NotContains(t, msg, "hunter2")
		if cause != nil {
			assert.NotContains(t, cause.Error(), "hunter2")
		}
	}
	u, msg, cause := openurl.Parse("s3://records?region=us-east-1", "SCHEME://BUCKET", "", schemes, valid)
	require.NotNil(t, u)
	assert.Empty(t, msg)
	assert.NoError(t, cause)
	assert.Equal(t, "records", u.Host)
}

func TestDescribe(t *testing.T) {
	const u = "s3://AKIAEXAMPLE:hunter2@records?region=us-east-1"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "cancelled or timed out: "},
		{notFound(t), "NOTFOUND: "},
		{fs.ErrNotExist, "NOTFOUND: "},
		{errors.New("operation error S3: ListObjectsV2, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, http response error StatusCode: 403"),
			"no credentials found (AWS: set AWS_ACCESS_KEY_ID"},
		{errors.New(`get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request send failed, Get "http://169.254.169.254/latest/meta-data/iam/security-credentials/": dial tcp 169.254.169.254:80: connect: connection refused`),
			"no credentials found (AWS: "},
		{errors.New("google: could not find default credentials. See https://cloud.google.com/docs/authentication/external/set-up-adc for more information"),
			"no credentials found (AWS: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE; Google Cloud: set GOOGLE_APPLICATION_CREDENTIALS"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("boom")}, "server unreachable: "},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), "server unreachable: "},
		{errors.New("nats: no servers available for connection"), "server unreachable: "},
		{errors.New("api error SignatureDoesNotMatch: the signature we calculated does not match"), "access denied (check the credentials): "},
		{errors.New("something else for " + u), "something else for s3://AKIAEXAMPLE:" + redact.Mask + "@records"},
	} {
		got := openurl.Describe(tc.err, u, "NOTFOUND")
		assert.True(t, strings.HasPrefix(got, tc.want), "%v:\n got %q\nwant prefix %q", tc.err, got, tc.want)
		assert.NotContains(t, got, "hunter2")
	}
}

// notFound is a real gocloud NotFound error.
func notFound(t *testing.T) error {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	_, err := b.ReadAll(context.Background(), "no-such-key")
	require.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	return err
}

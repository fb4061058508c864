package blob_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func TestOpenLocalSchemes(t *testing.T) {
	ctx := testenv.Context(t)
	for _, u := range []string{"mem://", "file://" + t.TempDir()} {
		b := open(t, u)
		require.NoError(t, blob.Ping(ctx, b, u), u)
		require.NoError(t, b.WriteAll(ctx, "results/precinct-1.json", []byte(`{"votes":3}`), nil))
		got, err := b.ReadAll(ctx, "results/precinct-1.json")
		require.NoError(t, err)
		assert.Equal(t, `{"votes":3}`, string(got))
	}
}

func TestSchemes(t *testing.T) {
	assert.Subset(t, blob.Schemes(), []string{"azblob", "file", "gs", "mem", "s3"})
}

func TestOpenBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ url, want string }{
		{"", "empty URL"},
		{"   ", "empty URL"},
		{"bucket-without-scheme", "URL has no scheme"},
		{"ftp://archive/ballots", `unknown scheme "ftp"; registered schemes: azblob, file, gs, mem`},
		{"s3://bkt\x7f", "malformed URL"},
		{"s3://bkt?no_such_param=1", "no_such_param"},
	} {
		_, err := blob.Open(ctx, tc.url)
		require.Error(t, err, "%q", tc.url)
		assert.Contains(t, err.Error(), tc.want, "%q", tc.url)
		var be *blob.Error
		require.True(t, errors.As(err, &be), "%q: want *blob.Error", tc.url)
		assert.Equal(t, "open", be.Op)
	}
}

func TestOpenErrorsHideCredentials(t *testing.T) {
	const secret = "s3cr3t-value-1234"
	for _, u := range []string{
		"s3://bkt?endpoint=http://127.0.0.1:1&secret_access_key=" + secret,
		"ftp://user:" + secret + "@host/bkt",
		"s3://user:" + url.QueryEscape(secret) + "@bkt\x7f",
	} {
		_, err := blob.Open(context.Background(), u)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret, "%q", u)
		var oe *blob.Error
		require.ErrorAs(t, err, &oe)
		if oe.Err != nil {
			assert.NotContains(t, oe.Err.Error(), secret, "the cause of %q", u)
		}
	}
}

func TestPingFailuresSayWhatHappened(t *testing.T) {
	ctx := testenv.Context(t)
	t.Run("unreachable", func(t *testing.T) {
		testenv.MinIO(t) // for the AWS test credentials only; the endpoint below is closed
		u := "s3://bkt?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1"
		b := open(t, u)
		ctx, cancel := context.WithTimeout(ctx, 20e9)
		defer cancel()
		err := blob.Ping(ctx, b, u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "server unreachable")
	})
	t.Run("no credentials", func(t *testing.T) {
		// The endpoint is closed: nothing would leave the machine even if
		// credentials were found somewhere.
		testenv.NoAWSCredentials(t)
		u := "s3://bkt?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1"
		err := blob.Ping(ctx, open(t, u), u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no credentials found (AWS: set AWS_ACCESS_KEY_ID")
	})
	t.Run("missing bucket", func(t *testing.T) {
		s := testenv.MinIO(t)
		u := s.S3URL(testenv.UniqueName("no-such-bucket"))
		err := blob.Ping(ctx, open(t, u), u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not found (does the bucket exist?)")
	})
	t.Run("wrong credentials", func(t *testing.T) {
		s := testenv.MinIO(t)
		u := s.S3URL(s.NewBucket(t))
		t.Setenv("AWS_ACCESS_KEY_ID", "not-a-user")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-9876")
		err := blob.Ping(ctx, open(t, u), u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "access denied (check the credentials)")
		assert.NotContains(t, err.Error(), "wrong-secret-9876")
	})
	t.Run("missing gcs bucket", func(t *testing.T) {
		g := testenv.FakeGCS(t)
		u := g.GSURL(testenv.UniqueName("no-such-bucket"))
		err := blob.Ping(ctx, open(t, u), u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not found (does the bucket exist?)")
	})
	t.Run("ok", func(t *testing.T) {
		s := testenv.MinIO(t)
		u := s.S3URL(s.NewBucket(t))
		require.NoError(t, blob.Ping(ctx, open(t, u), u))
	})
	t.Run("file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "bkt")
		require.NoError(t, os.Mkdir(dir, 0o700))
		u := "file://" + dir
		b := open(t, u)
		require.NoError(t, blob.Ping(ctx, b, u), "empty")
		require.NoError(t, b.WriteAll(ctx, "scan-1", []byte("x"), nil))
		require.NoError(t, b.WriteAll(ctx, "scan-2", []byte("x"), nil))
		require.NoError(t, blob.Ping(ctx, b, u))
		assert.Zero(t, blob.CachedListings(b), "a ping keeps no listing")
		_, _, err := b.ListPage(ctx, gcblob.FirstPageToken, 1, nil)
		require.NoError(t, err)
		assert.Equal(t, 1, blob.CachedListings(b), "a first page does (the count is real)")

		require.NoError(t, os.RemoveAll(dir))
		err = blob.Ping(ctx, b, u)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not found (does the bucket exist?)")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, blob.Ping(cctx, open(t, "file://"+t.TempDir()), u), context.Canceled)
	})
}

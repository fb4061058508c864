package minio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"

	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// sizedWriter opens a writer for key that asks for a writecheck.Check
// declaring size; *wc is that Check once the adapter has made it (gocloud
// creates the driver's writer at the first Write or at Close).
func sizedWriter(t *testing.T, ctx context.Context, b *blob.Bucket, key string, size int64) (w *blob.Writer, wc **writecheck.Check) {
	t.Helper()
	wc = new(*writecheck.Check)
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{BeforeWrite: func(as func(any) bool) error {
		require.True(t, as(wc), "the adapter must answer As for *writecheck.Check")
		(*wc).Size = size
		return nil
	}})
	require.NoError(t, err)
	return w, wc
}

// writeChecked writes p to key asking for a writecheck.Check; sha, if not
// "", is given to the check before Close.
func writeChecked(t *testing.T, b *blob.Bucket, key string, p []byte, sha string) (*writecheck.Check, error) {
	t.Helper()
	w, wc := sizedWriter(t, context.Background(), b, key, int64(len(p)))
	_, err := w.Write(p)
	require.NoError(t, err)
	(*wc).SHA256 = sha
	return *wc, w.Close()
}

func hexSHA(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }

func TestWriteCheckSinglePart(t *testing.T) {
	b, bucket, c := open(t, &Options{PartSize: MinPartSize})
	ctx := context.Background()
	p := randomBytes(t, 100<<10)

	wc, err := writeChecked(t, b, "one", p, hexSHA(p))
	require.NoError(t, err)
	assert.Equal(t, writecheck.SHA256, wc.Verified)
	assert.NotEmpty(t, wc.ETag)
	info, err := c.StatObject(ctx, bucket, "one", minio.StatObjectOptions{Checksum: true})
	require.NoError(t, err)
	sum := sha256.Sum256(p)
	assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), info.ChecksumSHA256, "the server stores the SHA-256 it checked")

	// A SHA-256 that is not the body's: the server refuses, nothing stored.
	other := hexSHA([]byte("something else"))
	_, err = writeChecked(t, b, "bad", p, other)
	require.Error(t, err)
	ok, err := b.Exists(ctx, "bad")
	require.NoError(t, err)
	assert.False(t, ok)

	// Without a SHA-256 nothing is claimed.
	wc, err = writeChecked(t, b, "none", p, "")
	require.NoError(t, err)
	assert.Empty(t, wc.Verified)

	_, err = writeChecked(t, b, "junk", p, "not-hex")
	require.ErrorContains(t, err, `"not-hex" is not a hex SHA-256`)
}

func TestWriteCheckMultipart(t *testing.T) {
	b, bucket, c := open(t, &Options{PartSize: MinPartSize, StreamLimit: -1})
	ctx := context.Background()
	p := randomBytes(t, 2*MinPartSize+1000)

	wc, err := writeChecked(t, b, "big", p, hexSHA(p))
	require.NoError(t, err)
	assert.Equal(t, writecheck.SHA256Parts, wc.Verified)
	got, err := b.ReadAll(ctx, "big")
	require.NoError(t, err)
	assert.Equal(t, hexSHA(p), hexSHA(got))
	info, err := c.StatObject(ctx, bucket, "big", minio.StatObjectOptions{Checksum: true})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(info.ChecksumSHA256, "-3"), "a composite SHA-256 of 3 parts, got %q", info.ChecksumSHA256)

	// What the adapter relies on: the server checks each part's
	// x-amz-checksum-sha256 and refuses a part that does not match.
	core := minio.Core{Client: c}
	id, err := core.NewMultipartUpload(ctx, bucket, "tampered", minio.PutObjectOptions{UserMetadata: map[string]string{"X-Amz-Checksum-Algorithm": "SHA256"}})
	require.NoError(t, err)
	defer func() { _ = core.AbortMultipartUpload(ctx, bucket, "tampered", id) }()
	wrong := sha256.Sum256([]byte("not this part"))
	_, err = core.PutObjectPart(ctx, bucket, "tampered", id, 1, bytes.NewReader(p[:MinPartSize]), MinPartSize,
		minio.PutObjectPartOptions{CustomHeader: http.Header{"X-Amz-Checksum-Sha256": {base64.StdEncoding.EncodeToString(wrong[:])}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checksum")
}

func TestMetadataSetter(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	require.NoError(t, b.WriteAll(ctx, "k", []byte("content"), &blob.WriterOptions{
		ContentType: "text/plain", CacheControl: "no-cache", ContentLanguage: "en",
		Metadata: map[string]string{"a": "1"},
	}))
	var ms writecheck.MetadataSetter
	require.True(t, b.As(&ms))
	before, err := b.Attributes(ctx, "k")
	require.NoError(t, err)

	err = ms.SetMetadata(ctx, "k", map[string]string{"a": "1", "civicport-sha256": "abc"}, `"0000"`)
	require.ErrorIs(t, err, writecheck.ErrChanged)

	require.NoError(t, ms.SetMetadata(ctx, "k", map[string]string{"a": "1", "civicport-sha256": "abc"}, before.ETag))
	a, err := b.Attributes(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "1", "civicport-sha256": "abc"}, a.Metadata)
	assert.Equal(t, "text/plain", a.ContentType)
	assert.Equal(t, "no-cache", a.CacheControl)
	assert.Equal(t, "en", a.ContentLanguage)
	got, err := b.ReadAll(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "content", string(got))

	require.Error(t, ms.SetMetadata(ctx, "missing", nil, ""))
}

// TestWriteCheckStreamed: an object of known size above a part, up to
// StreamLimit, goes as one PUT whose body streams through (no part
// buffers) with a trailing SHA-256 the server verifies and stores.
func TestWriteCheckStreamed(t *testing.T) {
	for _, srv := range []struct {
		name string
		s    func(testing.TB) testenv.S3
	}{{"MinIO", testenv.MinIO}, {"SeaweedFS", testenv.SeaweedFS}, {"versitygw", testenv.Versitygw}} {
		t.Run(srv.name, func(t *testing.T) {
			s := srv.s(t)
			bucket := s.NewBucket(t)
			c := s.Client(t)
			b, err := OpenBucket(context.Background(), c, bucket, &Options{PartSize: MinPartSize})
			require.NoError(t, err)
			ctx := context.Background()
			p := randomBytes(t, 2*MinPartSize+1000)

			wc, err := writeChecked(t, b, "big", p, hexSHA(p))
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256, wc.Verified, "the whole object's SHA-256, checked by the server")
			assert.NotEmpty(t, wc.ETag)
			got, err := b.ReadAll(ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, hexSHA(p), hexSHA(got))
			info, err := c.StatObject(ctx, bucket, "big", minio.StatObjectOptions{Checksum: true})
			require.NoError(t, err)
			sum := sha256.Sum256(p)
			assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), info.ChecksumSHA256, "a full-object SHA-256, not a composite")
		})
	}
}

// TestWriteCheckStreamedRefusals: whatever goes wrong with a streamed PUT,
// nothing is stored.
func TestWriteCheckStreamedRefusals(t *testing.T) {
	b, _, _ := open(t, &Options{PartSize: MinPartSize})
	ctx := context.Background()
	p := randomBytes(t, 2*MinPartSize+1000)
	absent := func(key string) {
		t.Helper()
		ok, err := b.Exists(ctx, key)
		require.NoError(t, err)
		assert.False(t, ok, "%s must not be stored", key)
	}

	// The caller hashed other bytes than it wrote: the version written is
	// removed again.
	_, err := writeChecked(t, b, "other-sha", p, hexSHA([]byte("something else")))
	require.ErrorContains(t, err, "the version written was removed")
	absent("other-sha")

	write := func(key string, declared int64, chunks ...[]byte) error {
		t.Helper()
		w, _ := sizedWriter(t, ctx, b, key, declared)
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				_ = w.Close()
				return err
			}
		}
		return w.Close()
	}
	require.ErrorContains(t, write("short", int64(len(p)), p[:len(p)-1]), "bytes written of the")
	absent("short")
	require.ErrorContains(t, write("long", int64(len(p)), p, []byte("x")), "more than the")
	absent("long")

	// Cancelled mid-body: nothing stored, and Close reports ctx's error.
	cctx, cancel := context.WithCancel(ctx)
	w, _ := sizedWriter(t, cctx, b, "cancelled", int64(len(p)))
	_, err = w.Write(p[:MinPartSize])
	require.NoError(t, err)
	cancel()
	_, err = w.Write(p[MinPartSize:])
	require.Error(t, err)
	require.ErrorIs(t, w.Close(), context.Canceled)
	absent("cancelled")
}

// TestWriteCheckStreamedCorruptedInTransit: the server verifies the
// trailing SHA-256 against the body it received, so a body damaged on the
// way is refused and nothing is stored.
func TestWriteCheckStreamedCorruptedInTransit(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	proxy := testenv.NewProxy(t, s.Host, 100_000)
	c, err := minio.New(proxy.Addr, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	require.NoError(t, err)
	b, err := OpenBucket(context.Background(), c, bucket, &Options{PartSize: MinPartSize})
	require.NoError(t, err)
	p := randomBytes(t, 2*MinPartSize+1000)

	_, err = writeChecked(t, b, "damaged", p, hexSHA(p))
	require.True(t, proxy.Flipped.Load(), "the proxy must have damaged the upload")
	require.Error(t, err)
	assert.Contains(t, strings.ToLower(err.Error()), "checksum")
	ok, err := s.Client(t).StatObject(context.Background(), bucket, "damaged", minio.StatObjectOptions{})
	assert.Error(t, err, "nothing stored, got %+v", ok)
}

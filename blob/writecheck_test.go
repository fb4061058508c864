package blob_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// writeChecked writes p to key asking for a writecheck.Check; upFront and
// atClose say when the caller gives the SHA-256 (sha).
func writeChecked(t *testing.T, b *gcblob.Bucket, key string, p []byte, sha string, upFront bool) (*writecheck.Check, error) {
	t.Helper()
	ctx := testenv.Context(t)
	var wc *writecheck.Check
	// With a content type gocloud makes the driver's writer (and calls
	// BeforeWrite) at once, not at the first Write or Close.
	w, err := b.NewWriter(ctx, key, &gcblob.WriterOptions{ContentType: "application/octet-stream", BeforeWrite: func(as func(any) bool) error {
		require.True(t, as(&wc), "As for *writecheck.Check")
		wc.Size = int64(len(p))
		if upFront {
			wc.SHA256 = sha
		}
		return nil
	}})
	require.NoError(t, err)
	if _, err := w.Write(p); err != nil {
		_ = w.Close()
		return wc, err
	}
	wc.SHA256 = sha
	return wc, w.Close()
}

func sum256(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }

func randomData(t *testing.T, n int) []byte {
	p := make([]byte, n)
	_, err := rand.Read(p)
	require.NoError(t, err)
	return p
}

// s3blob sends no checksum of its own; with a Check the server verifies
// one, and refuses a body that does not match.
func TestS3WriteCheck(t *testing.T) {
	for _, srv := range []func(testing.TB) testenv.S3{testenv.MinIO, testenv.Versitygw, testenv.SeaweedFS} {
		s := srv(t)
		t.Run(s.Name, func(t *testing.T) {
			ctx := testenv.Context(t)
			name := s.NewBucket(t)
			b, err := blob.Open(ctx, s.S3URL(name))
			require.NoError(t, err)
			defer b.Close()
			c := s.Client(t)
			small := randomData(t, 100<<10)

			wc, err := writeChecked(t, b, "small", small, sum256(small), true)
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256, wc.Verified)
			if s.Name == "minio" {
				info, err := c.StatObject(ctx, name, "small", minio.StatObjectOptions{Checksum: true})
				require.NoError(t, err)
				raw := sha256.Sum256(small)
				assert.Equal(t, base64.StdEncoding.EncodeToString(raw[:]), info.ChecksumSHA256)
			}

			_, err = writeChecked(t, b, "wrong", small, sum256([]byte("other")), true)
			require.Error(t, err, "a SHA-256 that is not the body's must be refused")
			ok, err := b.Exists(ctx, "wrong")
			require.NoError(t, err)
			assert.False(t, ok)

			// Known only at Close: the SDK's own per-part SHA-256.
			wc, err = writeChecked(t, b, "late", small, sum256(small), false)
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256Parts, wc.Verified)

			big := randomData(t, 17<<20) // above s3blob's single-PUT threshold
			wc, err = writeChecked(t, b, "big", big, sum256(big), true)
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256Parts, wc.Verified)
			got, err := b.ReadAll(ctx, "big")
			require.NoError(t, err)
			assert.Equal(t, sum256(big), sum256(got))
		})
	}
}

func TestS3MetadataSetter(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := testenv.Context(t)
	b, err := blob.Open(ctx, s.S3URL(s.NewBucket(t)))
	require.NoError(t, err)
	defer b.Close()
	const key = "a key with space+plus"
	require.NoError(t, b.WriteAll(ctx, key, []byte("content"), &gcblob.WriterOptions{
		ContentType: "text/csv", ContentLanguage: "en", Metadata: map[string]string{"County": "x@y=z"},
	}))
	var ms writecheck.MetadataSetter
	require.True(t, b.As(&ms))
	a, err := b.Attributes(ctx, key)
	require.NoError(t, err)
	require.ErrorIs(t, ms.SetMetadata(ctx, key, nil, `"0123"`), writecheck.ErrChanged)
	require.NoError(t, ms.SetMetadata(ctx, key, map[string]string{"county": "x@y=z", "civicport-sha256": "abc"}, a.ETag))
	a, err = b.Attributes(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"county": "x@y=z", "civicport-sha256": "abc"}, a.Metadata)
	assert.Equal(t, "text/csv", a.ContentType)
	assert.Equal(t, "en", a.ContentLanguage)
	got, err := b.ReadAll(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "content", string(got))
}

// file:// re-reads what it committed; content that does not read back as
// the SHA-256 given is deleted and the write fails.
func TestFileWriteCheck(t *testing.T) {
	ctx := testenv.Context(t)
	b, err := blob.Open(ctx, "file://"+t.TempDir())
	require.NoError(t, err)
	defer b.Close()
	p := []byte("ballot image")
	wc, err := writeChecked(t, b, "dir/a", p, sum256(p), false)
	require.NoError(t, err)
	assert.Equal(t, writecheck.Reread, wc.Verified)

	_, err = writeChecked(t, b, "dir/b", p, sum256([]byte("not what was written")), false)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "reads back with SHA-256"), err.Error())
	ok, err := b.Exists(ctx, "dir/b")
	require.NoError(t, err)
	assert.False(t, ok, "a write that does not read back is deleted")

	var ms writecheck.MetadataSetter
	assert.False(t, b.As(&ms), "file:// has no MetadataSetter")
}

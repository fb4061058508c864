package minio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// open returns a fresh MinIO bucket opened through the adapter, its name and
// a raw client for checks that bypass the adapter.
func open(t *testing.T, opts *Options) (*blob.Bucket, string, *minio.Client) {
	t.Helper()
	s := testenv.MinIO(t)
	name := s.NewBucket(t)
	c := s.Client(t)
	b, err := OpenBucket(context.Background(), c, name, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, name, c
}

func randomBytes(t testing.TB, n int) []byte {
	p := make([]byte, n)
	_, err := rand.Read(p)
	require.NoError(t, err)
	return p
}

// incompleteUploads lists the multipart uploads left open in bucket.
func incompleteUploads(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var ids []string
	for u := range c.ListIncompleteUploads(context.Background(), bucket, "", true) {
		assert.NoError(t, u.Err) // not require: also called from require.Eventually's goroutine
		ids = append(ids, u.Key+" "+u.UploadID)
	}
	return ids
}

// Backend difference: MinIO groups keys at "/" only (a backslash delimiter
// pages forever there), so the driver refuses other delimiters.
func TestNonSlashDelimiterUnimplemented(t *testing.T) {
	b, bucket, c := open(t, nil)
	ctx := context.Background()
	require.NoError(t, b.WriteAll(ctx, `dir\a.txt`, []byte("x"), nil))

	_, err := b.List(&blob.ListOptions{Delimiter: `\`}).Next(ctx)
	require.Error(t, err)
	assert.Equal(t, gcerrors.Unimplemented, gcerrors.Code(err))
	assert.Contains(t, err.Error(), `list delimiter "\\" is not supported`)

	// Flat listing of such keys works.
	obj, err := b.List(nil).Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, `dir\a.txt`, obj.Key)

	// Why: paging a backslash-delimited list on MinIO returns the same
	// common prefix again and again. If this starts failing, MinIO may have
	// fixed it, and the driver could allow other delimiters.
	require.NoError(t, b.WriteAll(ctx, `dir\b.txt`, []byte("x"), nil))
	require.NoError(t, b.WriteAll(ctx, `other\c.txt`, []byte("x"), nil))
	core := minio.Core{Client: c}
	first, err := core.ListObjectsV2(bucket, "", "", "", `\`, 1)
	require.NoError(t, err)
	second, err := core.ListObjectsV2(bucket, "", "", first.NextContinuationToken, `\`, 1)
	require.NoError(t, err)
	require.Len(t, first.CommonPrefixes, 1)
	require.Len(t, second.CommonPrefixes, 1)
	assert.Equal(t, `dir\`, first.CommonPrefixes[0].Prefix)
	assert.Equal(t, `dir\`, second.CommonPrefixes[0].Prefix, "MinIO repeats the prefix")
	assert.True(t, second.IsTruncated)
}

// Backend difference: an S3 signature cannot require a header to be absent.
func TestSignedURLEnforceAbsentContentTypeUnimplemented(t *testing.T) {
	b, _, _ := open(t, nil)
	_, err := b.SignedURL(context.Background(), "k", &blob.SignedURLOptions{Method: http.MethodPut, EnforceAbsentContentType: true})
	require.Error(t, err)
	assert.Equal(t, gcerrors.Unimplemented, gcerrors.Code(err))
}

func TestSignedURLPutEnforcesContentType(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	u, err := b.SignedURL(ctx, "signed", &blob.SignedURLOptions{Method: http.MethodPut, ContentType: "text/plain"})
	require.NoError(t, err)
	put := func(ct string) int {
		req, err := http.NewRequest(http.MethodPut, u, strings.NewReader("hello"))
		require.NoError(t, err)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, put("application/json"))
	assert.NotEqual(t, http.StatusOK, put(""))
	assert.Equal(t, http.StatusOK, put("text/plain"))
	got, err := b.ReadAll(ctx, "signed")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
}

// Keys MinIO refuses as object names are escaped, so they work; a "/" that
// had to be escaped no longer separates directories in a delimited List.
func TestKeysMinIORejects(t *testing.T) {
	b, bucket, c := open(t, nil)
	ctx := context.Background()
	for key, stored := range map[string]string{
		"a//b":       "a/__0x2f__b",
		"/lead":      "__0x2f__lead", // raw MinIO would store "/lead" as "lead"
		"x/./y":      "x/.__0x2f__y",
		"x/ .. /y":   "x/ .. __0x2f__y",
		"x/..":       "x/.__0x2e__",
		`..\foo`:     `..__0x5c__foo`,
		"../s3blob/": "..__0x2f__s3blob/", // the same name as s3blob's
		"plain/key":  "plain/key",
		"dir/":       "dir/",
		"__0x41__":   "__0x5f___0x41__",
	} {
		assert.Equal(t, stored, ObjectName(key), key)
		assert.Equal(t, key, KeyFromObjectName(stored), key)
		require.NoError(t, b.WriteAll(ctx, key, []byte(key), nil), key)
		got, err := b.ReadAll(ctx, key)
		require.NoError(t, err, key)
		assert.Equal(t, key, string(got))
		_, err = c.StatObject(ctx, bucket, stored, minio.StatObjectOptions{})
		assert.NoError(t, err, "raw stat of %q", stored)
	}
	// What MinIO does with such names when they are not escaped.
	raw := func(name string) error {
		_, err := c.PutObject(ctx, bucket, name, strings.NewReader("raw"), 3, minio.PutObjectOptions{})
		return err
	}
	for _, name := range []string{"a//b", "x/./y", "x/..", `..\foo`} {
		err := raw(name)
		require.Error(t, err, name)
		assert.Equal(t, gcerrors.InvalidArgument, errorCode(err), "%q: %v", name, err)
	}
	require.NoError(t, raw("/raw-lead"))
	_, err := c.StatObject(ctx, bucket, "raw-lead", minio.StatObjectOptions{})
	assert.NoError(t, err, `MinIO stores "/raw-lead" as "raw-lead"`)

	require.NoError(t, b.WriteAll(ctx, "lead", []byte("other"), nil))
	got, err := b.ReadAll(ctx, "/lead")
	require.NoError(t, err)
	assert.Equal(t, "/lead", string(got), `"/lead" and "lead" stay distinct`)

	// With the delimiter "/", "a//b" is an object under "a/", not a
	// directory "a//" as on backends that store "//" as is.
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: "a/", Delimiter: "/"})
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "a//b", objs[0].Key)
	assert.False(t, objs[0].IsDir)
}

// Paging: a page ends exactly where the listing ends (no empty last page),
// and a page may end on a directory.
func TestListPaging(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	for _, k := range []string{"d", "dir1/x", "dir1/y", "dir2/z", "t-/t", "t/t/t", "testFile1"} {
		require.NoError(t, b.WriteAll(ctx, k, []byte("x"), nil))
	}
	want := []string{"d", "dir1/", "dir2/", "t-/", "t/", "testFile1"}
	for size := 1; size <= 7; size++ {
		var got []string
		token := blob.FirstPageToken
		pages := 0
		for {
			objs, next, err := b.ListPage(ctx, token, size, &blob.ListOptions{Delimiter: "/"})
			require.NoError(t, err)
			require.NotEmpty(t, objs, "page size %d: empty page", size)
			pages++
			for _, o := range objs {
				got = append(got, o.Key)
				assert.Equal(t, strings.HasSuffix(o.Key, "/"), o.IsDir, o.Key)
			}
			if next == nil {
				break
			}
			token = next
		}
		assert.Equal(t, want, got, "page size %d", size)
		assert.Equal(t, (len(want)+size-1)/size, pages, "page size %d", size)
	}
}

func TestRangeReads(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	content := []byte("abcdefghijklmnopqrstuvwxyz")
	require.NoError(t, b.WriteAll(ctx, "k", content, nil))
	require.NoError(t, b.WriteAll(ctx, "empty", nil, nil))

	for _, tc := range []struct {
		key            string
		offset, length int64
		want           string
		size           int64
	}{
		{"k", 0, -1, string(content), 26},
		{"k", 10, 5, "klmno", 26},
		{"k", 20, 100, "uvwxyz", 26},
		{"k", 10, 0, "", 26},
		{"k", 26, -1, "", 26},  // offset at the end
		{"k", 100, -1, "", 26}, // offset beyond the end
		{"k", 100, 5, "", 26},
		{"empty", 0, -1, "", 0},
		{"empty", 0, 10, "", 0},
		{"empty", 0, 0, "", 0},
	} {
		r, err := b.NewRangeReader(ctx, tc.key, tc.offset, tc.length, nil)
		require.NoError(t, err, "%+v", tc)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		assert.Equal(t, tc.want, string(got), "%+v", tc)
		assert.Equal(t, tc.size, r.Size(), "%+v", tc)
		assert.False(t, r.ModTime().IsZero())
	}
	_, err := b.NewRangeReader(ctx, "missing", 100, -1, nil)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	_, err = b.NewRangeReader(ctx, "missing", 0, 0, nil)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
}

func TestAttributes(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	require.NoError(t, b.WriteAll(ctx, "k", []byte("hello"), &blob.WriterOptions{
		ContentType: "text/plain",
		Metadata:    map[string]string{"Content-Type": "not a header", "x-amz-meta-twice": "v", "Émoji": "☺ /"},
	}))
	a, err := b.Attributes(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"content-type": "not a header", "x-amz-meta-twice": "v", "émoji": "☺ /"}, a.Metadata)
	assert.Equal(t, "text/plain", a.ContentType)
	assert.Equal(t, "5d41402abc4b2a76b9719d911017c592", hex.EncodeToString(a.MD5))
	assert.Equal(t, `"5d41402abc4b2a76b9719d911017c592"`, a.ETag)
	// Backend difference: CreateTime is Last-Modified, the creation time of
	// this (immutable) version.
	assert.Equal(t, a.ModTime, a.CreateTime)
}

// A write larger than PartSize is a multipart upload; its ETag is not an
// MD5, so MD5 is nil (backend difference shared with S3). Writes of whole
// parts are uploaded from the caller's slice, smaller ones are buffered.
func TestMultipartWrite(t *testing.T) {
	const part = MinPartSize
	b, bucket, c := open(t, &Options{PartSize: part})
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		writes []int // sizes of the Write calls
		parts  int   // 0: a single PUT
	}{
		{"one part in one write", []int{part}, 0},
		{"one part in small writes", []int{part - 10, 10}, 0},
		{"small writes", slices.Repeat([]int{1<<20 + 7}, 16), 4},
		{"two parts in one write", []int{2 * part}, 2},
		{"one write of parts and a tail", []int{3*part + 123}, 4},
		{"a part, then a byte", []int{part, 1}, 2},
		{"a byte, then parts", []int{1, 2 * part}, 3},
		{"a part, then a part", []int{part, part}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var content []byte
			w, err := b.NewWriter(ctx, "big", &blob.WriterOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"k": "v"}})
			require.NoError(t, err)
			for _, n := range tc.writes {
				p := randomBytes(t, n)
				content = append(content, p...)
				m, err := w.Write(p)
				require.NoError(t, err)
				require.Equal(t, n, m)
				clear(p) // the writer must not keep p
			}
			require.NoError(t, w.Close())

			got, err := b.ReadAll(ctx, "big")
			require.NoError(t, err)
			require.True(t, bytes.Equal(content, got), "content differs")
			a, err := b.Attributes(ctx, "big")
			require.NoError(t, err)
			if tc.parts == 0 {
				assert.NotNil(t, a.MD5)
			} else {
				assert.Nil(t, a.MD5)
				assert.True(t, strings.HasSuffix(a.ETag, fmt.Sprintf(`-%d"`, tc.parts)), a.ETag)
			}
			assert.Equal(t, map[string]string{"k": "v"}, a.Metadata)
			assert.Equal(t, int64(len(content)), a.Size)
			assert.Empty(t, incompleteUploads(t, c, bucket))
		})
	}
}

func TestIfNotExist(t *testing.T) {
	b, _, _ := open(t, &Options{PartSize: MinPartSize})
	ctx := context.Background()
	for _, size := range []int{10, 2*MinPartSize + 1} {
		key := "once-" + string(rune('a'+size%26))
		first := randomBytes(t, size)
		opts := &blob.WriterOptions{IfNotExist: true}
		require.NoError(t, b.WriteAll(ctx, key, first, opts), "size %d", size)
		err := b.WriteAll(ctx, key, randomBytes(t, size), opts)
		assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "size %d: %v", size, err)
		got, err := b.ReadAll(ctx, key)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(first, got), "size %d: the first write must stay", size)
	}
}

// The condition is checked again when a multipart upload completes: an
// object created while the upload runs is not overwritten.
func TestIfNotExistCheckedAtCompletion(t *testing.T) {
	b, _, _ := open(t, &Options{PartSize: MinPartSize})
	ctx := context.Background()
	w, err := b.NewWriter(ctx, "race", &blob.WriterOptions{IfNotExist: true, ContentType: "text/plain"})
	require.NoError(t, err)
	_, err = w.Write(randomBytes(t, MinPartSize+1)) // starts the upload
	require.NoError(t, err)
	require.NoError(t, b.WriteAll(ctx, "race", []byte("winner"), nil))
	err = w.Close()
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
	got, err := b.ReadAll(ctx, "race")
	require.NoError(t, err)
	assert.Equal(t, "winner", string(got))
}

// cancelableWrite writes n random bytes to key on b, through a writer whose
// context cancel cancels, and returns the writer still open.
func cancelableWrite(t *testing.T, b *blob.Bucket, key string, n int) (*blob.Writer, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	require.NoError(t, err)
	_, err = w.Write(randomBytes(t, n))
	require.NoError(t, err)
	return w, cancel
}

// A cancelled multipart write leaves neither an object nor an open upload.
func TestCanceledMultipartWrite(t *testing.T) {
	b, bucket, c := open(t, &Options{PartSize: MinPartSize})
	w, cancel := cancelableWrite(t, b, "canceled", 2*MinPartSize+1)
	cancel()
	err := w.Close()
	require.ErrorIs(t, err, context.Canceled)

	exists, err := b.Exists(context.Background(), "canceled")
	require.NoError(t, err)
	assert.False(t, exists)
	assert.Empty(t, incompleteUploads(t, c, bucket))
}

// A writer abandoned after its context is cancelled, without Close, must not
// leak goroutines, and its multipart upload is aborted.
func TestAbandonedWriterDoesNotLeak(t *testing.T) {
	b, bucket, c := open(t, &Options{PartSize: MinPartSize})
	_, cancel := cancelableWrite(t, b, "abandoned", 3*MinPartSize+1)
	require.NotEmpty(t, incompleteUploads(t, c, bucket), "the write should be a multipart upload by now")
	cancel() // and never Close

	require.Eventually(t, func() bool {
		return countGoroutines("civicport/adapters/minio.(*writer)") == 0 &&
			len(incompleteUploads(t, c, bucket)) == 0
	}, 10*time.Second, 50*time.Millisecond, "goroutines:\n%s", goroutinesMatching("civicport/adapters/minio.(*writer)"))
	exists, err := b.Exists(context.Background(), "abandoned")
	require.NoError(t, err)
	assert.False(t, exists)
}

func goroutinesMatching(substr string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, substr) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func countGoroutines(substr string) int {
	if s := goroutinesMatching(substr); s != "" {
		return strings.Count(s, "goroutine ")
	}
	return 0
}

// gocloud's s3blob escapes the copy source with url.QueryEscape, so copying
// a key with a space fails with NotFound on MinIO; this driver copies it.
func TestCopyKeyWithSpace(t *testing.T) {
	b, _, _ := open(t, nil)
	ctx := context.Background()
	require.NoError(t, b.WriteAll(ctx, "with space+plus", []byte("x"), &blob.WriterOptions{Metadata: map[string]string{"m": "1"}}))
	require.NoError(t, b.Copy(ctx, "copy of it", "with space+plus", nil))
	got, err := b.ReadAll(ctx, "copy of it")
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
	a, err := b.Attributes(ctx, "copy of it")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"m": "1"}, a.Metadata)
}

func TestMissingBucketIsNotFound(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := context.Background()
	b, err := OpenBucket(ctx, s.Client(t), testenv.UniqueName("cp-missing"), nil)
	require.NoError(t, err)
	defer b.Close()

	ok, err := b.IsAccessible(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = b.Attributes(ctx, "k")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	_, err = b.ReadAll(ctx, "k")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	err = b.WriteAll(ctx, "k", []byte("x"), nil)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "bucket does not exist")
}

func TestWrongCredentialsArePermissionDenied(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	const secret = "not-the-secret-4f9a"
	c, err := minio.New(s.Host, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, secret, ""), Region: s.Region})
	require.NoError(t, err)
	b, err := OpenBucket(context.Background(), c, bucket, nil)
	require.NoError(t, err)
	defer b.Close()

	ctx := context.Background()
	err = b.WriteAll(ctx, "k", []byte("x"), nil)
	require.Error(t, err)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)
	assert.NotContains(t, err.Error(), secret)
	_, err = b.Attributes(ctx, "k")
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)
	_, _, err = b.ListPage(ctx, blob.FirstPageToken, 1, nil)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)
	assert.NotContains(t, err.Error(), secret)

	// Same through the URL opener, with a wrong access key.
	t.Setenv("MINIO_ACCESS_KEY", "nobody")
	t.Setenv("MINIO_SECRET_KEY", secret)
	ub, err := blob.OpenBucket(ctx, s.MinioURL(bucket))
	require.NoError(t, err)
	defer ub.Close()
	_, err = ub.ReadAll(ctx, "k")
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)
	assert.NotContains(t, err.Error(), secret)
}

func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("id", "secret-value", ""), Region: "us-east-1", MaxRetries: 1})
	require.NoError(t, err)
	b, err := OpenBucket(context.Background(), c, "bucket", nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.ReadAll(context.Background(), "k")
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotContains(t, err.Error(), "secret-value")
}

// The URL opener reads credentials from the environment and opens a working
// bucket.
func TestURLOpener(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	ctx := context.Background()

	t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
	t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
	b, err := blob.OpenBucket(ctx, s.MinioURL(bucket))
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.WriteAll(ctx, "k", []byte("via url"), nil))
	name, ok := BucketName(b)
	require.True(t, ok)
	assert.Equal(t, bucket, name)

	// The gocloud prefix parameter works on top.
	pb, err := blob.OpenBucket(ctx, s.MinioURL(bucket)+"&prefix=p/")
	require.NoError(t, err)
	defer pb.Close()
	require.NoError(t, pb.WriteAll(ctx, "k", []byte("prefixed"), nil))
	_, ok = Client(pb)
	assert.True(t, ok, "Client sees through blob.PrefixedBucket")
	got, err := b.ReadAll(ctx, "p/k")
	require.NoError(t, err)
	assert.Equal(t, "prefixed", string(got))

	// AWS_* variables are the fallback.
	t.Setenv("MINIO_ACCESS_KEY", "")
	t.Setenv("MINIO_SECRET_KEY", "")
	t.Setenv("AWS_ACCESS_KEY_ID", testenv.DefaultAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testenv.DefaultSecretKey)
	ab, err := blob.OpenBucket(ctx, s.MinioURL(bucket))
	require.NoError(t, err)
	defer ab.Close()
	got, err = ab.ReadAll(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "via url", string(got))
}

package blob_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// writeChecked writes p to key asking for a writecheck.Check; upFront and
// atClose say when the caller gives the SHA-256 (sha).
func writeChecked(t *testing.T, b *gcblob.Bucket, key string, p []byte, sha string, upFront bool) (*writecheck.Check, error) {
	t.Helper()
	return writeCheckedWith(t, b, key, p, sha, upFront, 0, nil)
}

// writeCheckedWith is writeChecked with WriterOptions.BufferSize (0: the
// driver's default) and, if not nil, more of the caller's BeforeWrite.
func writeCheckedWith(t *testing.T, b *gcblob.Bucket, key string, p []byte, sha string, upFront bool, bufferSize int, more func(as func(any) bool)) (*writecheck.Check, error) {
	t.Helper()
	ctx := testenv.Context(t)
	var wc *writecheck.Check
	// With a content type gocloud makes the driver's writer (and calls
	// BeforeWrite) at once, not at the first Write or Close.
	w, err := b.NewWriter(ctx, key, &gcblob.WriterOptions{ContentType: "application/octet-stream", BufferSize: bufferSize, BeforeWrite: func(as func(any) bool) error {
		require.True(t, as(&wc), "As for *writecheck.Check")
		wc.Size = int64(len(p))
		if upFront {
			wc.SHA256 = sha
		}
		if more != nil {
			more(as)
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

func randomData(t testing.TB, n int) []byte {
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
			b := testenv.Bucket(t, blob.Open, s.S3URL(name))
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

			// The multipart threshold is the part size (5 MiB here), so
			// an object of 7 MiB streamed goes up in two parts; with its
			// SHA-256 up front it is still one PUT checked against it.
			mid := randomData(t, 7<<20)
			wc, err = writeCheckedWith(t, b, "mid-late", mid, sum256(mid), false, 5<<20, nil)
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256Parts, wc.Verified)
			a, err := b.Attributes(ctx, "mid-late")
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(strings.Trim(a.ETag, `"`), "-2"), "a multipart ETag of 2 parts, got %s", a.ETag)
			wc, err = writeCheckedWith(t, b, "mid", mid, sum256(mid), true, 5<<20, nil)
			require.NoError(t, err)
			assert.Equal(t, writecheck.SHA256, wc.Verified)
			a, err = b.Attributes(ctx, "mid")
			require.NoError(t, err)
			assert.NotContains(t, a.ETag, "-", "one PUT")
			_, err = writeCheckedWith(t, b, "mid-wrong", mid, sum256(small), true, 5<<20, nil)
			require.Error(t, err, "a SHA-256 that is not the body's must be refused")
		})
	}
}

// A PUT whose SHA-256 the caller gave up front goes UNSIGNED-PAYLOAD (the
// SDK would otherwise hash the body again for the signature over plain
// HTTP); the signed x-amz-checksum-sha256 still makes the server refuse a
// body damaged on the way, one PUT or a part. Without a Check the payload
// hash stays signed.
func TestS3UnsignedPayloadStillChecked(t *testing.T) {
	s := testenv.MinIO(t)
	name := s.NewBucket(t)
	ctx := testenv.Context(t)
	s3url := func(p *testenv.Proxy) string {
		return strings.Replace(s.S3URL(name), url.QueryEscape(s.Host), url.QueryEscape(p.Addr), 1)
	}
	small, mid := randomData(t, 100<<10), randomData(t, 7<<20)

	clean := testenv.NewProxy(t, s.Host, -1)
	b := testenv.Bucket(t, blob.Open, s3url(clean))
	_, err := writeChecked(t, b, "small", small, sum256(small), true)
	require.NoError(t, err)
	_, err = writeCheckedWith(t, b, "mid-late", mid, sum256(mid), false, 5<<20, nil)
	require.NoError(t, err)
	hashes := clean.PayloadHashes()
	require.Len(t, hashes, 3, "one PUT and two parts")
	assert.Equal(t, "UNSIGNED-PAYLOAD", hashes[0], "the SHA-256 given up front is the check")
	// A part's SHA-256 the SDK computes once, for its checksum and its
	// signature both (the two parts go up in parallel: either order).
	assert.ElementsMatch(t, []string{sum256(mid[:5<<20]), sum256(mid[5<<20:])}, hashes[1:3])
	require.NoError(t, b.WriteAll(ctx, "unchecked", small, nil))
	hashes = clean.PayloadHashes()
	assert.Equal(t, sum256(small), hashes[len(hashes)-1], "without a Check the signature covers the body")

	for _, c := range []struct {
		key     string
		p       []byte
		upFront bool
	}{{"small-damaged", small, true}, {"mid-damaged", mid, false}} {
		damaging := testenv.NewProxy(t, s.Host, 50_000)
		db := testenv.Bucket(t, blob.Open, s3url(damaging))
		_, err := writeCheckedWith(t, db, c.key, c.p, sum256(c.p), c.upFront, 5<<20, nil)
		require.True(t, damaging.Flipped.Load(), "the proxy must have damaged %s", c.key)
		require.Error(t, err, c.key)
		ok, err := b.Exists(ctx, c.key)
		require.NoError(t, err)
		assert.False(t, ok, "nothing stored for %s", c.key)
	}
}

// BenchmarkS3WriteLarge writes 32 MiB objects with 5 MiB parts, 2 in
// flight (migrate's defaults), through gocloud's s3blob as it is and
// through civicport's s3:// (which bounds the transfer manager's first
// read at the part size). B/op is the memory each upload allocates.
func BenchmarkS3WriteLarge(b *testing.B) {
	s := testenv.MinIO(b)
	name := s.NewBucket(b)
	p := randomData(b, 32<<20)
	for _, bk := range []struct {
		name string
		open func(testing.TB, string) *gcblob.Bucket
	}{
		{"s3blob", func(t testing.TB, u string) *gcblob.Bucket { return testenv.Bucket(t, gcblob.OpenBucket, u) }},
		{"civicport", func(t testing.TB, u string) *gcblob.Bucket { return testenv.Bucket(t, blob.Open, u) }},
	} {
		b.Run(bk.name, func(b *testing.B) {
			bucket := bk.open(b, s.S3URL(name))
			ctx := testenv.Context(b)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				w, err := bucket.NewWriter(ctx, "large", &gcblob.WriterOptions{BufferSize: 5 << 20, MaxConcurrency: 2})
				require.NoError(b, err)
				_, err = w.Write(p)
				require.NoError(b, err)
				require.NoError(b, w.Close())
			}
		})
	}
}

func TestS3MetadataSetter(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := testenv.Context(t)
	b := testenv.Bucket(t, blob.Open, s.S3URL(s.NewBucket(t)))
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
	b := testenv.Bucket(t, blob.Open, "file://"+t.TempDir())
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

// gs:// reports the CRC32C the server checked: the storage client's own (or
// the caller's), sent with an object small enough to go in one request.
func TestGCSWriteCheck(t *testing.T) {
	g := testenv.FakeGCS(t)
	ctx := testenv.Context(t)
	b := testenv.Bucket(t, blob.Open, g.GSURL(g.NewBucket(t)))
	readsBack := func(key string, p []byte) {
		t.Helper()
		got, err := b.ReadAll(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, sum256(p), sum256(got), key)
	}

	small := randomData(t, 100<<10)
	for _, upFront := range []bool{true, false} {
		key := fmt.Sprintf("small-%t", upFront)
		wc, err := writeChecked(t, b, key, small, sum256(small), upFront)
		require.NoError(t, err)
		assert.Equal(t, writecheck.CRC32C, wc.Verified, "SHA-256 up front: %t", upFront)
		readsBack(key, small)
	}

	// Around a 256 KiB chunk: one request below it, a resumable upload
	// (whose CRC32C fake-gcs-server does not check) from it on.
	const chunk = 256 << 10
	for _, tc := range []struct {
		n    int
		want string
	}{{chunk - 1, writecheck.CRC32C}, {chunk, ""}, {4*chunk + 1, ""}} {
		p := randomData(t, tc.n)
		key := fmt.Sprintf("chunked-%d", tc.n)
		wc, err := writeCheckedWith(t, b, key, p, sum256(p), true, chunk, nil)
		require.NoError(t, err)
		assert.Equal(t, tc.want, wc.Verified, "%d bytes in %d-byte chunks", tc.n, chunk)
		readsBack(key, p)
	}

	// BufferSize < 0 (ChunkSize 0): one streamed request without the
	// client's CRC32C.
	wc, err := writeCheckedWith(t, b, "unchunked", small, sum256(small), true, -1, nil)
	require.NoError(t, err)
	assert.Empty(t, wc.Verified)
	readsBack("unchunked", small)

	// The caller's own CRC32C (SendCRC32C) is checked instead; a wrong one
	// is refused and nothing is stored, however the upload is chunked.
	own := func(crc uint32) func(as func(any) bool) {
		return func(as func(any) bool) {
			var sw *storage.Writer
			require.True(t, as(&sw), "As for *storage.Writer")
			sw.SendCRC32C, sw.CRC32C = true, crc
		}
	}
	good := crc32.Checksum(small, crc32.MakeTable(crc32.Castagnoli))
	for _, bufferSize := range []int{0, -1} {
		key := fmt.Sprintf("own-%d", bufferSize)
		wc, err := writeCheckedWith(t, b, key, small, sum256(small), true, bufferSize, own(good))
		require.NoError(t, err)
		assert.Equal(t, writecheck.CRC32C, wc.Verified, "BufferSize %d", bufferSize)
		readsBack(key, small)

		key = fmt.Sprintf("own-wrong-%d", bufferSize)
		_, err = writeCheckedWith(t, b, key, small, sum256(small), true, bufferSize, own(good+1))
		require.Error(t, err, "a CRC32C that is not the body's must be refused")
		var gerr *googleapi.Error
		require.ErrorAs(t, err, &gerr)
		assert.Equal(t, http.StatusBadRequest, gerr.Code, err.Error())
		ok, err := b.Exists(ctx, key)
		require.NoError(t, err)
		assert.False(t, ok, "BufferSize %d", bufferSize)
	}
}

// damageWrites changes one byte of each write request's body that holds
// the marker (a run of "a"s in the test data), after the client computed
// its checksums: damage on the way that only the server can see. With max
// above 0 it damages that many bodies only.
type damageWrites struct {
	base    http.RoundTripper
	max     int32
	hits    atomic.Int32
	sawHash atomic.Bool // a request carried X-Goog-Hash
}

var damageMarker = bytes.Repeat([]byte("a"), 32)

func (d *damageWrites) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Goog-Hash") != "" {
		d.sawHash.Store(true)
	}
	if r.Body == nil || (r.Method != http.MethodPost && r.Method != http.MethodPut) {
		return d.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	if i := bytes.Index(body, damageMarker); i >= 0 && (d.max <= 0 || d.hits.Load() < d.max) {
		body[i] = 'b'
		d.hits.Add(1)
	}
	r = r.Clone(r.Context())
	r.Body, r.GetBody = io.NopCloser(bytes.NewReader(body)), nil
	return d.base.RoundTrip(r)
}

// gcsVia opens bucket name on fake-gcs-server through transport rt, wrapped
// as blob.Open wraps gs:// (query: the URL's, e.g. "grpc=true").
func gcsVia(t *testing.T, name string, rt http.RoundTripper, query string) *gcblob.Bucket {
	t.Helper()
	testenv.FakeGCS(t) // STORAGE_EMULATOR_HOST, which storage.NewClient follows
	ctx := testenv.Context(t)
	sc, err := storage.NewClient(ctx, option.WithHTTPClient(&http.Client{Transport: rt}))
	require.NoError(t, err)
	t.Cleanup(func() { sc.Close() })
	gb, err := gcsblob.OpenBucket(ctx, nil, name, &gcsblob.Options{Client: sc})
	require.NoError(t, err)
	b := blob.WrapGCS(gb, &url.URL{Scheme: "gs", Host: name, RawQuery: query})
	t.Cleanup(func() { b.Close() })
	return b
}

// A body damaged on its way to the server is refused: the CRC32C sent is
// of the bytes written, the server's of what arrived.
func TestGCSWriteCheckRefusesDamage(t *testing.T) {
	g := testenv.FakeGCS(t)
	name := g.NewBucket(t)
	d := &damageWrites{base: http.DefaultTransport}
	b := gcsVia(t, name, d, "")
	p := bytes.Repeat([]byte("a"), 100<<10)
	_, err := writeChecked(t, b, "damaged", p, sum256(p), true)
	require.Error(t, err)
	assert.Equal(t, int32(1), d.hits.Load(), "the body was damaged once")
	assert.Contains(t, err.Error(), "CRC32C")
	ok, err := b.Exists(testenv.Context(t), "damaged")
	require.NoError(t, err)
	assert.False(t, ok, "a damaged body is not stored")
}

// migrate records what gs:// verified: crc32c for an object sent in one
// request (under migrate's 5 MiB PartSize, the upload's chunk size), nothing
// for a resumable one. A body damaged on the way is refused (a 400, which
// gcsblob reports as InvalidArgument, so migrate does not retry it): the
// object fails, nothing is stored, and the next run copies it.
func TestMigrateRecordsGCSCheck(t *testing.T) {
	g := testenv.FakeGCS(t)
	ctx := testenv.Context(t)
	src := testenv.Bucket(t, blob.Open, "mem://")
	small, large := bytes.Repeat([]byte("a"), 10<<10), randomData(t, 6<<20)
	require.NoError(t, src.WriteAll(ctx, "small", small, nil))
	require.NoError(t, src.WriteAll(ctx, "large", large, nil))
	d := &damageWrites{base: http.DefaultTransport, max: 1}
	dst := gcsVia(t, g.NewBucket(t), d, "")
	run := func() (*migrate.Summary, map[string]string) {
		t.Helper()
		var m bytes.Buffer
		sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &m})
		require.NoError(t, err)
		entries, err := migrate.ReadManifest(&m)
		require.NoError(t, err)
		checks := map[string]string{}
		for _, e := range entries {
			checks[e.Key] = e.ServerCheck
		}
		rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
		return sum, checks
	}

	sum, checks := run()
	assert.Equal(t, int32(1), d.hits.Load(), "the upload of small was damaged")
	assert.Equal(t, int64(1), sum.Failed, sum.String())
	require.Error(t, sum.Err())
	assert.Contains(t, sum.Err().Error(), "CRC32C")
	assert.Equal(t, map[string]string{"large": ""}, checks)
	ok, err := dst.Exists(ctx, "small")
	require.NoError(t, err)
	assert.False(t, ok, "the damaged upload stored nothing")

	sum, checks = run()
	require.NoError(t, sum.Err(), sum.String())
	assert.Equal(t, int64(1), sum.Copied, sum.String())
	assert.Equal(t, map[string]string{"small": writecheck.CRC32C, "large": ""}, checks, "large: found identical, not written")
}

// Over gRPC (untested here) nothing is claimed: the same upload over the
// JSON API, wrapped as a grpc=true URL would be, reports nothing.
func TestGCSWriteCheckNotOverGRPC(t *testing.T) {
	g := testenv.FakeGCS(t)
	b := gcsVia(t, g.NewBucket(t), http.DefaultTransport, "grpc=true")
	p := randomData(t, 1<<10)
	wc, err := writeChecked(t, b, "k", p, sum256(p), true)
	require.NoError(t, err)
	assert.Empty(t, wc.Verified)
}

// azblob:// answers no Check (Azurite verifies no checksum the SDK sends;
// see the writecheck package doc and TestAzuriteIgnoresCRC64).
func TestAzureWriteCheckNotOffered(t *testing.T) {
	a := testenv.Azurite(t)
	ctx := testenv.Context(t)
	b := testenv.Bucket(t, blob.Open, a.URL(a.NewContainer(t)))
	asked := false
	w, err := b.NewWriter(ctx, "k", &gcblob.WriterOptions{ContentType: "text/plain", BeforeWrite: func(as func(any) bool) error {
		var wc *writecheck.Check
		asked = true
		assert.False(t, as(&wc))
		return nil
	}})
	require.NoError(t, err)
	_, err = w.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.True(t, asked)
}

package blob_test

// Tests that pin down each known backend difference listed in
// knownDifferences (main_test.go): if a server changes its behaviour, the
// test fails and the entry (and the README's capability notes) must change.

import (
	"bytes"
	"compress/gzip"
	"hash/crc32"
	"io"
	"net/http"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/gcsblob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func open(t *testing.T, url string) *gcblob.Bucket { return testenv.Bucket(t, blob.Open, url) }

func TestMinIOExtraEmptyLastPage(t *testing.T) {
	s := testenv.MinIO(t)
	b := open(t, s.S3URL(s.NewBucket(t)))
	ctx := testenv.Context(t)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, b.WriteAll(ctx, k, []byte(k), nil))
	}
	var sizes []int
	token := gcblob.FirstPageToken
	for len(token) > 0 && len(sizes) < 10 {
		objs, next, err := b.ListPage(ctx, token, 1, nil)
		require.NoError(t, err)
		sizes = append(sizes, len(objs))
		token = next
	}
	assert.Equal(t, []int{1, 1, 1, 0}, sizes, "pages of 1 over 3 keys")
}

func TestMinIORefusesSomeKeys(t *testing.T) {
	s := testenv.MinIO(t)
	b := open(t, s.S3URL(s.NewBucket(t)))
	ctx := testenv.Context(t)
	for k, code := range map[string]string{
		"foo//bar":                    "XMinioInvalidObjectName",
		`x..\foo\..\bar\..\..\baz..\`: "XMinioInvalidResourceName",
	} {
		err := b.WriteAll(ctx, k, []byte("x"), nil)
		require.Error(t, err, "key %q", k)
		assert.Contains(t, err.Error(), code, "key %q", k)
	}
	require.NoError(t, b.WriteAll(ctx, "foo/bar", []byte("x"), nil), "an ordinary key still works")
}

func TestVersitygwRefusesDataInDirectoryKeys(t *testing.T) {
	s := testenv.Versitygw(t)
	b := open(t, s.S3URL(s.NewBucket(t)))
	ctx := testenv.Context(t)
	err := b.WriteAll(ctx, "dir/", []byte("data"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DirectoryObjectContainsData")
	require.NoError(t, b.WriteAll(ctx, "empty-dir/", nil, nil), "an empty directory marker is accepted")
}

func TestFakeGCSIgnoresPageSizeWithDelimiter(t *testing.T) {
	g := testenv.FakeGCS(t)
	b := open(t, g.GSURL(g.NewBucket(t)))
	ctx := testenv.Context(t)
	for _, k := range []string{"d1/a", "d2/b", "f"} {
		require.NoError(t, b.WriteAll(ctx, k, []byte(k), nil))
	}
	objs, _, err := b.ListPage(ctx, gcblob.FirstPageToken, 1, &gcblob.ListOptions{Delimiter: "/"})
	require.NoError(t, err)
	assert.Len(t, objs, 3, "page size 1 with a delimiter")
}

func TestFakeGCSAcceptsEmptyKey(t *testing.T) {
	g := testenv.FakeGCS(t)
	b := open(t, g.GSURL(g.NewBucket(t)))
	assert.NoError(t, b.WriteAll(testenv.Context(t), "", []byte("x"), nil))
}

// The s3blob Copy fix in this package (s3.go): without it, copying a key
// with a space fails on every S3 server that decodes paths correctly.
func TestS3CopyKeyWithSpace(t *testing.T) {
	for _, srv := range []func(testing.TB) testenv.S3{testenv.MinIO, testenv.Versitygw} {
		s := srv(t)
		t.Run(s.Name, func(t *testing.T) {
			b := open(t, s.S3URL(s.NewBucket(t)))
			ctx := testenv.Context(t)
			for _, k := range []string{"ballots 2026/scan 001.tif", "a+b c%20d.txt"} {
				require.NoError(t, b.WriteAll(ctx, k, []byte("content of "+k), nil))
				require.NoError(t, b.Copy(ctx, k+".copy", k, nil), "copy %q", k)
				got, err := b.ReadAll(ctx, k+".copy")
				require.NoError(t, err)
				assert.Equal(t, "content of "+k, string(got))
			}
		})
	}
}

// The read fixes in this package (gcs.go, azure.go): an object stored with
// Content-Encoding gzip reads back as the stored bytes, as on every other
// backend. Raw gcsblob and azureblob hand out decompressed bytes instead
// (GCS's decompressive transcoding; Go's HTTP transport under the Azure
// SDK), which would make a migration write altered content under a gzip
// header.
func TestReadsStoredGzipBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"gcs", func(t *testing.T) string { g := testenv.FakeGCS(t); return g.GSURL(g.NewBucket(t)) }},
		{"azure", func(t *testing.T) string { a := testenv.Azurite(t); return a.URL(a.NewContainer(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url(t)
			ctx := testenv.Context(t)
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			_, err := zw.Write(bytes.Repeat([]byte("precinct results "), 100))
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			b := open(t, u)
			require.NoError(t, b.WriteAll(ctx, "results.json.gz", gz.Bytes(), &gcblob.WriterOptions{ContentEncoding: "gzip", ContentType: "application/json"}))

			got, err := b.ReadAll(ctx, "results.json.gz")
			require.NoError(t, err)
			assert.Equal(t, gz.Bytes(), got, "civicport reads the stored bytes")
			r, err := b.NewRangeReader(ctx, "results.json.gz", 2, 10, nil)
			require.NoError(t, err)
			part, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, gz.Bytes()[2:12], part, "a range of the stored bytes")

			raw, err := gcblob.OpenBucket(ctx, u)
			require.NoError(t, err)
			defer raw.Close()
			got, err = raw.ReadAll(ctx, "results.json.gz")
			require.NoError(t, err)
			assert.NotEqual(t, gz.Bytes(), got, "raw gocloud decompresses (if this fails, gocloud changed and the mend can go)")
		})
	}
}

// Azurite groups a listing at the first character of a multi-character
// delimiter: "abc" groups "dirabc/x" as "dira". Real Azure Blob Storage
// groups at the whole delimiter. (gocloud escapes a "\" delimiter into a
// multi-character token, so "\" is hit too.)
func TestAzuriteCutsMultiCharDelimiter(t *testing.T) {
	a := testenv.Azurite(t)
	b := open(t, a.URL(a.NewContainer(t)))
	ctx := testenv.Context(t)
	require.NoError(t, b.WriteAll(ctx, "dirabcx", []byte("x"), nil))
	objs, _, err := b.ListPage(ctx, gcblob.FirstPageToken, 10, &gcblob.ListOptions{Delimiter: "abc"})
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "dira", objs[0].Key, "the group Azurite makes (Azure: \"dirabc\")")
	assert.True(t, objs[0].IsDir)
}

// fake-gcs-server v1.56.1 checks a CRC32C only on an upload sent in one
// request. On a resumable upload it ignores the client's CRC32C in the final
// request's X-Goog-Hash, and forgets a crc32c given in the first request's
// metadata once a chunk has arrived; Cloud Storage verifies both (its
// docs). So gs:// claims neither (Verified ""), and a damaged or
// wrong-checksum resumable upload is stored here.
func TestFakeGCSIgnoresResumableCRC32C(t *testing.T) {
	g := testenv.FakeGCS(t)
	d := &damageWrites{base: http.DefaultTransport}
	b := gcsVia(t, g.NewBucket(t), d, "")
	ctx := testenv.Context(t)
	const chunk = 256 << 10

	p := bytes.Repeat([]byte("a"), 4*chunk)
	wc, err := writeCheckedWith(t, b, "damaged", p, sum256(p), true, chunk, nil)
	require.NoError(t, err, "a damaged resumable upload is accepted")
	assert.Empty(t, wc.Verified)
	assert.True(t, d.sawHash.Load(), "the client sent its CRC32C in X-Goog-Hash")
	assert.Equal(t, int32(4), d.hits.Load(), "each chunk was damaged")
	got, err := b.ReadAll(ctx, "damaged")
	require.NoError(t, err)
	assert.NotEqual(t, sum256(p), sum256(got), "and stored damaged")

	q := randomData(t, 4*chunk)
	wrong := crc32.Checksum(q, crc32.MakeTable(crc32.Castagnoli)) + 1
	wc, err = writeCheckedWith(t, b, "wrong", q, sum256(q), true, chunk, func(as func(any) bool) {
		var sw *storage.Writer
		require.True(t, as(&sw))
		sw.SendCRC32C, sw.CRC32C = true, wrong
	})
	require.NoError(t, err, "a resumable upload with a wrong crc32c in its metadata is accepted")
	assert.Empty(t, wc.Verified)
}

// Azurite 3.35.0 verifies a request's Content-MD5 but not its CRC64
// (x-ms-content-crc64), which Azure verifies on Put Blob and Put Block; and
// it stores the SDK's structured-message CRC64 encoding, framing and all, as
// the blob's content. So azblob:// sends and claims no checksum (see the
// writecheck package doc).
func TestAzuriteIgnoresCRC64(t *testing.T) {
	a := testenv.Azurite(t)
	ctx := testenv.Context(t)
	cont := a.Client(t).ServiceClient().NewContainerClient(a.NewContainer(t))
	p := randomData(t, 64<<10)
	body := func() io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(p)) }
	const blockID = "MDAwMA==" // base64 "0000"
	exists := func(key string) bool {
		_, err := cont.NewBlockBlobClient(key).GetProperties(ctx, nil)
		return err == nil
	}

	wrongCRC64 := azblobblob.TransferValidationTypeCRC64(12345)
	_, err := cont.NewBlockBlobClient("put-crc64").Upload(ctx, body(), &blockblob.UploadOptions{TransactionalValidation: wrongCRC64})
	require.NoError(t, err, "Put Blob with a wrong CRC64 is accepted")
	assert.True(t, exists("put-crc64"))
	_, err = cont.NewBlockBlobClient("block-crc64").StageBlock(ctx, blockID, body(), &blockblob.StageBlockOptions{TransactionalValidation: wrongCRC64})
	require.NoError(t, err, "Put Block with a wrong CRC64 is accepted")

	wrongMD5 := azblobblob.TransferValidationTypeMD5(bytes.Repeat([]byte{1}, 16)) // sixteen bytes, not an MD5 of p
	_, err = cont.NewBlockBlobClient("put-md5").Upload(ctx, body(), &blockblob.UploadOptions{TransactionalValidation: wrongMD5})
	require.Error(t, err, "Put Blob with a wrong Content-MD5 is refused")
	assert.Contains(t, err.Error(), "Provided contentMD5 doesn't match")
	assert.False(t, exists("put-md5"))
	_, err = cont.NewBlockBlobClient("block-md5").StageBlock(ctx, blockID, body(), &blockblob.StageBlockOptions{TransactionalValidation: wrongMD5})
	require.Error(t, err, "Put Block with a wrong Content-MD5 is refused")
	assert.Contains(t, err.Error(), "Provided contentMD5 doesn't match")

	sm := cont.NewBlockBlobClient("structured")
	_, err = sm.UploadStream(ctx, bytes.NewReader(p), &blockblob.UploadStreamOptions{TransactionalValidation: azblobblob.TransferValidationTypeComputeStructuredMessageCRC64(0)})
	require.NoError(t, err)
	r, err := sm.DownloadStream(ctx, nil)
	require.NoError(t, err)
	defer r.Body.Close()
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Greater(t, len(got), len(p), "the structured message's framing is stored with the data")
}

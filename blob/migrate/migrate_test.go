package migrate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// seed writes a small election-like dataset with every attribute Migrate
// must carry over, and returns key -> content.
func seed(t *testing.T, b *gcblob.Bucket) map[string][]byte {
	t.Helper()
	ctx := testenv.Context(t)
	objs := map[string][]byte{
		"registration/shard-000.csv": []byte("voter_id,precinct\n1,0001\n2,0002\n"),
		"results/precinct 0001.json": []byte(`{"precinct":"0001","ballots":412}`),
		"ballots/scan+0001.tif":      bytes.Repeat([]byte{0x49, 0x49, 0x2a, 0x00}, 64<<10), // 256 KiB
		"empty":                      {},
		"unicode/Ñandú-投票.txt":       []byte("ok"),
	}
	for k, v := range objs {
		require.NoError(t, b.WriteAll(ctx, k, v, &gcblob.WriterOptions{
			ContentType:     "application/x-election",
			CacheControl:    "no-cache",
			ContentLanguage: "en",
			Metadata:        map[string]string{"County": "Adams", "seq": k},
		}))
	}
	return objs
}

func TestMigrateThenVerify(t *testing.T) {
	ctx := testenv.Context(t)
	src, dst := open(t, "mem://"), open(t, "file://"+t.TempDir())
	objs := seed(t, src)

	var manifest bytes.Buffer
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &manifest, BufferLimit: 64 << 10})
	require.NoError(t, err)
	assert.Equal(t, int64(len(objs)), sum.Copied, sum.String())
	assert.Zero(t, sum.Failed, sum.Failures)
	assert.NoError(t, sum.Err())

	for k, v := range objs {
		got, err := dst.ReadAll(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, v, got, k)
		a, err := dst.Attributes(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "application/x-election", a.ContentType, k)
		assert.Equal(t, "no-cache", a.CacheControl, k)
		assert.Equal(t, "en", a.ContentLanguage, k)
		assert.Equal(t, "Adams", a.Metadata["county"], k)
		assert.Len(t, a.Metadata[digest.MetadataKey], 64, k)
	}
	lines := 0
	sc := bufio.NewScanner(&manifest)
	for sc.Scan() {
		var e migrate.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		assert.Equal(t, int64(len(objs[e.Key])), e.Size)
		lines++
	}
	assert.Equal(t, len(objs), lines)

	rep, err := migrate.Verify(ctx, src, dst, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
	assert.NoError(t, rep.Err())
	assert.Equal(t, int64(len(objs)), rep.Verified)

	// A second run copies nothing: every object is already identical.
	sum, err = migrate.Run(ctx, src, dst, nil)
	require.NoError(t, err)
	assert.Zero(t, sum.Copied)
	assert.Equal(t, int64(len(objs)), sum.Skipped)
}

func TestVerifyFindsOneFlippedByte(t *testing.T) {
	ctx := testenv.Context(t)
	dir := t.TempDir()
	src, dst := open(t, "mem://"), open(t, "file://"+dir)
	seed(t, src)
	_, err := migrate.Run(ctx, src, dst, nil)
	require.NoError(t, err)

	// Flip one bit in the middle of one object, behind civicport's back.
	p := filepath.Join(dir, "ballots", "scan+0001.tif")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[len(data)/2] ^= 0x01
	require.NoError(t, os.WriteFile(p, data, 0o600))

	rep, err := migrate.Verify(ctx, src, dst, nil)
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1)
	assert.Equal(t, migrate.Problem{Key: "ballots/scan+0001.tif", Kind: migrate.Mismatch}, migrate.Problem{Key: rep.Problems[0].Key, Kind: rep.Problems[0].Kind})
	assert.Contains(t, rep.Problems[0].Detail, "sha256")
	assert.Equal(t, int64(1), rep.Mismatched)
	require.Error(t, rep.Err())
	assert.Contains(t, rep.Err().Error(), `mismatched 1, missing 0, extra 0, errors 0 (first: mismatch "ballots/scan+0001.tif": `)
}

func TestVerifyFindsMissingExtraAndMetadata(t *testing.T) {
	ctx := testenv.Context(t)
	src, dst := open(t, "mem://"), open(t, "mem://")
	seed(t, src)
	_, err := migrate.Run(ctx, src, dst, nil)
	require.NoError(t, err)
	require.NoError(t, dst.Delete(ctx, "empty"))
	require.NoError(t, dst.WriteAll(ctx, "stray.txt", []byte("x"), nil))
	require.NoError(t, dst.WriteAll(ctx, "unicode/Ñandú-投票.txt", []byte("ok"), &gcblob.WriterOptions{
		ContentType: "application/x-election", Metadata: map[string]string{"county": "Boone", "seq": "unicode/Ñandú-投票.txt"}}))

	rep, err := migrate.Verify(ctx, src, dst, nil)
	require.NoError(t, err)
	kinds := map[string]string{}
	for _, p := range rep.Problems {
		kinds[p.Key] = p.Kind
	}
	assert.Equal(t, map[string]string{"empty": migrate.Missing, "stray.txt": migrate.Extra, "unicode/Ñandú-投票.txt": migrate.Mismatch}, kinds)
	assert.False(t, rep.OK())
}

func TestMigrateRefusesSourceThatDoesNotMatchItsHash(t *testing.T) {
	ctx := testenv.Context(t)
	src, dst := open(t, "mem://"), open(t, "mem://")
	big := bytes.Repeat([]byte("ballot"), 50000)
	require.NoError(t, src.WriteAll(ctx, "tampered", big, &gcblob.WriterOptions{
		Metadata: map[string]string{digest.MetadataKey: strings.Repeat("0", 64)}}))
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{BufferLimit: 1024})
	require.NoError(t, err)
	require.Equal(t, int64(1), sum.Failed)
	assert.Contains(t, sum.Failures[0].Err, "does not match its SHA-256")
	require.Error(t, sum.Err())
	assert.Equal(t, `1 of 1 objects failed (first: "tampered": `+sum.Failures[0].Err+`)`, sum.Err().Error())
	exists, err := dst.Exists(ctx, "tampered")
	require.NoError(t, err)
	assert.False(t, exists, "nothing may be committed for a failed copy")
}

// Across real providers, with keys that break naive tools.
func TestMigrateMinIOToFakeGCS(t *testing.T) {
	s, g := testenv.MinIO(t), testenv.FakeGCS(t)
	src, dst := open(t, s.S3URL(s.NewBucket(t))), open(t, g.GSURL(g.NewBucket(t)))
	objs := seed(t, src)
	migrateAndVerify(t, src, dst, len(objs))
}

// From the native MinIO adapter, attributes come with the GET (no stat per
// object); they must be the same as a stat would give.
func TestMigrateFromMinioAdapterKeepsAttributes(t *testing.T) {
	s := testenv.MinIO(t)
	t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
	t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
	ctx := testenv.Context(t)
	src, dst := open(t, s.MinioURL(s.NewBucket(t))), open(t, "mem://")
	objs := seed(t, src)

	r, err := src.NewReader(ctx, "results/precinct 0001.json", nil)
	require.NoError(t, err)
	var da *driver.Attributes
	require.True(t, r.As(&da), "the adapter hands out attributes with a read")
	r.Close()
	stat, err := src.Attributes(ctx, "results/precinct 0001.json")
	require.NoError(t, err)
	assert.Equal(t, stat.Metadata, da.Metadata)
	assert.Equal(t, stat.CacheControl, da.CacheControl)
	assert.Equal(t, stat.ContentLanguage, da.ContentLanguage)

	migrateAndVerify(t, src, dst, len(objs))
}

// migrateAndVerify copies src to dst with the default options, expecting
// copied objects and no failure, and verifies the copy.
func migrateAndVerify(t *testing.T, src, dst *gcblob.Bucket, copied int) {
	t.Helper()
	ctx := testenv.Context(t)
	sum, err := migrate.Run(ctx, src, dst, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(copied), sum.Copied, sum.Failures)
	rep, err := migrate.Verify(ctx, src, dst, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
}

func open(t *testing.T, url string) *gcblob.Bucket { return testenv.Bucket(t, blob.Open, url) }

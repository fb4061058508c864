package migrate_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func TestVerifyManifestOffline(t *testing.T) {
	ctx := testenv.Context(t)
	dir := t.TempDir()
	src, dst := open(t, "mem://"), open(t, "file://"+dir)
	objs := seed(t, src)
	var manifest bytes.Buffer
	_, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &manifest})
	require.NoError(t, err)
	entries, err := migrate.ReadManifest(bytes.NewReader(manifest.Bytes()))
	require.NoError(t, err)
	require.Len(t, entries, len(objs))

	rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
	assert.Equal(t, int64(len(objs)), rep.Verified)

	// One flipped bit, one removed object, one stray object.
	p := filepath.Join(dir, "registration", "shard-000.csv")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[3] ^= 0x20
	require.NoError(t, os.WriteFile(p, data, 0o600))
	require.NoError(t, dst.Delete(ctx, "empty"))
	require.NoError(t, dst.WriteAll(ctx, "added-later.txt", []byte("?"), nil))

	rep, err = migrate.VerifyManifest(ctx, dst, entries, nil)
	require.NoError(t, err)
	kinds := map[string]string{}
	for _, p := range rep.Problems {
		kinds[p.Key] = p.Kind
	}
	assert.Equal(t, map[string]string{
		"registration/shard-000.csv": migrate.Mismatch, "empty": migrate.Missing, "added-later.txt": migrate.Extra,
	}, kinds)
}

func TestReadManifestErrors(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := `{"key":"a","size":1,"sha256":"` + sum + `"}` + "\n"
	for in, want := range map[string]string{
		"{\n":       "manifest line 1: not a manifest entry",
		good + good: `manifest line 2: key "a" already listed on line 1`,
		`{"key":"a","size":1,"sha256":"zz"}` + "\n":                    "manifest line 1: an entry needs",
		`{"key":"","size":1,"sha256":"` + sum + `"}` + "\n":            "an entry needs a key",
		`{"key":"a","size":1,"sha256":"` + sum + `","extra":1}` + "\n": `unknown field "extra"`,
		good + `{"key":"b","si`:                                        "last line is cut short",
		strings.Repeat("x", 2<<20):                                     "token too long",
	} {
		_, err := migrate.ReadManifest(strings.NewReader(in))
		require.Error(t, err, "%.40q", in)
		assert.Contains(t, err.Error(), want, "%.40q", in)
	}
	entries, err := migrate.ReadManifest(strings.NewReader(good + "\n  \n"))
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestManifestSignature(t *testing.T) {
	signer, verifier := testenv.NoteKeys(t, "county-clerk")
	manifest := []byte(`{"key":"a","size":1,"sha256":"` + strings.Repeat("ab", 32) + `"}` + "\n")

	sig, err := migrate.SignManifest(manifest, signer)
	require.NoError(t, err)
	require.NoError(t, migrate.CheckManifestSignature(manifest, sig, verifier))

	altered := bytes.Replace(manifest, []byte(`"size":1`), []byte(`"size":2`), 1)
	err = migrate.CheckManifestSignature(altered, sig, verifier)
	assert.True(t, errors.Is(err, migrate.ErrManifestSignature))
	assert.Contains(t, err.Error(), "for another manifest")

	_, wrongV := testenv.NoteKeys(t, "county-clerk")
	err = migrate.CheckManifestSignature(manifest, sig, wrongV)
	assert.True(t, errors.Is(err, migrate.ErrManifestSignature), err)

	forged := bytes.Replace(sig, []byte("sha256 "), []byte("sha256 0"), 1)
	assert.Error(t, migrate.CheckManifestSignature(manifest, forged, verifier))

	// Signed as it streams: the same note text, checked the same way.
	streamed, err := migrate.SignManifestReader(bytes.NewReader(manifest), signer)
	require.NoError(t, err)
	require.NoError(t, migrate.CheckManifestSignature(manifest, streamed, verifier))
	require.ErrorIs(t, migrate.CheckManifestSignature(altered, streamed, verifier), migrate.ErrManifestSignature)
	_, err = migrate.SignManifestReader(iotest.ErrReader(errors.New("disk gone")), signer)
	require.ErrorContains(t, err, "disk gone")
}

// resumeRun runs a migration that appends to the manifest at path, resuming
// from it, as `civicport migrate --resume` does.
func resumeRun(t *testing.T, src, dst *gcblob.Bucket, path string) *migrate.Summary {
	t.Helper()
	f, done, err := migrate.ResumeManifest(path)
	require.NoError(t, err)
	sum, err := migrate.Run(testenv.Context(t), src, dst, &migrate.Options{Manifest: f, Done: done})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, migrate.CompactManifest(path))
	return sum
}

// A resumed run that copies again an object the manifest already lists
// (gone from, or changed on, the destination; or changed at the source)
// leaves the manifest listing each key once, with what is there now.
func TestResumeKeepsOneLinePerKey(t *testing.T) {
	ctx := testenv.Context(t)
	src, dst := open(t, "mem://"), open(t, "file://"+t.TempDir())
	objs := seed(t, src)
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	resumeRun(t, src, dst, path)

	// The insider deletes one copy; the source changes another object.
	require.NoError(t, dst.Delete(ctx, "empty"))
	require.NoError(t, src.WriteAll(ctx, "results/precinct 0001.json", []byte(`{"precinct":"0001","ballots":4130}`), nil))
	sum := resumeRun(t, src, dst, path)
	assert.Equal(t, int64(2), sum.Copied, "the deleted copy and the changed object: %s", sum)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	entries, err := migrate.ReadManifest(bytes.NewReader(data))
	require.NoError(t, err, "the manifest after resume:\n%s", data)
	assert.Len(t, entries, len(objs))
	rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep.Problems)
}

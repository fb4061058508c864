package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func TestScrub(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var urls []string
	for _, d := range dirs {
		urls = append(urls, "file://"+d)
	}
	mirrorFlag := strings.Join(urls, ",")
	// The same three records on every copy, hashes recorded by migrate.
	_, src := testenv.FileBucket(t, 3, 1000)
	for i, u := range urls {
		code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", u, "--manifest", filepath.Join(t.TempDir(), "m"+string(rune('0'+i))))
		require.Equal(t, exitOK, code, out+errOut)
	}
	code, out, _ := runCLI(t, "scrub", "--mirror", mirrorFlag)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "scrub: objects 3: healthy 3, repaired 0")

	p := filepath.Join(dirs[1], "ballots", "box-00", "scan 00000.tif")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[0] ^= 0xff
	require.NoError(t, os.WriteFile(p, data, 0o600))
	require.NoError(t, os.Remove(filepath.Join(dirs[2], "ballots", "box-01", "scan 00001.tif")))

	code, out, _ = runCLI(t, "scrub", "--mirror", mirrorFlag, "--dry-run")
	assert.Equal(t, exitProblem, code, out)
	assert.Contains(t, out, "would repair ballots/box-00/scan 00000.tif on file://"+dirs[1]+" (content sha256")
	assert.Contains(t, out, "would repair ballots/box-01/scan 00001.tif on file://"+dirs[2]+" (missing)")

	code, out, _ = runCLI(t, "scrub", "--mirror", mirrorFlag)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "repaired 2")
	code, out, _ = runCLI(t, "scrub", "--mirror", mirrorFlag)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "healthy 3, repaired 0")

	code, _, errOut := runCLI(t, "scrub", "--mirror", urls[0])
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--mirror needs at least 2 bucket URLs")
	code, _, errOut = runCLI(t, "scrub", "--mirror", urls[0]+",ftp://x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown scheme "ftp"`)
}

// forge rewrites key on the file:// bucket at dir, bytes and recorded
// SHA-256 together, as an insider at that provider could.
func forge(t *testing.T, dir, key string, data []byte) {
	t.Helper()
	b, err := fileblob.OpenBucket(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	h := sha256.Sum256(data)
	require.NoError(t, b.WriteAll(t.Context(), key, data, &gcblob.WriterOptions{
		Metadata: map[string]string{digest.MetadataKey: hex.EncodeToString(h[:])},
	}))
}

// An insider at one provider rewrites an object and its recorded hash.
// With three copies, scrub repairs the forged copy from the other two; with
// two, it reports a conflict and changes nothing, unless a signed manifest
// says which is good.
func TestScrubInsiderRewrite(t *testing.T) {
	work := t.TempDir()
	skey, vkey := keyFiles(t, work)
	_, src := testenv.FileBucket(t, 3, 1000)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var urls []string
	for i, d := range dirs {
		urls = append(urls, "file://"+d)
		args := []string{"migrate", "--from", src, "--to", urls[i], "--manifest", filepath.Join(work, fmt.Sprintf("m%d.jsonl", i))}
		if i == 0 {
			args = append(args, "--sign-key", skey)
		}
		code, out, errOut := runCLI(t, args...)
		require.Equal(t, exitOK, code, out+errOut)
	}
	const key = "ballots/box-00/scan 00000.tif"
	honest, err := os.ReadFile(filepath.Join(dirs[1], filepath.FromSlash(key)))
	require.NoError(t, err)
	forged := []byte("forged ballot image")

	forge(t, dirs[0], key, forged)
	code, out, _ := runCLI(t, "scrub", "--mirror", strings.Join(urls, ","))
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "repaired "+key+" on file://"+dirs[0])
	for _, d := range dirs {
		got, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(key)))
		require.NoError(t, err)
		assert.Equal(t, honest, got, d)
	}

	two := strings.Join(urls[:2], ",")
	forge(t, dirs[0], key, forged)
	code, out, _ = runCLI(t, "scrub", "--mirror", two)
	assert.Equal(t, exitProblem, code, out)
	assert.Contains(t, out, "unresolved "+key+": conflict")
	got, err := os.ReadFile(filepath.Join(dirs[1], filepath.FromSlash(key)))
	require.NoError(t, err)
	assert.Equal(t, honest, got, "the honest copy is left alone")

	mf := filepath.Join(work, "m0.jsonl")
	code, out, _ = runCLI(t, "scrub", "--mirror", two, "--manifest", mf, "--pubkey", vkey)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "signature: "+mf+".sig verified")
	assert.Contains(t, out, "repaired "+key+" on file://"+dirs[0])
	got, err = os.ReadFile(filepath.Join(dirs[0], filepath.FromSlash(key)))
	require.NoError(t, err)
	assert.Equal(t, honest, got)

	// A manifest changed after signing is not evidence.
	data, err := os.ReadFile(mf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mf, append(data, '\n'), 0o600))
	code, out, _ = runCLI(t, "scrub", "--mirror", two, "--manifest", mf, "--pubkey", vkey)
	assert.Equal(t, exitProblem, code, out)
	assert.Contains(t, out, "signature:")
	code, _, errOut := runCLI(t, "scrub", "--mirror", two, "--pubkey", vkey)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "use it with --manifest")
}

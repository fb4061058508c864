package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// TestMain lets a test run this test binary as the civicport command (for
// tests that must kill the process).
func TestMain(m *testing.M) {
	if os.Getenv("CIVICPORT_TEST_AS_CLI") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func emptyBucket(t *testing.T) (string, string) {
	dir := t.TempDir()
	return dir, "file://" + dir
}

func keyFiles(t *testing.T, dir string) (skeyPath, vkeyPath string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "elections-office")
	require.NoError(t, err)
	skeyPath, vkeyPath = filepath.Join(dir, "sign.key"), filepath.Join(dir, "sign.pub")
	require.NoError(t, os.WriteFile(skeyPath, []byte(skey+"\n"), 0o600))
	require.NoError(t, os.WriteFile(vkeyPath, []byte(vkey+"\n"), 0o600))
	return skeyPath, vkeyPath
}

func TestMigrateVerifySigned(t *testing.T) {
	work := t.TempDir()
	_, src := testenv.FileBucket(t, 40, 10_000)
	dstDir, dst := emptyBucket(t)
	skey, vkey := keyFiles(t, work)
	mf := filepath.Join(work, "m.jsonl")

	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", skey)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "migrate: objects 40 (400000 bytes): copied 40 (400000 bytes), skipped 0 (0 bytes), failed 0")
	assert.Contains(t, out, "signature: "+mf+".sig")

	code, out, _ = runCLI(t, "verify", "--from", src, "--to", dst)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "verify: objects 40 (400000 bytes): verified 40")
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", vkey)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "signature: "+mf+".sig verified")

	// Rerun: everything is already there.
	require.NoError(t, os.Remove(mf))
	code, out, _ = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "copied 0 (0 bytes), skipped 40")

	// One flipped bit in one object is found, by both forms.
	p := filepath.Join(dstDir, "ballots", "box-03", "scan 00010.tif")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[5000] ^= 0x04
	require.NoError(t, os.WriteFile(p, data, 0o600))
	code, out, _ = runCLI(t, "verify", "--from", src, "--to", dst)
	assert.Equal(t, exitProblem, code)
	assert.Regexp(t, `mismatch +ballots/box-03/scan 00010.tif: sha256`, out)
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst)
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, out, "mismatched 1")
}

func TestVerifyRejectsForeignSignature(t *testing.T) {
	work := t.TempDir()
	_, src := testenv.FileBucket(t, 3, 100)
	_, dst := emptyBucket(t)
	skey, _ := keyFiles(t, work)
	other := t.TempDir()
	_, otherV := keyFiles(t, other)
	mf := filepath.Join(work, "m.jsonl")
	code, _, _ := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", skey)
	require.Equal(t, exitOK, code)

	code, out, _ := runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", otherV)
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, out, "signature: manifest signature check failed")

	data, err := os.ReadFile(mf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mf, bytes.Replace(data, []byte(`"size":100`), []byte(`"size":101`), 1), 0o600))
	_, vkey := filepath.Join(work, "sign.key"), filepath.Join(work, "sign.pub")
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", vkey)
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, out, "for another manifest")
}

func TestMigrateDryRun(t *testing.T) {
	_, src := testenv.FileBucket(t, 5, 100)
	dstDir, dst := emptyBucket(t)
	mf := filepath.Join(t.TempDir(), "m.jsonl")
	code, out, _ := runCLI(t, "migrate", "--from", src, "--to", dst, "--dry-run", "--manifest", mf)
	require.Equal(t, exitOK, code, out)
	assert.Equal(t, 5, strings.Count(out, "would copy  ballots/"))
	assert.Contains(t, out, "copied 5 (500 bytes)")
	assert.NoFileExists(t, mf)
	left, err := os.ReadDir(dstDir)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestMigrateBadInputExits2WritingNothing(t *testing.T) {
	noCloudCredentials(t)
	work := t.TempDir()
	_, src := testenv.FileBucket(t, 2, 10)
	dstDir, dst := emptyBucket(t)
	exists := filepath.Join(work, "exists.jsonl")
	require.NoError(t, os.WriteFile(exists, []byte("{}\n"), 0o600))
	garbage := filepath.Join(work, "garbage.key")
	require.NoError(t, os.WriteFile(garbage, []byte("PRIVATE+KEY+nope"), 0o600))
	mf := filepath.Join(work, "new.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--from", src, "--to", src + "/"}, "--from and --to are the same bucket"},
		{[]string{"migrate", "--from", src}, "--from URL and --to URL are both required"},
		{[]string{"migrate", "--from", "ftp://x/y", "--to", dst, "--manifest", mf}, `--from: open bucket ftp://x/y: unknown scheme "ftp"`},
		{[]string{"migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", garbage}, "not a note private key"},
		{[]string{"migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", filepath.Join(work, "none")}, "no such file"},
		{[]string{"migrate", "--from", src, "--to", dst, "--manifest", exists}, "exists: pass --resume to continue that run"},
		{[]string{"migrate", "--from", src, "--to", dst, "--manifest", filepath.Join(work, "none.jsonl"), "--resume"}, "does not exist"},
		{[]string{"migrate", "--from", src, "--to", dst, "--manifest", exists, "--resume"}, "manifest line 1"},
		{[]string{"migrate", "--from", src, "--to", dst, "--workers", "0"}, "--workers 0: want 1 or more"},
		{[]string{"migrate", "--from", src, "--to", dst, "--object-timeout", "-2s"}, "--object-timeout -2s: want 0 (none) or more"},
		{[]string{"migrate", "--from", src, "--to", "s3://b?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1", "--manifest", mf}, "--to: ping bucket"},
		{[]string{"verify", "--manifest", filepath.Join(work, "none.jsonl"), "--bucket", dst}, "no such file"},
		{[]string{"verify", "--manifest", exists, "--bucket", dst}, "manifest line 1: an entry needs a key"},
		{[]string{"verify", "--from", src}, "--from URL and --to URL are both required"},
		{[]string{"verify"}, "give either --from URL --to URL, or --manifest FILE --bucket URL"},
		{[]string{"verify", "--from", src, "--to", dst, "--pubkey", garbage}, "--pubkey checks a manifest's signature"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	assert.NoFileExists(t, mf, "nothing written")
	left, err := os.ReadDir(dstDir)
	require.NoError(t, err)
	assert.Empty(t, left, "nothing written")
}

// The process is killed with SIGKILL mid-run; a rerun with --resume copies
// the rest, the manifest lists every key exactly once, and verify passes.
func TestMigrateKilledThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 2,000-object bucket")
	}
	const n = 2000
	_, src := testenv.FileBucket(t, n, 64<<10)
	_, dst := emptyBucket(t)
	mf := filepath.Join(t.TempDir(), "m.jsonl")

	cmd := exec.Command(os.Args[0], "migrate", "--from", src, "--to", dst, "--manifest", mf, "--workers", "2")
	cmd.Env = append(os.Environ(), "CIVICPORT_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for lines(t, mf) < 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	done := lines(t, mf)
	require.Less(t, done, n, "killed before the end")
	t.Logf("killed after %d of %d objects were recorded", done, n)

	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--resume")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, fmt.Sprintf("objects %d", n))

	data, err := os.ReadFile(mf)
	require.NoError(t, err)
	entries, err := migrate.ReadManifest(bytes.NewReader(data))
	require.NoError(t, err, "complete, no key twice")
	assert.Len(t, entries, n)
	code, out, _ = runCLI(t, "verify", "--from", src, "--to", dst)
	assert.Equal(t, exitOK, code, out)
}

// Interrupted (SIGINT) after objects were written, migrate exits 1 with the
// summary of what it did, not 2, which means "nothing written".
func TestMigrateInterruptedAfterWritesExits1(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 2,000-object bucket")
	}
	_, src := testenv.FileBucket(t, 2000, 64<<10)
	_, dst := emptyBucket(t)
	mf := filepath.Join(t.TempDir(), "m.jsonl")
	cmd := exec.Command(os.Args[0], "migrate", "--from", src, "--to", dst, "--manifest", mf, "--workers", "2")
	cmd.Env = append(os.Environ(), "CIVICPORT_TEST_AS_CLI=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for lines(t, mf) < 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stdout: %s\nstderr: %s", &stdout, &stderr)
	assert.Equal(t, exitProblem, ee.ExitCode(), "stderr: %s", &stderr)
	assert.Contains(t, stdout.String(), "migrate (stopped): objects ")
	assert.Contains(t, stderr.String(), "rerun with --resume")
}

// migrated is a file bucket of n 1000-byte objects (src) copied by a plain
// migrate to an empty one (dst, in dstDir), with the manifest mf.
func migrated(t *testing.T, n int) (src, dstDir, dst, mf string) {
	t.Helper()
	_, src = testenv.FileBucket(t, n, 1000)
	dstDir, dst = emptyBucket(t)
	mf = filepath.Join(t.TempDir(), "m.jsonl")
	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf)
	require.Equal(t, exitOK, code, out+errOut)
	return src, dstDir, dst, mf
}

// An object the manifest records goes missing from the destination; the
// --resume that copies it again must not list it twice, and the manifest
// must still verify (and resume again).
func TestMigrateResumeAfterDestinationLoss(t *testing.T) {
	src, dstDir, dst, mf := migrated(t, 20)
	require.NoError(t, os.Remove(filepath.Join(dstDir, "ballots", "box-03", "scan 00003.tif")))

	for range 2 {
		code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--resume")
		require.Equal(t, exitOK, code, out+errOut)
		assert.Equal(t, 20, lines(t, mf), "one line per key")
		code, out, errOut = runCLI(t, "verify", "--manifest", mf, "--bucket", dst)
		require.Equal(t, exitOK, code, out+errOut)
	}
}

// An insider (or a bad disk) rewrites a destination copy in place, same
// size, its recorded SHA-256 kept. A plain re-run skips it (it looks
// identical); --checksum hashes the destination, copies it again, and the
// manifest check passes; a --resume run with --checksum repairs it too.
func TestMigrateChecksumRepairsInPlaceCorruption(t *testing.T) {
	src, dstDir, dst, mf := migrated(t, 10)
	victim := filepath.Join(dstDir, "ballots", "box-03", "scan 00003.tif")
	corrupt := func() {
		data, err := os.ReadFile(victim)
		require.NoError(t, err)
		data[0] ^= 0xff
		require.NoError(t, os.WriteFile(victim, data, 0o600)) // the .attrs sidecar (and its sha256) untouched
	}
	corrupt()

	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", filepath.Join(t.TempDir(), "m2.jsonl"))
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "copied 0 (0 bytes), skipped 10", "metadata alone cannot see it")
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst)
	require.Equal(t, exitProblem, code, out)

	code, out, errOut = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", filepath.Join(t.TempDir(), "m3.jsonl"), "--checksum")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "copied 1 (1000 bytes), skipped 9")
	code, out, errOut = runCLI(t, "verify", "--manifest", mf, "--bucket", dst)
	require.Equal(t, exitOK, code, out+errOut)

	corrupt()
	code, out, errOut = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--resume", "--checksum")
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "copied 1 (1000 bytes), skipped 9")
	code, out, errOut = runCLI(t, "verify", "--manifest", mf, "--bucket", dst)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Equal(t, 10, lines(t, mf), "one line per key")
}

func lines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return n
}

// Across real providers: MinIO -> fake-gcs-server -> versitygw -> MinIO,
// with keys that trip naive tools (spaces, "+", "%", Unicode), a 0-byte and
// a 100 MiB object, verified against the manifest at each hop and against
// the original at the end.
func TestMigrateRoundTripAcrossServers(t *testing.T) {
	m, g, v := testenv.MinIO(t), testenv.FakeGCS(t), testenv.Versitygw(t)
	dir, src := testenv.FileBucket(t, 30, 20_000)
	for name, size := range map[string]int64{
		"hard keys/sp ace+plus%25 100%.txt": 1000,
		"unicode/Ñandú-投票-🗳.txt":            10,
		"empty.bin":                         0,
		"large/scan-100MiB.tif":             100 << 20,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(t, err)
		_, err = io.CopyN(f, rand.Reader, size)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	hops := []string{src, m.S3URL(m.NewBucket(t)), g.GSURL(g.NewBucket(t)), v.S3URL(v.NewBucket(t)), m.MinioURL(m.NewBucket(t))}
	t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
	t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
	for i := 1; i < len(hops); i++ {
		mf := filepath.Join(t.TempDir(), "m.jsonl")
		code, out, errOut := runCLI(t, "migrate", "--from", hops[i-1], "--to", hops[i], "--manifest", mf)
		require.Equal(t, exitOK, code, "hop %d: %s%s", i, out, errOut)
		assert.Contains(t, out, "copied 34 ", "hop %d", i)
		code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", hops[i])
		require.Equal(t, exitOK, code, "hop %d: %s", i, out)
	}
	code, out, _ := runCLI(t, "verify", "--from", src, "--to", hops[len(hops)-1])
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "verified 34 ")
}

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/fileblob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/audit"
)

// runAudit runs "civicport audit ARGS".
func runAudit(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, append([]string{"audit"}, args...)...)
}

// auditLog writes a signed log of n entries into a directory and returns
// its file:// URL, the directory and a file holding the verifier key.
func auditLog(t *testing.T, n int) (url, dir, pubkey string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	skey, vkey, err := note.GenerateKey(rand.Reader, "county.example/audit")
	require.NoError(t, err)
	s, err := note.NewSigner(skey)
	require.NoError(t, err)
	l, err := audit.Open(ctx, b, s, &audit.Options{Actor: "clerk"})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, l.Record(ctx, "write", "ballots", fmt.Sprintf("precinct-%02d.csv", i), ""))
		_, err = l.Checkpoint(ctx)
		require.NoError(t, err)
	}
	pubkey = filepath.Join(t.TempDir(), "audit.pub")
	require.NoError(t, os.WriteFile(pubkey, []byte(vkey+"\n"), 0o600))
	return "file://" + dir, dir, pubkey
}

func TestAuditVerifyOK(t *testing.T) {
	url, _, pub := auditLog(t, 5)
	code, out, errOut := runAudit(t, "verify", "--log", url, "--pubkey", pub)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, ": 5 entries, 6 checkpoints, signed tree size 5, root ")
	assert.Contains(t, out, "signatures: checked against county.example/audit")
	assert.Contains(t, out, "audit: OK")

	code, out, errOut = runAudit(t, "verify", "--log", url)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "signatures: NOT checked (no --pubkey)")
}

func TestAuditVerifyTampered(t *testing.T) {
	url, dir, pub := auditLog(t, 5)
	p := filepath.Join(dir, filepath.FromSlash(audit.EntryKey(2)))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(data), "precinct-02", "precinct-20", 1)), 0o600))

	code, out, errOut := runAudit(t, "verify", "--log", url, "--pubkey", pub)
	assert.Equal(t, exitProblem, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "first bad entry: 2 (entries/0000000000000002.json)")
	assert.Contains(t, errOut, "first bad entry 2")
}

func TestAuditVerifyWrongKey(t *testing.T) {
	url, _, _ := auditLog(t, 2)
	_, _, otherPub := auditLog(t, 0)
	code, out, _ := runAudit(t, "verify", "--log", url, "--pubkey", otherPub)
	assert.Equal(t, exitProblem, code, out)
	assert.Contains(t, out, "wrong-key checkpoint")
}

func TestAuditVerifyUsage(t *testing.T) {
	url, _, _ := auditLog(t, 1)
	bad := filepath.Join(t.TempDir(), "bad.pub")
	require.NoError(t, os.WriteFile(bad, []byte("not a key\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "--log URL is required"},
		{[]string{"verify", "--log", "nosuchscheme://x"}, "--log"},
		{[]string{"verify", "--log", "file://" + filepath.Join(t.TempDir(), "missing")}, "--log"},
		{[]string{"verify", "--log", url, "--pubkey", filepath.Join(t.TempDir(), "none.pub")}, "--pubkey"},
		{[]string{"verify", "--log", url, "--pubkey", bad}, "not a note verifier key"},
		{[]string{"verify", "--log", url, "extra"}, "unknown command"},
		{[]string{}, "needs a subcommand"},
	} {
		code, out, errOut := runAudit(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v\nstdout:\n%s\nstderr:\n%s", tc.args, out, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

// The bucket compared with its log: a write around the wrapper is named,
// as is the crash between a write and its record.
func TestAuditVerifyBucket(t *testing.T) {
	ctx := context.Background()
	logURL, logDir, pub := auditLog(t, 0)
	recDir := t.TempDir()
	recURL := "file://" + recDir
	lb, err := fileblob.OpenBucket(logDir, nil)
	require.NoError(t, err)
	defer lb.Close()
	l, err := audit.Open(ctx, lb, nil, nil)
	require.NoError(t, err)
	rb, err := fileblob.OpenBucket(recDir, nil)
	require.NoError(t, err)
	defer rb.Close()
	wrapped := audit.Wrap(rb, l, recURL)
	w, err := wrapped.NewWriter(ctx, "precinct-01.csv", nil)
	require.NoError(t, err)
	_, _ = w.Write([]byte("1,300\n"))
	require.NoError(t, w.Close())

	code, out, errOut := runAudit(t, "verify", "--log", logURL, "--pubkey", pub, "--bucket", recURL)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, fmt.Sprintf("bucket %s (%q in the log): 1 objects, 2 entries, 1 objects hashed", recURL, recURL))

	// Around the log: the insider's write, and a crash after the intent.
	require.NoError(t, os.WriteFile(filepath.Join(recDir, "planted.csv"), []byte("9,999\n"), 0o600))
	require.NoError(t, l.Record(ctx, audit.IntentPrefix+"write", recURL, "precinct-02.csv", ""))
	require.NoError(t, os.WriteFile(filepath.Join(recDir, "precinct-02.csv"), []byte("2,200\n"), 0o600))
	code, out, errOut = runAudit(t, "verify", "--log", logURL, "--bucket", recURL)
	assert.Equal(t, exitProblem, code, out+errOut)
	assert.Contains(t, out, "unlogged planted.csv: no entry of the log mentions it")
	assert.Contains(t, out, "unfinished precinct-02.csv: intent write at entry 2 has no completion (the object is there: changed, but not recorded)")
	assert.Contains(t, errOut, "the bucket and its audit log disagree: 2 problems")

	code, _, errOut = runAudit(t, "verify", "--log", logURL, "--bucket-name", "x")
	assert.Equal(t, exitUsage, code, errOut)
}

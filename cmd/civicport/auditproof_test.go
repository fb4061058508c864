package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
)

// A clerk proves one record's audit entry; an auditor checks the proof
// years later with only the public key, after the log itself is gone.
// Every way of tampering with the proof fails.
func TestAuditProveAndVerifyProofOffline(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	skey, vkey := keyFiles(t, work)
	logDir := filepath.Join(work, "log")
	require.NoError(t, os.MkdirAll(logDir, 0o755))
	logURL := "file://" + logDir

	record := []byte("precinct,votes\n1,300\n")
	sum := sha256.Sum256(record)
	recordFile := filepath.Join(work, "precinct-01.csv")
	require.NoError(t, os.WriteFile(recordFile, record, 0o600))
	sha := hex.EncodeToString(sum[:])

	key, err := os.ReadFile(skey)
	require.NoError(t, err)
	signer, err := note.NewSigner(strings.TrimSpace(string(key)))
	require.NoError(t, err)
	b, err := blob.Open(ctx, logURL)
	require.NoError(t, err)
	log, err := audit.Open(ctx, b, signer, nil)
	require.NoError(t, err)
	require.NoError(t, log.Record(ctx, "write", "results", "precinct-00.csv", strings.Repeat("0", 64)))
	require.NoError(t, log.Record(ctx, "write", "results", "precinct-01.csv", strings.Repeat("1", 64)))
	require.NoError(t, log.Record(ctx, "write", "results", "precinct-01.csv", sha)) // rewritten: the latest counts
	require.NoError(t, log.Record(ctx, "copy", "results-dr", "precinct-01.csv", sha))
	_, err = log.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, log.Record(ctx, "write", "results", "precinct-02.csv", sha)) // after the checkpoint
	require.NoError(t, b.Close())

	proof := filepath.Join(work, "proof.json")
	code, out, errOut := runCLI(t, "audit", "prove", "--log", logURL, "--key", "precinct-01.csv", "--bucket", "results", "--out", proof)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "proof of entry 2 written to "+proof)

	// The auditor has the proof, the record and the public key; the log
	// is gone.
	require.NoError(t, os.RemoveAll(logDir))
	code, out, errOut = runCLI(t, "audit", "verify-proof", "--proof", proof, "--pubkey", vkey, "--object", recordFile)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "entry 2 of the log signed by elections-office (checkpoint: size 4")
	assert.Contains(t, out, "key precinct-01.csv")
	assert.Contains(t, out, "sha256 "+sha)
	assert.Contains(t, out, "record: matches the entry's SHA-256")
	assert.Contains(t, out, "proof: OK")

	// A different record.
	code, out, _ = runCLI(t, "audit", "verify-proof", "--proof", proof, "--pubkey", vkey, "--sha256", strings.Repeat("ab", 32))
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, out, "record: MISMATCH")

	// Tampered proofs.
	data, err := os.ReadFile(proof)
	require.NoError(t, err)
	var p map[string]any
	require.NoError(t, json.Unmarshal(data, &p))
	_, otherV := keyFiles(t, t.TempDir())
	for name, tamper := range map[string]func(m map[string]any){
		"entry's sha256 changed": func(m map[string]any) {
			m["entry"] = strings.Replace(m["entry"].(string), sha, strings.Repeat("ab", 32), 1)
		},
		"entry's key changed": func(m map[string]any) {
			m["entry"] = strings.Replace(m["entry"].(string), "precinct-01", "precinct-09", 1)
		},
		"index changed": func(m map[string]any) { m["index"] = 1 },
		"a proof hash changed": func(m map[string]any) {
			h := m["proof"].([]any)
			h[0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		},
		"checkpoint root changed": func(m map[string]any) {
			cp := strings.Split(m["checkpoint"].(string), "\n")
			cp[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			m["checkpoint"] = strings.Join(cp, "\n")
		},
	} {
		m := map[string]any{}
		require.NoError(t, json.Unmarshal(data, &m))
		tamper(m)
		bad, err := json.Marshal(m)
		require.NoError(t, err)
		f := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(f, bad, 0o600))
		code, out, errOut := runCLI(t, "audit", "verify-proof", "--proof", f, "--pubkey", vkey)
		assert.Equal(t, exitProblem, code, "%s: %s%s", name, out, errOut)
		assert.Contains(t, out, "proof: FAILED", name)
	}
	code, out, _ = runCLI(t, "audit", "verify-proof", "--proof", proof, "--pubkey", otherV)
	assert.Equal(t, exitProblem, code, "another key")
	assert.Contains(t, out, "proof: FAILED")
	assert.Equal(t, float64(2), p["index"])
}

func TestAuditProveNeedsACoveringCheckpoint(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	skey, vkey := keyFiles(t, work)
	logURL := "file://" + t.TempDir()
	b, err := blob.Open(ctx, logURL)
	require.NoError(t, err)
	log, err := audit.Open(ctx, b, nil, nil)
	require.NoError(t, err)
	require.NoError(t, log.Record(ctx, "write", "results", "a.csv", ""))
	require.NoError(t, b.Close())

	code, _, errOut := runCLI(t, "audit", "prove", "--log", logURL, "--key", "a.csv")
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, errOut, "cannot prove entry 0")
	code, _, errOut = runCLI(t, "audit", "prove", "--log", logURL, "--key", "b.csv")
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, errOut, `no entry in the log for key "b.csv"`)

	// Signing a fresh checkpoint first covers it; to stdout.
	code, out, errOut := runCLI(t, "audit", "prove", "--log", logURL, "--index", "0", "--sign-key", skey)
	require.Equal(t, exitOK, code, out+errOut)
	proof := filepath.Join(work, "p.json")
	require.NoError(t, os.WriteFile(proof, []byte(out), 0o600))
	code, out, errOut = runCLI(t, "audit", "verify-proof", "--proof", proof, "--pubkey", vkey)
	assert.Equal(t, exitOK, code, out+errOut)

	for _, args := range [][]string{
		{"audit", "prove", "--key", "a"},
		{"audit", "prove", "--log", logURL},
		{"audit", "prove", "--log", logURL, "--key", "a", "--index", "0"},
		{"audit", "prove", "--log", logURL, "--index", "0", "--op", "write"},
		{"audit", "prove", "--log", logURL, "--index", "-1"},
		{"audit", "verify-proof", "--proof", proof},
		{"audit", "verify-proof", "--proof", proof, "--pubkey", vkey, "--sha256", "xyz"},
		{"audit", "verify-proof", "--proof", vkey, "--pubkey", vkey},
		{"audit", "verify-proof", "--proof", proof, "--pubkey", proof},
	} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
}

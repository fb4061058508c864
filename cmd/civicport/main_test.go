package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestRehearse(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "rehearse", "--dir", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "PASS: 10/12 checks passed (2 not enforceable by these providers)")
	assert.Contains(t, out, "the forgery quarantined")
	assert.Contains(t, out, "tamper drill")
	assert.FileExists(t, filepath.Join(dir, "manifest.jsonl"))
}

func TestRehearseRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep-me"), []byte("x"), 0o600))
	code, _, errOut := runCLI(t, "rehearse", "--dir", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "is not empty")
	assert.FileExists(t, filepath.Join(dir, "keep-me"))
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"no-such-command"}, {"rehearse", "extra-arg"}, {"rehearse", "--no-such-flag"}} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.NotEmpty(t, errOut, "%v", args)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScrub(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var urls []string
	for _, d := range dirs {
		urls = append(urls, "file://"+d)
	}
	mirrorFlag := strings.Join(urls, ",")
	// The same three records on every copy, hashes recorded by migrate.
	_, src := fileBucket(t, 3, 1000)
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

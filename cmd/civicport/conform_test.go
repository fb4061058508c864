package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/testenv"
)

const small = "--large-object-size=1048576"

// noCloudCredentials keeps the AWS SDK from looking for credentials outside
// this machine (the cloud metadata endpoint) in tests that give none.
func noCloudCredentials(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", testenv.DefaultAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testenv.DefaultSecretKey)
}

func TestConformMemAllFormats(t *testing.T) {
	code, out, errOut := runCLI(t, "conform", "--blob", "mem://", small, "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, rep.Backends, 1)
	assert.Equal(t, "mem://", rep.Backends[0].URL)
	assert.Equal(t, "blob", rep.Backends[0].Kind)
	assert.GreaterOrEqual(t, len(rep.Backends[0].Results), 15)

	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--format", "junit", "--capability", "blob.read_write,blob.signed_url")
	require.Equal(t, exitOK, code)
	var suites struct {
		Tests   int `xml:"tests,attr"`
		Skipped int `xml:"skipped,attr"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &suites))
	assert.Equal(t, 2, suites.Tests)
	assert.Equal(t, 1, suites.Skipped, "signed_url is unsupported on mem")

	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--format", "markdown", "--capability", "blob.read_write")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "| `blob.read_write` | pass |")

	path := filepath.Join(t.TempDir(), "report.txt")
	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--out", path, "--capability", "blob.md5")
	require.Equal(t, exitOK, code)
	assert.Empty(t, out)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `blob\.md5\s+pass`, string(data))
}

func TestConformFileFailsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "conform", "--blob", "file://"+dir, small)
	assert.Equal(t, exitProblem, code, out)
	assert.Contains(t, errOut, "a capability failed")
	assert.Regexp(t, `blob\.special_keys\s+fail\s+\d+ of \d+ keys did not round-trip`, out)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "conform must remove everything it wrote")
}

func TestConformBadInputExits2(t *testing.T) {
	noCloudCredentials(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform"}, "--blob URL is required"},
		{[]string{"conform", "--blob", "ftp://x"}, `unknown scheme "ftp"`},
		{[]string{"conform", "--blob", "mem://", "--format", "yaml"}, `--format "yaml": want one of table, json, markdown, junit`},
		{[]string{"conform", "--blob", "s3://b?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1"}, "server unreachable"},
		{[]string{"conform", "--blob", "file://" + filepath.Join(t.TempDir(), "missing")}, "not found"},
		{[]string{"plan", "--from-blob", "mem://"}, "--from-blob and --to-blob are both required"},
		{[]string{"plan"}, "give --from-blob URL --to-blob URL, or --from-report FILE --to-report FILE"},
		{[]string{"plan", "--from-report", "/nonexistent.json", "--to-report", "/nonexistent.json"}, "no such file"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.NotContains(t, errOut, "goroutine", "no stack traces")
	}
}

func TestConformMinIOWrongCredentialsExits2(t *testing.T) {
	s := testenv.MinIO(t)
	u := s.S3URL(s.NewBucket(t))
	t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-5555")
	code, _, errOut := runCLI(t, "conform", "--blob", u, small)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "access denied (check the credentials)")
	assert.NotContains(t, errOut, "wrong-secret-5555")
}

func TestConformMinIOLeavesBucketAsFound(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	open(t, s.S3URL(bucket)).WriteAll(testenv.Context(t), "existing/record.csv", []byte("keep me"), nil)
	code, out, errOut := runCLI(t, "conform", "--blob", s.S3URL(bucket), small, "--format", "json")
	require.Contains(t, []int{exitOK, exitProblem}, code, errOut)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	var keys []string
	for o := range s.Client(t).ListObjects(testenv.Context(t), bucket, listAll) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"existing/record.csv"}, keys)
}

func TestPlanFromReports(t *testing.T) {
	dir := t.TempDir()
	memJSON, fileJSON := filepath.Join(dir, "mem.json"), filepath.Join(dir, "file.json")
	code, _, _ := runCLI(t, "conform", "--blob", "mem://", small, "--format", "json", "--out", memJSON)
	require.Equal(t, exitOK, code)
	fdir := filepath.Join(dir, "fb")
	require.NoError(t, os.Mkdir(fdir, 0o755))
	code, _, _ = runCLI(t, "conform", "--blob", "file://"+fdir, small, "--format", "json", "--out", fileJSON)
	require.Equal(t, exitProblem, code)

	code, out, _ := runCLI(t, "plan", "--from-report", memJSON, "--to-report", fileJSON)
	assert.Equal(t, exitProblem, code, "mem -> file loses special keys")
	assert.Regexp(t, `(?s)LOST: passes on the source, not on the target \(\d+\)\n.*  blob.special_keys\s+pass -> fail.*gained`, out)

	code, out, _ = runCLI(t, "plan", "--from-report", fileJSON, "--to-report", memJSON, "--format", "json")
	assert.Equal(t, exitOK, code, out)
	var p report.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Empty(t, p.Lost)
	assert.NotEmpty(t, p.Gained)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{"), 0o600))
	code, _, errOut := runCLI(t, "plan", "--from-report", filepath.Join(dir, "junk.json"), "--to-report", memJSON)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not a civicport conformance report")
}

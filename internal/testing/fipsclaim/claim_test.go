package fipsclaim

import (
	"crypto/fips140"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forbidden are imports civicport's own code must not use: algorithms
// outside the FIPS 140-3 approved set, or packages that exist to provide
// them.
var forbidden = map[string]bool{
	"crypto/md5": true, "crypto/sha1": true, "crypto/des": true, "crypto/rc4": true,
	"golang.org/x/crypto/md4": true, "golang.org/x/crypto/ripemd160": true,
	"golang.org/x/crypto/blowfish": true, "golang.org/x/crypto/cast5": true,
	"golang.org/x/crypto/chacha20poly1305": true, "golang.org/x/crypto/salsa20": true,
	"github.com/minio/md5-simd": true,
}

// allowed are the known exceptions (file: why). The README's FIPS section
// names each of them.
var allowed = map[string]string{
	// imports crypto/md5
	"conformance/blobtest/checks_attrs.go": "the blob.md5 check computes MD5s to test a backend's Attributes.MD5 (a portable API feature, not a security function); it reports skipped under GODEBUG=fips140=only",
}

// allowedWriteAll are the directories whose code may call WriteAll.
var allowedWriteAll = map[string]string{
	"examples/":             "the examples are application code: they write with WriteAll as an application would, and its MD5 is gocloud's",
	"conformance/blobtest/": "the blob suite tests a backend the way applications use the portable API, WriteAll (and its ContentMD5) included; the suites are not for fips140=only",
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test")
		dir = parent
	}
}

type finding struct{ file, what string }

// scan reports the forbidden imports and WriteAll calls in the non-test Go
// files under root.
func scan(t *testing.T, root string) []finding {
	t.Helper()
	var out []finding
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] {
				out = append(out, finding{rel, "imports " + p})
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "WriteAll" {
				out = append(out, finding{rel, "calls WriteAll (line " + strconv.Itoa(fset.Position(sel.Pos()).Line) + ")"})
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return out
}

func allowedFinding(f finding) bool {
	if strings.HasPrefix(f.what, "imports ") {
		_, ok := allowed[f.file]
		return ok
	}
	for dir := range allowedWriteAll {
		if strings.HasPrefix(f.file, dir) {
			return true
		}
	}
	return false
}

func TestOwnCodeComputesNoMD5OrSHA1(t *testing.T) {
	root := moduleRoot(t)
	var bad []string
	used := map[string]bool{}
	for _, f := range scan(t, root) {
		if allowedFinding(f) {
			used[f.file] = true
			continue
		}
		bad = append(bad, f.file+": "+f.what)
	}
	sort.Strings(bad)
	assert.Empty(t, bad, "civicport's own code must not compute MD5/SHA-1 or call WriteAll (use internal/blobcopy.Put); or add a justified exception here and in the README's FIPS section")
	for file := range allowed {
		assert.True(t, used[file], "allowed exception %s is no longer needed: remove it here and from the README", file)
	}
}

// The scan finds what it is for: a file importing crypto/sha1 and one
// calling WriteAll, planted in a copy of the layout.
func TestScanFindsPlantedViolations(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "blob", "audit"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "blob", "audit", "log.go"), []byte(`package audit

import "crypto/sha1"

var _ = sha1.Sum
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "blob", "audit", "w.go"), []byte(`package audit

func put(b interface{ WriteAll() }) { b.WriteAll() }
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "blob", "audit", "w_test.go"), []byte(`package audit

import "crypto/md5"

var _ = md5.Sum
`), 0o644))
	got := scan(t, root)
	require.Len(t, got, 2, "%v", got)
	assert.Equal(t, finding{"blob/audit/log.go", "imports crypto/sha1"}, got[0])
	assert.Equal(t, finding{"blob/audit/w.go", "calls WriteAll (line 3)"}, got[1])
	assert.False(t, allowedFinding(got[0]))
	assert.False(t, allowedFinding(got[1]))
}

// scripts/test.sh sets CIVICPORT_EXPECT_FIPS to the module version its
// FIPS-only run is built with, so that a change to the script that drops
// the mode, or a toolchain that ignores GOFIPS140, fails here instead of
// passing quietly.
func TestFIPSModeAsExpected(t *testing.T) {
	want := os.Getenv("CIVICPORT_EXPECT_FIPS")
	if want == "" {
		t.Skip("CIVICPORT_EXPECT_FIPS not set: run by scripts/test.sh in FIPS-only mode")
	}
	assert.True(t, fips140.Enforced(), "GODEBUG=fips140=only is not in effect")
	assert.Equal(t, want, fips140.Version(), "FIPS module version")
}

package blob

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/fileblob"

	"github.com/civicport/civicport/internal/hexescape"
)

// randomKeys returns n keys made of the characters that matter to
// fileblob's escaping and to the file bucket's mapping.
func randomKeys(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	alphabet := []string{"/", "/", ".", ".", "_", "_", "0", "x", "2", "f", "e", "%", "%", "a", "\t", "é", ".attrs", "__0x2f__", "__0x2e__"}
	keys := make([]string, n)
	for i := range keys {
		var b strings.Builder
		for range 1 + r.IntN(10) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		keys[i] = b.String()
	}
	return keys
}

// The file bucket's copy of fileblob's escaping names the files fileblob
// really writes, and its unescaping turns them back into the keys.
func TestFileEscapeMatchesFileblob(t *testing.T) {
	ctx := context.Background()
	fixed := []string{"a//b", "a/../b", "../x", "x/", "__0x2f__", "__0x2f/", "a__0x2f__0x2e__", "__0x__", "___0x2f___", "\t", "a/b/c", "_0x2f__/", "__0x2f_/"}
	for _, k := range append(fixed, randomKeys(42, 3000)...) {
		dir := t.TempDir()
		b, err := fileblob.OpenBucket(dir, nil)
		require.NoError(t, err)
		if b.WriteAll(ctx, k, []byte(k), nil) != nil {
			b.Close()
			continue // fileblob refuses it (".attrs", "..", a directory)
		}
		b.Close()
		name := diskName(k)
		if !storable(name) {
			continue // fileblob cleaned the path: the mapping keeps such keys away from fileblob
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if assert.NoError(t, err, "%q: file %q", k, name) {
			assert.Equal(t, k, string(data))
		}
		var segs []string
		for _, s := range strings.Split(name, string(os.PathSeparator)) {
			segs = append(segs, hexescape.Unescape(s))
		}
		assert.Equal(t, k, strings.Join(segs, "/"), "%q: unescape %q", k, name)
	}
}

// storable reports whether fileblob stores a key in the file name under
// its own name (the path is clean, inside the bucket, not an attribute
// file's).
func storable(name string) bool {
	sep := string(os.PathSeparator)
	return filepath.Clean(name) == name && name != "." && name != ".." &&
		!strings.HasPrefix(name, ".."+sep) && !strings.HasPrefix(name, sep) && !strings.HasSuffix(name, attrsExt)
}

// fileKey is one-to-one, is undone segment by segment, gives fileblob
// only keys whose paths are clean, and changes no key whose path was.
func TestFileKeyMapping(t *testing.T) {
	seen := map[string]string{}
	for _, k := range append(randomKeys(7, 200000), "", "%", "/", ".", "..", "/a", "a/.", "./a", "x.attrs", "x.attrs%", "%/a") {
		fk := fileKey(k)
		if other, ok := seen[fk]; ok && other != k {
			t.Fatalf("%q and %q both map to %q", k, other, fk)
		}
		seen[fk] = k
		segs := splitKey(fk)
		for i, s := range segs {
			segs[i] = userSegment(s, i == 0, i == len(segs)-1)
		}
		require.Equal(t, k, strings.Join(segs, "/"), "undo %q", fk)
		name := diskName(fk)
		require.True(t, storable(name), "%q -> %q -> %q is not a clean path", k, fk, name)
		// Identity for what fileblob stores correctly.
		if storable(diskName(k)) {
			if fk != k {
				// Only the escaped forms, written literally, move.
				ok := false
				for i, s := range splitKey(k) {
					n := len(splitKey(k))
					if strings.HasSuffix(s, "%") && escapedSegment(s, i == 0, i == n-1) {
						ok = true
					}
				}
				assert.True(t, ok, "%q is stored correctly by fileblob but mapped to %q", k, fk)
			}
		}
	}
}

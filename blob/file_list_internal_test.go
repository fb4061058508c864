package blob

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compareSegs must order entries exactly as comparing their sort keys
// (segment, plus "/" for a directory; a file before a directory of the
// same key) would: the listing's key order depends on it.
func TestCompareSegsMatchesSortKeys(t *testing.T) {
	segs := []string{"", "a", "a-", "a.", "a0", "a-b", "a.b", "ab", "a\x00", "a~", "b", "a+", "a,", "a0b", "z"}
	sortKey := func(s string, dir bool) string {
		if dir {
			return s + "/"
		}
		return s
	}
	for _, a := range segs {
		for _, b := range segs {
			for _, ad := range []bool{false, true} {
				for _, bd := range []bool{false, true} {
					want := strings.Compare(sortKey(a, ad), sortKey(b, bd))
					if want == 0 && ad != bd {
						want = cmp.Compare(boolInt(ad), boolInt(bd))
					}
					assert.Equal(t, want, compareSegs(a, ad, b, bd), "%q dir=%v vs %q dir=%v", a, ad, b, bd)
				}
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A directory's entries, read in two passes, hold every file and
// directory but the attribute files, in key order.
func TestDirEntriesTwoPasses(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("scan-%05d", n-1-i))
		require.NoError(t, os.WriteFile(name, nil, 0o600))
		if i%10 == 0 {
			require.NoError(t, os.WriteFile(name+attrsExt, nil, 0o600))
		}
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "precinct"), 0o700))
	l := &fileLister{dirs: map[string]*dirEntries{}}
	d := l.entries(dir, "", 0)
	require.Equal(t, n+1, d.len())
	assert.Equal(t, "precinct/", d.sortKey(0))
	assert.True(t, d.ents[0].dir)
	for i := range n {
		require.Equal(t, fmt.Sprintf("scan-%05d", i), d.sortKey(i+1))
		require.Equal(t, d.sortKey(i+1), d.name(i+1))
	}
}

// BenchmarkDirEntries reads a flat directory of 100,000 files; held-B/op
// is what its entries keep live while a listing walks it (16 bytes plus
// the name per entry is the floor).
func BenchmarkDirEntries(b *testing.B) {
	dir := b.TempDir()
	const n = 100_000
	for i := range n {
		require.NoError(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("scan-%07d", i)), nil, 0o600))
	}
	var held uint64
	var ms runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		l := &fileLister{dirs: map[string]*dirEntries{}}
		d := l.entries(dir, "", 0)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		held += ms.HeapAlloc - before
		runtime.KeepAlive(d)
	}
	b.ReportMetric(float64(held)/float64(b.N), "held-B/op")
}

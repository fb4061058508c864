package blob

import (
	"cmp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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

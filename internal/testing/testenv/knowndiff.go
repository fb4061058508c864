package testenv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// KnownDifference is a subtest that a package leaves out of its run because
// it fails for a reason that is understood and is not civicport's (a test
// server's or a backend's own behaviour), together with the test that
// asserts that behaviour instead, so the difference is documented and
// tested, and a change of behaviour makes that test fail.
type KnownDifference struct {
	Pattern    string // for -test.skip, anchored per subtest level
	Why        string
	AssertedBy string // a Test function of the same package
}

// MainWithout runs m (from a TestMain) with the differences' patterns added
// to -test.skip (see MainSkipping).
func MainWithout(m *testing.M, diffs []KnownDifference) int {
	pats := make([]string, 0, len(diffs))
	for _, d := range diffs {
		pats = append(pats, d.Pattern)
	}
	return MainSkipping(m, pats)
}

// AssertKnownDifferences checks, from a test named
// TestKnownDifferencesAreAsserted in the package in the current directory,
// that every difference says why and names a test that exists there: a
// subtest is left out only because another test pins its behaviour down.
func AssertKnownDifferences(t *testing.T, diffs []KnownDifference) {
	t.Helper()
	tests, err := TestFuncs(".")
	require.NoError(t, err)
	require.True(t, tests["TestKnownDifferencesAreAsserted"], "the parser finds the calling test")
	require.False(t, tests["TestNoSuchTestAnywhere"])
	for _, d := range diffs {
		assert.True(t, tests[d.AssertedBy], "known difference %q: assertedBy %s is not a test in this package", d.Pattern, d.AssertedBy)
		assert.NotEmpty(t, d.Why, d.Pattern)
	}
}

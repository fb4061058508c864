// Package resulttest holds the assertions the suites' own tests share.
package resulttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
)

// RequireStatus asserts the status of capability c in res and that its
// detail contains every evidence fragment.
func RequireStatus(t *testing.T, res []conformance.Result, c string, want conformance.Status, evidence ...string) {
	t.Helper()
	r, ok := conformance.Find(res, c)
	require.True(t, ok, "no result for %s", c)
	assert.Equal(t, want, r.Status, "%s: %s", c, r.Detail)
	for _, e := range evidence {
		assert.Contains(t, r.Detail, e, "%s: evidence", c)
	}
}

// AssertStableNames asserts that caps (a suite's capability list, e.g.
// conformance.BlobCapabilities) returns exactly want, in order, and a fresh
// copy on every call. The names are a public contract (JSON output, CI
// scripts): the list may grow, but a name must never change or disappear.
// When hasCheck is not nil, it must report a check for every capability.
func AssertStableNames(t *testing.T, caps func() []string, hasCheck func(capability string) bool, want ...string) {
	t.Helper()
	assert.Equal(t, want, caps())
	c := caps()
	if len(c) > 0 {
		c[0] = "changed"
		assert.Equal(t, want[0], caps()[0], "the list returned is a copy")
	}
	if hasCheck != nil {
		for _, c := range caps() {
			assert.True(t, hasCheck(c), "no check for %s", c)
		}
	}
}

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

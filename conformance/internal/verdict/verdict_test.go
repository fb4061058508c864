package verdict

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/civicport/civicport/conformance"
)

func TestOutcomes(t *testing.T) {
	assert.Equal(t, Outcome{conformance.Pass, "3 of 3"}, Pass("%d of %d", 3, 3))
	assert.Equal(t, Outcome{conformance.Fail, "got 1, want 2"}, Fail("got %d, want %d", 1, 2))
	assert.Equal(t, Outcome{conformance.Unsupported, "Unimplemented"}, Unsupported("Unimplemented"))
	assert.Equal(t, Outcome{conformance.Skipped, "no key"}, Skipped("no %s", "key"))
}

func TestProblems(t *testing.T) {
	var p Problems
	assert.True(t, p.Empty())
	p.Add("key %q: %s", "a", "missing")
	p.Add("key %q: %s", "b", "wrong size")
	assert.False(t, p.Empty())
	assert.Equal(t, Outcome{conformance.Fail, `key "a": missing; key "b": wrong size`}, p.Fail(2))

	p.Add("key %q: %s", "c", "wrong bytes")
	assert.Equal(t, Outcome{conformance.Fail, `key "a": missing; ... and 2 more`}, p.Fail(1),
		"past max the rest is counted, not listed")
}

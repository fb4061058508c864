package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// migrate holds Go's soft memory limit at its data in flight plus 64 MiB
// while it runs, then puts back what was there; GOMEMLIMIT wins.
func TestSoftMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	restore := softMemoryLimit(120 << 20)
	assert.EqualValues(t, 184<<20, debug.SetMemoryLimit(-1))
	restore()
	assert.Equal(t, before, debug.SetMemoryLimit(-1))

	t.Setenv("GOMEMLIMIT", "1GiB")
	restore = softMemoryLimit(120 << 20)
	assert.Equal(t, before, debug.SetMemoryLimit(-1), "GOMEMLIMIT set: left alone")
	restore()
	assert.Equal(t, before, debug.SetMemoryLimit(-1))
}

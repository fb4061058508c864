package migrate

import "testing"

// SetSortRun makes the external sort spill a run every n entries and merge
// fanIn runs at a time, until the test ends.
func SetSortRun(t testing.TB, n, fanIn int) {
	entries, bytes, fan := sortRunEntries, sortRunBytes, sortFanIn
	sortRunEntries, sortFanIn = n, fanIn
	t.Cleanup(func() { sortRunEntries, sortRunBytes, sortFanIn = entries, bytes, fan })
}

// SortRuns returns how many runs the sort behind m spilled.
func SortRuns(m *SortedManifest) int { return m.runs }

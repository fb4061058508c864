package blobtest

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/civicport/civicport/conformance"
)

// want is the expected outcome of one capability: its status and fragments
// of evidence its detail must contain.
type want struct {
	status   conformance.Status
	evidence []string
}

func passes() want { return want{status: conformance.Pass} }

func fails(evidence ...string) want { return want{conformance.Fail, evidence} }

func unsupported(evidence ...string) want { return want{conformance.Unsupported, evidence} }

// matrix is the expected outcome of every capability on one backend.
type matrix map[string]want

// baseline is what a backend that keeps every promise the suite can measure
// today reports on a fresh bucket: everything passes, versioning is off, and
// retention and legal hold are unsupported (a fresh bucket has no object
// lock; see retentionNotEnabled and noRetentionAPI for the evidence).
func baseline() matrix {
	m := matrix{}
	for _, c := range conformance.BlobCapabilities() {
		m[c] = passes()
	}
	m[conformance.BlobVersioning] = unsupported("versioning not enabled")
	for _, c := range retentionCapabilities {
		m[c] = unsupported()
	}
	return m
}

var retentionCapabilities = []string{conformance.BlobRetentionGovernance, conformance.BlobRetentionCompliance, conformance.BlobLegalHold}

// retentionAll expects w for the three retention capabilities.
func retentionAll(w want) matrix {
	m := matrix{}
	for _, c := range retentionCapabilities {
		m[c] = w
	}
	return m
}

// noRetentionAPI: blob/retention has no way to reach this backend's
// retention (mem, file, ...): Unimplemented.
func noRetentionAPI() matrix {
	return retentionAll(unsupported("no retention API for this backend", "Unimplemented"))
}

// retentionNotEnabled: an S3 bucket created without object lock.
func retentionNotEnabled() matrix {
	return retentionAll(unsupported("not enabled on the bucket", "FailedPrecondition", "object lock"))
}

// with returns a copy of m with some capabilities changed.
func (m matrix) with(changes matrix) matrix {
	c := maps.Clone(m)
	maps.Copy(c, changes)
	return c
}

// assertMatrix checks results against m: one result per capability, each
// with the expected status and evidence.
func assertMatrix(t *testing.T, results []conformance.Result, m matrix) {
	t.Helper()
	var got []string
	for _, r := range results {
		got = append(got, r.Capability)
		w, ok := m[r.Capability]
		if !assert.True(t, ok, "unexpected capability %s", r.Capability) {
			continue
		}
		if assert.Equal(t, w.status, r.Status, "%s (detail: %s)", r.Capability, r.Detail) {
			for _, e := range w.evidence {
				assert.Contains(t, r.Detail, e, "%s: evidence", r.Capability)
			}
		}
		if r.Status == conformance.Fail || r.Status == conformance.Unsupported || r.Status == conformance.Skipped {
			assert.NotEmpty(t, r.Detail, "%s: a %s result must say why", r.Capability, r.Status)
		}
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(m)), got, "capabilities measured")
}

// logResults prints the matrix as the test saw it (go test -v).
func logResults(t *testing.T, results []conformance.Result) {
	t.Helper()
	for _, r := range results {
		t.Logf("%-30s %-11s %6dms %s", r.Capability, r.Status, r.Duration.Milliseconds(), truncate(r.Detail, 400))
	}
}

// Package decoratortest checks a civicport blob decorator (Seal, Digest,
// Mirror, ...) with the conformance suite: every capability a backend passes
// must still pass through the decorator, except the differences the
// decorator declares, each with its expected status and evidence.
package decoratortest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
)

// Expect is a capability's expected status and evidence fragments.
type Expect struct {
	Status   conformance.Status
	Evidence []string
	Racy     bool // a race the check may not hit: a pass is fine too
}

// Run runs blobtest over open and checks each result against the
// backend's own expectations plus the decorator's differences: a capability not named
// must pass, be skipped for lack of a retention API, or be unsupported
// versioning.
func Run(t *testing.T, differences map[string]Expect, open blobtest.Opener, backend map[string]Expect) {
	large := int64(8 << 20)
	if testing.Short() {
		large = 1 << 20
	}
	// Run, not Test: the expected fails of a backend (fileblob's keys) are
	// asserted below rather than reported as test errors.
	res := blobtest.Run(t.Context(), open, &blobtest.Options{LargeObjectSize: large, Logf: t.Logf})
	Check(t, differences, res, backend)
}

// Check checks results against the backend's expectations plus the
// decorator's differences.
func Check(t *testing.T, differences map[string]Expect, res []conformance.Result, backend map[string]Expect) {
	for _, r := range res {
		w, ok := differences[r.Capability]
		if b, ok2 := backend[r.Capability]; ok2 {
			w, ok = b, true
		}
		switch {
		case ok && w.Racy && r.Status == conformance.Pass:
		case ok:
			if assert.Equal(t, w.Status, r.Status, "%s: %s", r.Capability, r.Detail) {
				for _, e := range w.Evidence {
					assert.Contains(t, r.Detail, e, r.Capability)
				}
			}
		case r.Capability == conformance.BlobVersioning:
			assert.Equal(t, conformance.Unsupported, r.Status, r.Detail)
		case strings.HasPrefix(r.Capability, "blob.retention") || r.Capability == conformance.BlobLegalHold:
			// Measured by blob/retention through As, which the decorator
			// passes through; still moving, so only a fail is an error.
			assert.NotEqual(t, conformance.Fail, r.Status, "%s: %s", r.Capability, r.Detail)
		default:
			assert.Equal(t, conformance.Pass, r.Status, "%s: %s", r.Capability, r.Detail)
		}
		t.Logf("%-28s %-11s %5dms %.300s", r.Capability, r.Status, r.Duration.Milliseconds(), r.Detail)
	}
}

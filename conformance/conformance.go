// Package conformance holds the result model shared by civicport's
// conformance suites (conformance/blobtest today; secretstest and pubsubtest
// later) and by the `civicport conform` command, which prints these results
// as a table, JSON, Markdown or JUnit XML.
//
// Why: gocloud.dev gives one portable API over many providers, but providers
// do not all keep the same promises behind it (a key with "//" in it, an
// if-not-exists write, a server-side copy, an old object version). Before an
// election office moves its records from one provider to another it needs to
// know, per backend, what really holds. A suite measures each capability
// against a live backend and reports one Result per capability.
//
// A Result's Status is one of:
//
//   - Pass: the capability was exercised and behaved as the portable API
//     promises.
//   - Fail: the backend claims the capability (it did not say it cannot) and
//     got it wrong; Detail carries the evidence (key, want vs got).
//   - Unsupported: the backend honestly says it cannot (for example
//     gcerrors.Unimplemented), or the bucket visibly lacks the feature (no
//     MD5 reported, versioning not enabled); Detail says how we know.
//   - Skipped: the check could not run (not implemented by the suite yet,
//     the context was cancelled); Detail says why.
//
// The capability names (constants below) and the JSON field names are a
// public contract: reports, CI scripts and `civicport plan` depend on them.
// Add names; never rename or reuse one.
package conformance

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the outcome of one capability check.
type Status string

// The four statuses. Their string values appear in JSON output.
const (
	Pass        Status = "pass"
	Fail        Status = "fail"
	Unsupported Status = "unsupported"
	Skipped     Status = "skipped"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Pass, Fail, Unsupported, Skipped:
		return true
	}
	return false
}

// Result is the outcome of one capability check against one backend.
//
// Its JSON form is
//
//	{"capability":"blob.md5","status":"fail","detail":"...","duration_ms":12}
//
// with "detail" omitted when empty.
type Result struct {
	// Capability is the capability name, e.g. "blob.read_write" (see the
	// constants in this package).
	Capability string `json:"capability"`
	// Status is pass, fail, unsupported or skipped.
	Status Status `json:"status"`
	// Detail is the evidence for a fail, the reason for unsupported or
	// skipped, and for a pass an optional note on observed behaviour that
	// matters when switching providers (e.g. "metadata keys came back
	// lower-cased").
	Detail string `json:"detail,omitempty"`
	// Duration is how long the check took (wall clock, including opening
	// and cleaning up its bucket). In JSON it is "duration_ms".
	Duration time.Duration `json:"-"`
}

// String is a one-line human form: "blob.md5: fail (detail)".
func (r Result) String() string {
	if r.Detail == "" {
		return fmt.Sprintf("%s: %s", r.Capability, r.Status)
	}
	return fmt.Sprintf("%s: %s (%s)", r.Capability, r.Status, r.Detail)
}

type resultJSON struct {
	Capability string `json:"capability"`
	Status     Status `json:"status"`
	Detail     string `json:"detail,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// MarshalJSON encodes r with the duration as integer milliseconds
// ("duration_ms").
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{
		Capability: r.Capability,
		Status:     r.Status,
		Detail:     r.Detail,
		DurationMS: r.Duration.Milliseconds(),
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if !j.Status.Valid() {
		return fmt.Errorf("conformance: unknown status %q for capability %q", j.Status, j.Capability)
	}
	*r = Result{
		Capability: j.Capability,
		Status:     j.Status,
		Detail:     j.Detail,
		Duration:   time.Duration(j.DurationMS) * time.Millisecond,
	}
	return nil
}

// Failed reports whether any result is a Fail.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Count returns how many results have each status.
func Count(results []Result) map[Status]int {
	m := make(map[Status]int, 4)
	for _, r := range results {
		m[r.Status]++
	}
	return m
}

// Find returns the result for capability and whether there was one.
func Find(results []Result, capability string) (Result, bool) {
	for _, r := range results {
		if r.Capability == capability {
			return r, true
		}
	}
	return Result{}, false
}

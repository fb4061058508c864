package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Suite is what a conformance suite (blobtest, pubsubtest) gives RunSuite
// and TestSuite, which run its capability checks the same way for every
// kind of backend: in the suite's order, each under Timeout; a check that
// runs out of time is a fail, one interrupted because ctx ended is skipped,
// an unknown capability name is skipped with the list of known ones.
type Suite struct {
	Name         string   // e.g. "blobtest", used in messages
	Capabilities []string // every capability the suite measures, in order
	// Check runs one capability the suite knows. It should never hang past
	// ctx, and turn its own panics into a fail.
	Check   func(ctx context.Context, capability string) (Status, string)
	Timeout time.Duration
	// TimeoutOption names the option that sets Timeout, for messages.
	TimeoutOption string
	Logf          func(format string, args ...any)
	// Expect, if set, is the backend's expected matrix for TestSuite: a
	// capability it names must come out with that status, or the subtest
	// fails, so that a capability that silently turns unsupported (or
	// skipped) is caught rather than shown as SKIP. An expected fail or
	// unsupported that happens is logged and skipped, not an error.
	Expect map[string]Status
}

// Select returns the capabilities to run for requested: all of the suite's
// when requested is empty, else those requested in the suite's order,
// followed by requested names the suite does not know (reported as
// skipped by RunSuite, errors by TestSuite).
func (s Suite) Select(requested []string) []string {
	if len(requested) == 0 {
		return slices.Clone(s.Capabilities)
	}
	var out []string
	for _, c := range s.Capabilities {
		if slices.Contains(requested, c) {
			out = append(out, c)
		}
	}
	for _, c := range requested {
		if !slices.Contains(s.Capabilities, c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// RunSuite measures the requested capabilities (all when empty) and
// returns one result each.
func RunSuite(ctx context.Context, s Suite, requested []string) []Result {
	var results []Result
	for _, c := range s.Select(requested) {
		results = append(results, s.runOne(ctx, c))
	}
	return results
}

// TestSuite runs the requested capabilities under go test, one subtest per
// capability: a fail is a t.Error with its evidence, unsupported and
// skipped call t.Skip with the reason, a pass logs its note; a capability
// in s.Expect is held against its expected status instead. suite builds
// the Suite for each subtest (so that its Logf can be the subtest's). It
// returns the results of the subtests that ran.
func TestSuite(t *testing.T, requested []string, suite func(t *testing.T) Suite) []Result {
	t.Helper()
	var results []Result
	for _, c := range suite(t).Select(requested) {
		t.Run(c, func(t *testing.T) {
			s := suite(t)
			r := s.runOne(t.Context(), c)
			results = append(results, r)
			if !slices.Contains(s.Capabilities, c) {
				t.Errorf("%s", r.Detail)
				return
			}
			if want, ok := s.Expect[c]; ok {
				switch {
				case r.Status != want:
					t.Errorf("%s: %s, expected %s: %s", c, r.Status, want, r.Detail)
				case want != Pass:
					t.Skipf("%s: %s as expected: %s", c, r.Status, r.Detail)
				case r.Detail != "":
					t.Logf("pass: %s", r.Detail)
				}
				return
			}
			switch r.Status {
			case Pass:
				if r.Detail != "" {
					t.Logf("pass: %s", r.Detail)
				}
			case Fail:
				t.Errorf("%s: fail: %s", c, r.Detail)
			case Unsupported:
				t.Skipf("%s: unsupported: %s", c, r.Detail)
			default:
				t.Skipf("%s: skipped: %s", c, r.Detail)
			}
		})
	}
	return results
}

func (s Suite) runOne(ctx context.Context, capability string) (res Result) {
	start := time.Now()
	res.Capability = capability
	defer func() { res.Duration = time.Since(start) }()
	if !slices.Contains(s.Capabilities, capability) {
		res.Status = Skipped
		res.Detail = fmt.Sprintf("unknown capability %q: %s measures %s", capability, s.Name, strings.Join(s.Capabilities, ", "))
		return res
	}
	if err := ctx.Err(); err != nil {
		res.Status, res.Detail = Skipped, "not run: "+ctxReason(ctx)
		return res
	}
	cctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	status, detail := s.Check(cctx, capability)
	switch {
	case status == Pass:
	case ctx.Err() != nil:
		status, detail = Skipped, "interrupted: "+ctxReason(ctx)+withEvidence(detail)
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		status, detail = Fail, fmt.Sprintf("check did not finish within %v (%s)%s", s.Timeout, s.TimeoutOption, withEvidence(detail))
	}
	res.Status, res.Detail = status, detail
	if s.Logf != nil {
		s.Logf("%s: %s (%v)", capability, res.Status, time.Since(start).Round(time.Millisecond))
	}
	return res
}

func withEvidence(d string) string {
	if d == "" {
		return ""
	}
	return "; before that: " + d
}

func ctxReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && c != ctx.Err() {
		return fmt.Sprintf("%v (%v)", ctx.Err(), c)
	}
	return ctx.Err().Error()
}

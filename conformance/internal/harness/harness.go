// Package harness is the scaffolding that the three conformance suites
// (blobtest, pubsubtest, secretstest) share around their checks: the
// conformance.Suite that their Run and Test hand to conformance.RunSuite and
// conformance.TestSuite, where each check's progress lines go (the caller's
// Logf, else nowhere under Run and the subtest's t.Logf under Test), and the
// recovery that turns a panic in an Opener, a check or a cleanup step into a
// fail or a log line instead of a crash.
//
// Each suite keeps its own Options, Opener and checks; what is here is what
// was written out three times, the same, before.
package harness

import (
	"context"
	"testing"
	"time"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

// Logf receives a suite's progress lines.
type Logf = func(format string, args ...any)

// Suite is one suite over its caller's options, with the suite's defaults
// applied.
type Suite struct {
	Name         string   // e.g. "blobtest", used in messages
	Capabilities []string // every capability the suite measures, in order
	Options      Options
	// Check runs one capability the suite knows, logging to logf (never
	// nil). It should never hang past ctx; its panics, and those of the
	// Opener it calls, are its own to recover (see Recover).
	Check func(ctx context.Context, capability string, logf Logf) verdict.Outcome
}

// Options are the options every suite has (each suite's Options has fields
// of these names, and documents them).
type Options struct {
	Capabilities []string      // which to run; nil or empty runs all
	CheckTimeout time.Duration // bounds each check
	// Logf, if set, receives the progress lines; nil discards them under
	// Run and sends them to each subtest's t.Logf under Test.
	Logf   Logf
	Expect map[string]conformance.Status // the expected matrix, for Test
}

// Run measures the selected capabilities and returns one result each.
func Run(ctx context.Context, s Suite) []conformance.Result {
	logf := s.Options.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return conformance.RunSuite(ctx, s.with(logf), s.Options.Capabilities)
}

// Test runs the selected capabilities under go test, one subtest each.
func Test(t *testing.T, s Suite) []conformance.Result {
	t.Helper()
	return conformance.TestSuite(t, s.Options.Capabilities, func(t *testing.T) conformance.Suite {
		if s.Options.Logf != nil {
			return s.with(s.Options.Logf)
		}
		return s.with(t.Logf)
	})
}

// with is s for conformance.RunSuite and TestSuite, logging to logf.
func (s Suite) with(logf Logf) conformance.Suite {
	return conformance.Suite{
		Name:          s.Name,
		Capabilities:  s.Capabilities,
		Timeout:       s.Options.CheckTimeout,
		TimeoutOption: "Options.CheckTimeout",
		Logf:          logf,
		Expect:        s.Options.Expect,
		Check: func(ctx context.Context, capName string) (conformance.Status, string) {
			out := s.Check(ctx, capName, logf)
			return out.Status, out.Detail
		},
	}
}

// Deref is *o, or the zero options for a nil o (a nil *Options is the
// same as the zero value, in every suite).
func Deref[O any](o *O) O {
	var c O
	if o != nil {
		c = *o
	}
	return c
}

// OrDefault is v, or def when v is zero or negative: the rule every suite's
// numeric options follow.
func OrDefault[N ~int | ~int64](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}

// Guard runs a cleanup step f, logging a panic in it as "<capability>:
// <what> panicked: <value>" instead of letting it go on: a check's
// verdict stands even when tidying up after it fails.
func Guard(logf Logf, capability, what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			logf("%s: %s panicked: %v", capability, what, p)
		}
	}()
	f()
}

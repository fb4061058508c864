// Package verdict is what the checks of every conformance suite (blobtest,
// pubsubtest, secretstest) return: an Outcome, a status with its evidence,
// and Problems, the evidence of a check that keeps going after the first
// failure so that a report names every key or message that failed, not just
// the first.
package verdict

import (
	"fmt"
	"strings"

	"github.com/civicport/civicport/conformance"
)

// Outcome is a check's verdict before the suite runner turns it into a
// conformance.Result.
type Outcome struct {
	Status conformance.Status
	Detail string
}

// Pass is a pass with a note (may be empty).
func Pass(format string, args ...any) Outcome { return of(conformance.Pass, format, args) }

// Fail is a fail with its evidence.
func Fail(format string, args ...any) Outcome { return of(conformance.Fail, format, args) }

// Unsupported is the backend's honest "cannot", with its reason.
func Unsupported(format string, args ...any) Outcome {
	return of(conformance.Unsupported, format, args)
}

// Skipped is a check that could not reach a verdict, with the reason.
func Skipped(format string, args ...any) Outcome { return of(conformance.Skipped, format, args) }

func of(s conformance.Status, format string, args []any) Outcome {
	return Outcome{Status: s, Detail: fmt.Sprintf(format, args...)}
}

// Problems collects the evidence of a check that keeps going after the
// first failure.
type Problems []string

// Add records one piece of evidence.
func (p *Problems) Add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Empty reports whether nothing was recorded.
func (p Problems) Empty() bool { return len(p) == 0 }

// Fail joins the evidence into one fail, listing at most max pieces and
// counting the rest.
func (p Problems) Fail(max int) Outcome {
	if len(p) > max {
		return Fail("%s; ... and %d more", strings.Join(p[:max], "; "), len(p)-max)
	}
	return Fail("%s", strings.Join(p, "; "))
}

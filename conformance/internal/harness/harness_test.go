package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

func TestDefaults(t *testing.T) {
	type opts struct{ N int }
	assert.Equal(t, opts{}, Deref[opts](nil))
	assert.Equal(t, opts{N: 3}, Deref(&opts{N: 3}))
	assert.Equal(t, 7, OrDefault(0, 7))
	assert.Equal(t, 7, OrDefault(-1, 7), "a negative value takes the default too")
	assert.Equal(t, 2, OrDefault(2, 7))
	assert.Equal(t, time.Minute, OrDefault(time.Duration(0), time.Minute))
}

func TestGuard(t *testing.T) {
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	Guard(logf, "x.cap", "cleanup", func() { panic("boom") })
	Guard(logf, "x.cap", "cleanup", func() {})
	assert.Equal(t, []string{"x.cap: cleanup panicked: boom"}, lines)
}

// suiteLogging is a suite of one capability whose check logs a line.
func suiteLogging(logf Logf) Suite {
	return Suite{
		Name:         "x",
		Capabilities: []string{"x.cap"},
		Options:      Options{CheckTimeout: time.Minute, Logf: logf},
		Check: func(_ context.Context, capName string, logf Logf) verdict.Outcome {
			logf("%s: checking", capName)
			return verdict.Pass("fine")
		},
	}
}

func TestRunLogsToTheCallersLogf(t *testing.T) {
	res := Run(t.Context(), suiteLogging(nil))
	require.Len(t, res, 1, "a nil Logf discards the lines")
	assert.Equal(t, conformance.Pass, res[0].Status)

	var lines []string
	res = Run(t.Context(), suiteLogging(func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }))
	assert.Equal(t, "fine", res[0].Detail)
	require.NotEmpty(t, lines)
	assert.Equal(t, "x.cap: checking", lines[0])
}

func TestTestRunsSubtests(t *testing.T) {
	res := Test(t, suiteLogging(nil))
	require.Len(t, res, 1)
	assert.Equal(t, "x.cap", res[0].Capability)
	assert.Equal(t, conformance.Pass, res[0].Status)
}

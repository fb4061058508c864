package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
)

func TestRunSuite(t *testing.T) {
	s := conformance.Suite{
		Name:          "demotest",
		Capabilities:  []string{"demo.fast", "demo.hangs", "demo.unsupported"},
		Timeout:       50 * time.Millisecond,
		TimeoutOption: "Options.CheckTimeout",
		Check: func(ctx context.Context, c string) (conformance.Status, string) {
			switch c {
			case "demo.hangs":
				<-ctx.Done()
				return conformance.Fail, "waited for a message"
			case "demo.unsupported":
				return conformance.Unsupported, "no such feature"
			}
			return conformance.Pass, ""
		},
	}
	res := conformance.RunSuite(context.Background(), s, []string{"demo.unsupported", "demo.nope", "demo.hangs", "demo.fast"})
	require.Len(t, res, 4)
	assert.Equal(t, []string{"demo.fast", "demo.hangs", "demo.unsupported", "demo.nope"},
		[]string{res[0].Capability, res[1].Capability, res[2].Capability, res[3].Capability}, "suite order, unknown last")
	assert.Equal(t, conformance.Pass, res[0].Status)
	assert.Equal(t, conformance.Fail, res[1].Status)
	assert.Equal(t, "check did not finish within 50ms (Options.CheckTimeout); before that: waited for a message", res[1].Detail)
	assert.Equal(t, conformance.Unsupported, res[2].Status)
	assert.Equal(t, conformance.Skipped, res[3].Status)
	assert.Equal(t, `unknown capability "demo.nope": demotest measures demo.fast, demo.hangs, demo.unsupported`, res[3].Detail)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = conformance.RunSuite(ctx, s, nil)
	require.Len(t, res, 3)
	for _, r := range res {
		assert.Equal(t, conformance.Skipped, r.Status)
		assert.Contains(t, r.Detail, "not run: context canceled")
	}
}

// With Expect, TestSuite holds each capability to its expected status: a
// pass that turned unsupported fails the subtest (it used to be a quiet
// SKIP); an expected fail is a skip. Run in a child process, whose failure
// is the point.
func TestSuiteExpectHoldsTheMatrix(t *testing.T) {
	if os.Getenv("CIVICPORT_TEST_EXPECT_CHILD") == "1" {
		s := conformance.Suite{
			Name:         "fake",
			Capabilities: []string{"x.a", "x.b", "x.c"},
			Timeout:      time.Second,
			Check: func(_ context.Context, c string) (conformance.Status, string) {
				return map[string]conformance.Status{"x.a": conformance.Pass, "x.b": conformance.Unsupported, "x.c": conformance.Fail}[c], "detail of " + c
			},
			Expect: map[string]conformance.Status{"x.a": conformance.Pass, "x.b": conformance.Pass, "x.c": conformance.Fail},
		}
		conformance.TestSuite(t, nil, func(*testing.T) conformance.Suite { return s })
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteExpectHoldsTheMatrix$", "-test.v")
	cmd.Env = append(os.Environ(), "CIVICPORT_TEST_EXPECT_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child must fail: %s", out)
	assert.Contains(t, string(out), "--- PASS: TestSuiteExpectHoldsTheMatrix/x.a")
	assert.Contains(t, string(out), "--- FAIL: TestSuiteExpectHoldsTheMatrix/x.b")
	assert.Contains(t, string(out), "x.b: unsupported, expected pass: detail of x.b")
	assert.Contains(t, string(out), "--- SKIP: TestSuiteExpectHoldsTheMatrix/x.c")
	assert.Contains(t, string(out), "x.c: fail as expected: detail of x.c")
}

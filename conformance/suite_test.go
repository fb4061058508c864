package conformance_test

import (
	"context"
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

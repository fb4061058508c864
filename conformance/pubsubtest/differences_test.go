package pubsubtest

// Tests that pin down each known difference listed in knownDifferences
// (main_test.go): if a backend or driver changes its behaviour, the test
// fails and the entry (and docs/capabilities.md) must change.

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// runKnown runs one capability with Run (so that its expected fail does not
// fail the test), logs its MATRIX line and asserts its status and evidence.
func runKnown(t *testing.T, name string, open Opener, o *Options, capName string, want conformance.Status, evidence ...string) conformance.Result {
	t.Helper()
	o.Capabilities = []string{capName}
	o.Logf = t.Logf
	res := Run(t.Context(), open, o)
	require.Len(t, res, 1)
	logMatrix(t, name, res)
	r := res[0]
	require.Equal(t, want, r.Status, "%s", r)
	for _, e := range evidence {
		require.Contains(t, r.Detail, e)
	}
	return r
}

func TestRabbitMQNoAckDeadline(t *testing.T) {
	t.Parallel()
	r := testenv.RabbitMQ(t)
	runKnown(t, "rabbit", rabbitOpener(t, r), rabbitOptions(), conformance.PubSubAckDeadline, conformance.Fail,
		"neither acked nor nacked was not delivered again within 5s")
}

package pubsubtest

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/internal/testing/testenv"
)

// knownDifferences are subtests of the server tests (servers_test.go) that
// Test would report as a fail for a reason that is understood and is not a
// bug in the suite: a real backend's or driver's behaviour that the suite
// rightly measures as a fail, or a test server that differs from the real
// service. Each is left out of the run (added to -test.skip by TestMain) and
// its exact behaviour is asserted instead by the test named in assertedBy
// (differences_test.go), which also logs its MATRIX line, so the difference
// is documented and tested, and a change of behaviour makes that test fail.
var knownDifferences = []struct{ pattern, why, assertedBy string }{
	{`^TestServerRabbitMQ$/^pubsub\.ack_deadline$`,
		"RabbitMQ has no ack deadline: a delivered message stays with its consumer until it is acked or nacked or the channel closes (the broker's consumer_timeout, 30 min by default, closes it)",
		"TestRabbitMQNoAckDeadline"},
}

func TestMain(m *testing.M) {
	pats := make([]string, 0, len(knownDifferences))
	for _, d := range knownDifferences {
		pats = append(pats, d.pattern)
	}
	os.Exit(testenv.MainSkipping(m, pats))
}

// Each known difference names a test that exists.
func TestKnownDifferencesAreAsserted(t *testing.T) {
	tests, err := testenv.TestFuncs(".")
	require.NoError(t, err)
	require.True(t, tests["TestKnownDifferencesAreAsserted"], "the parser finds this very test")
	for _, d := range knownDifferences {
		assert.True(t, tests[d.assertedBy], "known difference %q: assertedBy %s is not a test in this package", d.pattern, d.assertedBy)
	}
}

package pubsubtest

import (
	"os"
	"testing"

	"github.com/civicport/civicport/internal/testing/testenv"
)

// knownDifferences are subtests of the server tests (servers_test.go) that
// Test would report as a fail for a reason that is understood and is not a
// bug in the suite: a real backend's or driver's behaviour that the suite
// rightly measures as a fail, or a test server that differs from the real
// service. Each is left out of the run (added to -test.skip by TestMain) and
// its exact behaviour is asserted instead by the test named in AssertedBy
// (differences_test.go), which also logs its MATRIX line, so the difference
// is documented and tested, and a change of behaviour makes that test fail.
var knownDifferences = []testenv.KnownDifference{
	{Pattern: `^TestServerRabbitMQ$/^pubsub\.ack_deadline$`,
		Why:        "RabbitMQ has no ack deadline: a delivered message stays with its consumer until it is acked or nacked or the channel closes (the broker's consumer_timeout, 30 min by default, closes it)",
		AssertedBy: "TestRabbitMQNoAckDeadline"},
}

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithout(m, knownDifferences))
}

// Each known difference names a test that exists.
func TestKnownDifferencesAreAsserted(t *testing.T) {
	testenv.AssertKnownDifferences(t, knownDifferences)
}

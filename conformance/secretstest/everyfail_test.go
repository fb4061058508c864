package secretstest

import (
	"testing"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// Every capability has a deliberately broken backend that fails it.
func TestEveryCapabilityIsShownToFail(t *testing.T) {
	testenv.RequireEveryCapabilityFails(t, conformance.SecretsCapabilities(), "faulty_test.go")
}

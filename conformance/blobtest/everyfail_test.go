package blobtest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// Every capability has a deliberately broken backend that fails it.
func TestEveryCapabilityIsShownToFail(t *testing.T) {
	testenv.RequireEveryCapabilityFails(t, conformance.BlobCapabilities(), "faulty_test.go", "checks_retention_test.go")
}

func TestCapabilityGoName(t *testing.T) {
	for c, want := range map[string]string{
		conformance.BlobSignedURL: "BlobSignedURL", conformance.BlobHTTPHeaders: "BlobHTTPHeaders",
		conformance.BlobMD5: "BlobMD5", conformance.PubSubDeadLetter: "PubSubDeadLetter",
		conformance.SecretsKeyRotation: "SecretsKeyRotation",
	} {
		assert.Equal(t, want, testenv.CapabilityGoName(c))
	}
}

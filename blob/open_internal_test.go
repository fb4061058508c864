package blob

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestS3DefaultsOnlyForEndpoints(t *testing.T) {
	for in, want := range map[string]map[string]string{
		"s3://b?region=us-east-1":    {"request_checksum_calculation": "", "response_checksum_validation": ""},
		"s3://b?endpoint=http://h:1": {"request_checksum_calculation": "when_required", "response_checksum_validation": "when_required"},
		"s3://b?endpoint=http://h:1&request_checksum_calculation=when_supported": {
			"request_checksum_calculation": "when_supported", "response_checksum_validation": "when_required"},
	} {
		u, err := url.Parse(in)
		require.NoError(t, err)
		q := s3Defaults(u).Query()
		for k, v := range want {
			assert.Equal(t, v, q.Get(k), "%s: %s", in, k)
		}
	}
}

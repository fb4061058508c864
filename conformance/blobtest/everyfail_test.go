package blobtest

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
)

// Every capability has a deliberately broken backend that fails it: some
// test asserts a Fail for it (faulty_test.go, checks_retention_test.go). A
// capability added without one fails here.
func TestEveryCapabilityIsShownToFail(t *testing.T) {
	var src strings.Builder
	for _, f := range []string{"faulty_test.go", "checks_retention_test.go"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		src.Write(data)
	}
	for _, c := range conformance.BlobCapabilities() {
		id := goName(c)
		re := regexp.MustCompile(`conformance\.` + id + `,\s*conformance\.Fail\b|conformance\.` + id + `:\s*fails\(`)
		assert.True(t, re.MatchString(src.String()), "%s (conformance.%s): no broken backend is shown to fail it", c, id)
	}
}

// goName is the Go constant of a capability: blob.signed_url -> BlobSignedURL.
func goName(capability string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(capability, func(r rune) bool { return r == '.' || r == '_' }) {
		switch part {
		case "md5", "url", "http":
			b.WriteString(strings.ToUpper(part))
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func TestGoName(t *testing.T) {
	assert.Equal(t, "BlobSignedURL", goName(conformance.BlobSignedURL))
	assert.Equal(t, "BlobHTTPHeaders", goName(conformance.BlobHTTPHeaders))
	assert.Equal(t, "BlobMD5", goName(conformance.BlobMD5))
	assert.Equal(t, "BlobListPrefixDelimiter", goName(conformance.BlobListPrefixDelimiter))
}

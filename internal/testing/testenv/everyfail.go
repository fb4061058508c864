package testenv

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// RequireEveryCapabilityFails checks that for each capability some test in
// files (of the calling package's directory) asserts a Fail for it, in the
// suites' form `conformance.X, conformance.Fail` or `conformance.X:
// fails(`: every capability has a deliberately broken backend that fails
// it, and a capability added without one is caught.
func RequireEveryCapabilityFails(t testing.TB, capabilities []string, files ...string) {
	t.Helper()
	var src strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		src.Write(data)
	}
	for _, c := range capabilities {
		id := CapabilityGoName(c)
		re := regexp.MustCompile(`conformance\.` + id + `,\s*conformance\.Fail\b|conformance\.` + id + `:\s*fails\(`)
		if !re.MatchString(src.String()) {
			t.Errorf("%s (conformance.%s): no broken backend in %v is shown to fail it", c, id, files)
		}
	}
}

// CapabilityGoName is the Go constant of a capability in package
// conformance: blob.signed_url -> BlobSignedURL, pubsub.dead_letter ->
// PubSubDeadLetter.
func CapabilityGoName(capability string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(capability, func(r rune) bool { return r == '.' || r == '_' }) {
		switch part {
		case "md5", "url", "http":
			b.WriteString(strings.ToUpper(part))
		case "pubsub":
			b.WriteString("PubSub")
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

package depsclaim

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// features are the packages that must stay light.
var features = []string{
	"blob/audit", "blob/digest", "blob/distribute", "blob/migrate", "blob/mirror",
	"blob/retention", "blob/seal", "blob/keyrefusal",
	"pubsub/bridge", "pubsub/dedup", "pubsub/fanout", "pubsub/meta", "pubsub/sign",
	"secrets/envelope", "secrets/ring",
	// The suites themselves (blobtest, ...) reach provider types through As
	// to measure them; the suite runner and the report format do not.
	"conformance", "conformance/report",
}

// heavy are import path prefixes of cloud SDKs and cgo PKCS#11. (gocloud's
// core links github.com/googleapis/gax-go, genproto's rpc status and
// google.golang.org/api/googleapi for its error codes: Google's generic API
// error types, not an SDK, linked by every gocloud program; see light.)
var heavy = []string{
	"github.com/aws/", "github.com/Azure/", "cloud.google.com/go/",
	"google.golang.org/api/", "github.com/minio/minio-go", "github.com/miekg/pkcs11",
	"github.com/ThalesGroup/crypto11", "github.com/nats-io/", "github.com/rabbitmq/",
	"github.com/streadway/amqp", "gocloud.dev/blob/s3blob", "gocloud.dev/blob/gcsblob",
	"gocloud.dev/blob/azureblob",
}

// light are the packages under a heavy prefix that gocloud's core links.
var light = map[string]bool{
	"google.golang.org/api/googleapi":                         true,
	"google.golang.org/api/internal/third_party/uritemplates": true,
}

func TestFeaturePackagesLinkNoCloudSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/civicport/civicport/"
	for _, pkg := range features {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
			require.NoError(t, err, "%s", out)
			deps := strings.Fields(string(out))
			require.Contains(t, deps, module+pkg)
			var bad []string
			for _, d := range deps {
				for _, h := range heavy {
					if strings.HasPrefix(d, h) && !light[d] {
						bad = append(bad, d)
					}
				}
				for _, opener := range []string{"blob", "secrets", "pubsub"} {
					if d == module+opener {
						bad = append(bad, d+" (an opener)")
					}
				}
			}
			assert.Empty(t, bad, "%s links %d packages", pkg, len(deps))
			t.Logf("%s: %d packages", pkg, len(deps))
		})
	}
}

package conformance_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/resulttest"
)

func TestResultJSON(t *testing.T) {
	r := conformance.Result{
		Capability: conformance.BlobMD5,
		Status:     conformance.Fail,
		Detail:     `Attributes.MD5 of "k": got 00, want ff`,
		Duration:   1500*time.Millisecond + 400*time.Microsecond,
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"capability":"blob.md5","status":"fail","detail":"Attributes.MD5 of \"k\": got 00, want ff","duration_ms":1500}`, string(b))

	var back conformance.Result
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, conformance.Result{Capability: r.Capability, Status: r.Status, Detail: r.Detail, Duration: 1500 * time.Millisecond}, back)

	// An empty detail is omitted; pointers and slices marshal the same way.
	b, err = json.Marshal([]*conformance.Result{{Capability: conformance.BlobReadWrite, Status: conformance.Pass}})
	require.NoError(t, err)
	assert.JSONEq(t, `[{"capability":"blob.read_write","status":"pass","duration_ms":0}]`, string(b))

	assert.Error(t, json.Unmarshal([]byte(`{"capability":"blob.md5","status":"maybe"}`), &back))
}

func TestStatus(t *testing.T) {
	for _, s := range []conformance.Status{conformance.Pass, conformance.Fail, conformance.Unsupported, conformance.Skipped} {
		assert.True(t, s.Valid(), s)
	}
	assert.False(t, conformance.Status("PASS").Valid())
	assert.Equal(t, "pass fail unsupported skipped",
		strings.Join([]string{string(conformance.Pass), string(conformance.Fail), string(conformance.Unsupported), string(conformance.Skipped)}, " "))
}

func TestHelpers(t *testing.T) {
	res := []conformance.Result{
		{Capability: conformance.BlobReadWrite, Status: conformance.Pass},
		{Capability: conformance.BlobSignedURL, Status: conformance.Unsupported, Detail: "Unimplemented"},
		{Capability: conformance.BlobLegalHold, Status: conformance.Skipped, Detail: "later"},
	}
	assert.False(t, conformance.Failed(res))
	assert.Equal(t, map[conformance.Status]int{conformance.Pass: 1, conformance.Unsupported: 1, conformance.Skipped: 1}, conformance.Count(res))
	r, ok := conformance.Find(res, conformance.BlobSignedURL)
	assert.True(t, ok)
	assert.Equal(t, "blob.signed_url: unsupported (Unimplemented)", r.String())
	_, ok = conformance.Find(res, conformance.BlobMD5)
	assert.False(t, ok)

	res = append(res, conformance.Result{Capability: conformance.BlobMD5, Status: conformance.Fail})
	assert.True(t, conformance.Failed(res))
	assert.Equal(t, "blob.md5: fail", res[3].String())
}

// The capability names are a public contract: see resulttest.AssertStableNames.
func TestBlobCapabilityNamesAreStable(t *testing.T) {
	resulttest.AssertStableNames(t, conformance.BlobCapabilities, nil,
		"blob.read_write",
		"blob.empty_object",
		"blob.not_found",
		"blob.range_read",
		"blob.list_prefix_delimiter",
		"blob.list_pagination",
		"blob.metadata",
		"blob.content_type",
		"blob.http_headers",
		"blob.md5",
		"blob.large_object",
		"blob.unicode_keys",
		"blob.special_keys",
		"blob.copy_server_side",
		"blob.conditional_write",
		"blob.versioning",
		"blob.retention_governance",
		"blob.retention_compliance",
		"blob.legal_hold",
		"blob.signed_url",
	)
}

func TestCheckCapabilities(t *testing.T) {
	require.NoError(t, conformance.CheckCapabilities(nil, conformance.SuiteBlob))
	require.NoError(t, conformance.CheckCapabilities([]string{conformance.BlobMD5, conformance.PubSubMetadata}, conformance.SuiteBlob),
		"a name of a suite that does not run is accepted")
	require.NoError(t, conformance.CheckCapabilities([]string{conformance.BlobMD5, conformance.SecretsRoundtrip}))

	var ce *conformance.CapabilityError
	err := conformance.CheckCapabilities([]string{"blob.nope", conformance.BlobMD5, "pubsub.nope"}, conformance.SuiteBlob)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{"blob.nope", "pubsub.nope"}, ce.Unknown)
	assert.Equal(t, conformance.BlobCapabilities(), ce.Valid)
	assert.Equal(t, `unknown capabilities "blob.nope, pubsub.nope"; valid names: `+strings.Join(conformance.BlobCapabilities(), ", "), err.Error())

	err = conformance.CheckCapabilities([]string{conformance.SecretsRoundtrip}, conformance.SuiteSecrets, conformance.SuitePubSub)
	require.ErrorAs(t, err, &ce)
	assert.Empty(t, ce.Unknown)
	assert.Equal(t, conformance.SuitePubSub, ce.Suite)
	assert.Equal(t, conformance.PubSubCapabilities(), ce.Capabilities)
	assert.Contains(t, err.Error(), "no pubsub capability asked for, but the pubsub suite runs")
}

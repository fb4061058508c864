package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func writeProfile(t *testing.T, c profile.Config) string {
	t.Helper()
	data, err := json.Marshal(c)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), c.Profile+".json")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestRehearseProfileErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"profile":"aws","aws":{"regoin":"us-east-1"}}`), 0o600))
	code, _, errOut := runCLI(t, "rehearse", "--from-profile", bad)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--from-profile")
	assert.Contains(t, errOut, `unknown field "regoin"`)

	incomplete := writeProfile(t, profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{Bucket: "records"}})
	code, _, errOut = runCLI(t, "rehearse", "--to-profile", incomplete)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `--to-profile `+incomplete+`: profile aws: field "region": empty`)

	code, _, errOut = runCLI(t, "rehearse", "--from-profile", filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "missing.json")
}

// The switch on the test servers: an aws-like provider (MinIO with
// object lock, local-kms, SQS on fauxqs) to an onprem one (versitygw,
// SoftHSM2, NATS JetStream).
func TestRehearseAWSToOnPrem(t *testing.T) {
	s3 := testenv.MinIO(t)
	kms := testenv.LocalKMS(t)
	sqs := testenv.Fauxqs(t)
	vgw := testenv.Versitygw(t)
	hsm := testenv.SoftHSM(t)
	nats := testenv.NATS(t)
	t.Setenv("PKCS11_PIN", hsm.PIN)
	from := writeProfile(t, profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{
		Region:      s3.Region,
		Bucket:      s3.NewBucket(t, testenv.WithObjectLock()),
		KMSKey:      kms.NewKey(t),
		QueueURL:    sqs.NewQueue(t),
		S3Endpoint:  s3.Endpoint(),
		KMSEndpoint: kms.Endpoint(),
		SQSEndpoint: sqs.Endpoint(),
	}})
	stream := nats.StreamName("CP_REHEARSE")
	to := writeProfile(t, profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
		S3Endpoint:        vgw.Endpoint(),
		Bucket:            vgw.NewBucket(t),
		PKCS11Module:      hsm.Module,
		PKCS11Token:       hsm.Token,
		PKCS11Key:         testenv.UniqueName("cp-rehearse"),
		PKCS11CreateKey:   true,
		Messaging:         "jetstream",
		JetStreamStream:   stream,
		JetStreamSubject:  nats.Subject("cp.rehearse"),
		JetStreamConsumer: nats.StreamName("aggregator"),
		JetStreamCreate:   true,
	}})
	code, out, errOut := runCLI(t, "rehearse", "--dir", t.TempDir(), "--from-profile", from, "--to-profile", to)
	t.Log(out)
	// MinIO with object lock -> versitygw without: the plan says retention,
	// legal hold and versioning would be lost, which fails the rehearsal;
	// every other check passes.
	assert.Equal(t, exitProblem, code, errOut)
	assert.Contains(t, out, "the switch would lose")
	assert.Contains(t, out, "retention_governance")
	assert.Contains(t, out, "provider A (aws)")
	assert.Contains(t, out, "provider B (onprem)")
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "FAIL ") {
			// Only the plan may fail: MinIO and versitygw differ.
			assert.Contains(t, line, "plan: capabilities", "a check failed: %s", line)
		}
	}
	assert.Regexp(t, `ok\s+retention on A \(federal 22 months\)\s+\S+\s+\d+ records retained \(governance\)`, out)
	assert.Regexp(t, `ok\s+aggregator on B`, out)
	assert.Regexp(t, `ok\s+rewrap keys on B`, out)
	assert.Regexp(t, `ok\s+audit verify on B`, out)
}

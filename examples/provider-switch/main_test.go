package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/internal/testing/profiletest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// assertSwitched checks the report's real outcomes: every check passed, the
// last stack holds every record (verified on each hop), readable with its key
// alone, every result arrived there once, and its audit log verifies.
func assertSwitched(t *testing.T, rep *Report, stacks int) {
	t.Helper()
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	require.True(t, rep.OK(), "the switch failed; see the report above")
	require.Len(t, rep.Hops, stacks-1)
	n := int64(len(archive()))
	assert.Equal(t, n, rep.Records)
	for _, h := range rep.Hops {
		assert.NotNil(t, h.Plan, h.From)
		// Records and the audit log moved, and every object was re-read on
		// both sides.
		assert.Greater(t, h.Objects, n, h.From)
		assert.Equal(t, h.Objects, h.Verified, h.From)
		assert.Equal(t, n, h.Rewrapped, h.From)
		assert.GreaterOrEqual(t, h.Messages, int64(rep.Published+2), h.From)
		assert.Positive(t, h.AuditEntries, h.From)
	}
	assert.Equal(t, int(n), rep.ReadableWithLastKey, "records readable with the last stack's key only")
	assert.Equal(t, stacks-1, rep.EarlierKeysRefused, "earlier stacks' keys refused")
	assert.Equal(t, int64(6), rep.Delivered, "results arrived on the last stack's subscription")
	assert.Equal(t, int64(1), rep.Duplicates)
	assert.Equal(t, int64(1), rep.Quarantined)
	assert.True(t, rep.AuditOK)
	assert.Contains(t, out.String(), "PASS:")
}

// TestLocal: three local profiles (the no-flag default), local -> local ->
// local, in a temporary directory.
func TestLocal(t *testing.T) {
	ctx := testenv.Context(t)
	var usage bytes.Buffer
	opts, cleanup, err := parseArgs([]string{"-dir", t.TempDir(), "-until-idle", "1s"}, &usage)
	require.NoError(t, err)
	defer cleanup()
	require.Len(t, opts.Stacks, 3)
	t0 := time.Now()
	rep, err := Switch(ctx, opts)
	require.NoError(t, err)
	t.Logf("local switch took %s", time.Since(t0))
	assertSwitched(t, rep, 3)
	// The manifests are kept in the working directory.
	for i, h := range rep.Hops {
		_, err := os.Stat(h.Manifest)
		assert.NoError(t, err, "hop %d manifest", i+1)
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-stack", "only-one.json"}, &out)
	var u usageError
	require.ErrorAs(t, err, &u)
	assert.Contains(t, err.Error(), "at least two")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"profile":"aws","aws":{"regoin":"us-east-1"}}`), 0o600))
	err = run(context.Background(), []string{"-stack", bad, "-stack", bad}, &out)
	require.ErrorAs(t, err, &u)
	assert.Contains(t, err.Error(), "regoin")
}

// writeProfile writes c as a profile file, the way an office would keep it.
func writeProfile(t *testing.T, dir, name string, c profile.Config) string {
	t.Helper()
	data, err := json.MarshalIndent(c, "", "  ")
	require.NoError(t, err)
	f := filepath.Join(dir, name+".json")
	require.NoError(t, os.WriteFile(f, data, 0o600))
	return f
}

// TestServices: the path on the test services, each stack a profile
// file: aws (MinIO + local-kms + fauxqs SQS) -> gcp (fake-gcs-server + the
// in-repo fake Cloud KMS + pstest) -> onprem (versitygw + SoftHSM2 + NATS
// JetStream). Skips, naming the missing service, when one is down.
func TestServices(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the services run takes a while")
	}
	minio := testenv.MinIO(t)
	kms := testenv.LocalKMS(t)
	sqs := testenv.Fauxqs(t)
	gcs := testenv.FakeGCS(t)
	ps := testenv.PubSubFake(t)
	vgw := testenv.Versitygw(t)
	hsm := testenv.SoftHSM(t)
	n := testenv.NATS(t)
	t.Setenv("PKCS11_PIN", hsm.PIN)
	ctx := testenv.Context(t)
	dir := t.TempDir()

	aws := profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{
		Region:      minio.Region,
		Bucket:      minio.NewBucket(t),
		KMSKey:      kms.NewKey(t),
		QueueURL:    sqs.NewQueue(t),
		S3Endpoint:  minio.Endpoint(),
		KMSEndpoint: kms.Endpoint(),
		SQSEndpoint: sqs.Endpoint(),
	}}

	gcp := profiletest.GCP(t, gcs, ps)

	stream := n.StreamName("CP_SWITCH")
	n.DeleteStreamAtCleanup(t, stream)
	onprem := profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
		S3Endpoint:        vgw.Endpoint(),
		Bucket:            vgw.NewBucket(t),
		Region:            vgw.Region,
		PKCS11Module:      hsm.Module,
		PKCS11Token:       hsm.Token,
		PKCS11Key:         testenv.UniqueName("cp-switch"),
		PKCS11CreateKey:   true,
		Messaging:         "jetstream",
		JetStreamStream:   stream,
		JetStreamSubject:  n.Subject("cp.switch"),
		JetStreamConsumer: n.StreamName("tabulator"),
		JetStreamCreate:   true,
	}}

	args := []string{"-dir", dir,
		"-stack", writeProfile(t, dir, "county-aws", aws),
		"-stack", writeProfile(t, dir, "county-gcp", gcp),
		"-stack", writeProfile(t, dir, "county-onprem", onprem)}
	opts, cleanup, err := parseArgs(args, os.Stderr)
	require.NoError(t, err)
	defer cleanup()
	t0 := time.Now()
	rep, err := Switch(ctx, opts)
	require.NoError(t, err)
	t.Logf("services switch took %s", time.Since(t0))
	assertSwitched(t, rep, 3)
	assert.Equal(t, []string{profile.AWS, profile.GCP, profile.OnPrem},
		[]string{rep.Stacks[0].Profile, rep.Stacks[1].Profile, rep.Stacks[2].Profile})
}

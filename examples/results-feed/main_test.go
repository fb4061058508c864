package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/examples/internal/exmain"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/meta"
)

func runFeed(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(testenv.Context(t), args, &out)
	t.Logf("results-feed %s\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

// checkOutcome asserts what every run must show: the totals before and after
// the attack are the county's, the replay was dropped once, the forgery
// quarantined once, and nothing else was delivered.
func checkOutcome(t *testing.T, out string, precincts int, seed uint64, round string) {
	t.Helper()
	want := "totals      " + formatTotals(sum(syntheticResults("Example County", round, precincts, seed)))
	assert.Equal(t, 2, strings.Count(out, want+"\n"), "totals before and after the attack are what the county sent:\n%s", want)
	assert.Contains(t, out, "state       counted "+itoa(precincts)+" precinct results")
	assert.Contains(t, out, "replay      dropped by Dedup as a duplicate of results/example-county/"+round+"/P-"+pad(precincts))
	assert.Contains(t, out, "forgery     quarantined by Verify: bad signature")
	assert.Contains(t, out, "stats       delivered "+itoa(precincts)+", duplicates dropped 1, quarantined 1")
	assert.Contains(t, out, "result: OK: totals unchanged")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
func pad(n int) string  { s := itoa(n); return strings.Repeat("0", 4-len(s)) + s }

// TestLocalDefault: `go run ./examples/results-feed`, no server.
func TestLocalDefault(t *testing.T) {
	t.Setenv(profile.EnvProfile, "")
	out, err := runFeed(t, "-precincts", "25", "-seed", "7", "-round", "r1")
	require.NoError(t, err)
	assert.Contains(t, out, "profile:      local")
	checkOutcome(t, out, 25, 7, "r1")
	// The quarantined copy is held with the forged body (+5000 for the
	// second candidate) for review.
	r := syntheticResults("Example County", "r1", 25, 7)[24]
	assert.Contains(t, out, "quarantine  holds results/example-county/r1/P-0025 ("+candidates[1]+" "+itoa(r.Votes[candidates[1]]+5000)+" votes)")
}

// TestLocalTwiceInOneProcess: each run has its own in-process topic, so
// a second run (another round) is not disturbed by the first.
func TestLocalTwiceInOneProcess(t *testing.T) {
	t.Setenv(profile.EnvProfile, "")
	dir := t.TempDir()
	for _, round := range []string{"r1", "r2"} {
		out, err := runFeed(t, "-dir", dir, "-precincts", "5", "-round", round)
		require.NoError(t, err)
		checkOutcome(t, out, 5, 2026, round)
	}
}

func TestUsage(t *testing.T) {
	t.Setenv(profile.EnvProfile, "")
	for _, args := range [][]string{{"-precincts", "0"}, {"-quarantine-sub", "mem://x"}, {"extra"}} {
		_, err := runFeed(t, args...)
		assert.ErrorIs(t, err, exmain.ErrUsage, "%v", args)
	}
}

// TestAWSProfileSQS: the aws profile from a file, on MinIO, local-kms and
// fauxqs (SQS): the feed is an SQS queue and the quarantine a second
// queue, which the test reads afterwards: the forged message is held there,
// forged body, original id and the reason.
func TestAWSProfileSQS(t *testing.T) {
	s3 := testenv.MinIO(t)
	kms := testenv.LocalKMS(t)
	sqs := testenv.Fauxqs(t)
	t.Setenv(profile.EnvProfile, "")
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)

	cfg := profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{
		Region:      s3.Region,
		Bucket:      s3.NewBucket(t),
		KMSKey:      kms.NewKey(t),
		QueueURL:    sqs.NewQueue(t),
		S3Endpoint:  s3.Endpoint(),
		KMSEndpoint: kms.Endpoint(),
		SQSEndpoint: sqs.Endpoint(),
	}}
	data, err := json.Marshal(cfg)
	require.NoError(t, err)
	profileFile := filepath.Join(t.TempDir(), "civicport.json")
	require.NoError(t, os.WriteFile(profileFile, data, 0o600))
	quarantineQueue := sqs.NewQueue(t)

	out, err := runFeed(t, "-profile", profileFile, "-quarantine", sqs.TopicURLForQueue(quarantineQueue),
		"-precincts", "12", "-seed", "3", "-round", "sqs", "-timeout", "45s")
	require.NoError(t, err)
	assert.Contains(t, out, "profile:      aws")
	checkOutcome(t, out, 12, 3, "sqs")

	ctx, cancel := context.WithTimeout(testenv.Context(t), 30*time.Second)
	defer cancel()
	held, err := pubsub.OpenSubscription(ctx, sqs.SubscriptionURL(quarantineQueue))
	require.NoError(t, err)
	defer held.Shutdown(context.Background())
	m, err := held.Receive(ctx)
	require.NoError(t, err, "the forged message is in the quarantine queue")
	m.Ack()
	assert.Equal(t, "results/example-county/sqs/P-0012", m.Metadata[meta.ID])
	assert.Contains(t, m.Metadata[meta.QuarantineReason], "bad signature")
	var got Result
	require.NoError(t, json.Unmarshal(m.Body, &got))
	want := syntheticResults("Example County", "sqs", 12, 3)[11]
	assert.Equal(t, want.Votes[candidates[1]]+5000, got.Votes[candidates[1]], "the forged body is kept for review")
}

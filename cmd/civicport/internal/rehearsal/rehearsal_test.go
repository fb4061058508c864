package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/cmd/civicport/internal/electiondata"
	"github.com/civicport/civicport/internal/testing/testenv"
)

var small = electiondata.Options{Shards: 2, VotersPer: 50, Precincts: 5, Scans: 3, ScanSize: 64 << 10}

func TestRunPasses(t *testing.T) {
	rep, err := Run(context.Background(), Options{Dir: t.TempDir(), Data: small})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep.Steps)
	assert.Len(t, rep.Steps, 12)
	require.NotNil(t, rep.Plan)
	assert.Empty(t, rep.Plan.Lost)
	assert.NotEmpty(t, rep.Plan.Kept)
	assert.Equal(t, int64(10), rep.Records)
	assert.Greater(t, rep.Objects, int64(10), "the audit log moves with the records")
	assert.Equal(t, int64(5+2), rep.Messages, "5 results, a replay and a forgery bridged")
	var out bytes.Buffer
	rep.Print(&out)
	t.Log(out.String())
	assert.Contains(t, out.String(), "PASS: 10/12 checks passed (2 not enforceable by these providers)")
	for _, s := range rep.Steps {
		if s.NA {
			assert.Contains(t, s.Name, "retention", "only retention may be unenforceable on directories")
		}
	}
}

func TestRunRefusesNonEmptyBucket(t *testing.T) {
	dir := t.TempDir()
	_, err := Run(context.Background(), Options{Dir: dir, Data: small})
	require.NoError(t, err)
	_, err = Run(context.Background(), Options{Dir: t.TempDir(), FromURL: "file://" + dir + "/provider-a", Data: small})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not empty")
}

func TestReportFailsWhenAStepFails(t *testing.T) {
	rep := &Report{Steps: []Step{{Name: "a", OK: true}, {Name: "b", OK: false, Detail: "boom"}}}
	assert.False(t, rep.OK())
	var out bytes.Buffer
	rep.Print(&out)
	assert.Contains(t, out.String(), "FAIL: 1/2 checks passed")
	assert.False(t, (&Report{}).OK(), "a report with no steps proves nothing")
}

func TestRunHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, Options{Dir: t.TempDir(), Data: small})
	if err == nil {
		assert.False(t, rep.OK())
	} else {
		assert.True(t, errors.Is(err, context.Canceled), err)
	}
}

// mem -> file loses capabilities (file:// cannot hold some keys); the
// rehearsal says so and fails, and still rehearses the move.
// A source that enforces retention (a MinIO object-lock bucket), moved to
// the embedded file:// target, which has none. (mem:// and file:// measure
// the same since file:// round-trips the special keys.)
func TestRunReportsLostCapabilities(t *testing.T) {
	s := testenv.MinIO(t)
	rep, err := Run(context.Background(), Options{Dir: t.TempDir(), FromURL: s.S3URL(s.NewBucket(t, testenv.WithObjectLock())), Data: small})
	require.NoError(t, err)
	assert.False(t, rep.OK())
	require.NotNil(t, rep.Plan)
	assert.NotEmpty(t, rep.Plan.Lost)
	assert.False(t, rep.Steps[0].OK)
	assert.Contains(t, rep.Steps[0].Detail, "the switch would lose")
	assert.Contains(t, rep.Steps[0].Detail, "retention_governance")
	assert.True(t, rep.Steps[1].OK, "the move is rehearsed anyway")
}

func TestRunRefusesOneProviderTwice(t *testing.T) {
	dir := t.TempDir()
	p := &Provider{Name: "A", BucketURL: "file://" + dir + "/a", KeeperURL: "base64key://", TopicURL: "mem://one", SubscriptionURL: "mem://one"}
	q := *p
	q.BucketURL = "file://" + dir + "/b"
	_, err := Run(context.Background(), Options{Dir: t.TempDir(), From: p, To: &q, Data: small})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "providers A and B use the same topic (mem://one)")

	q = *p
	_, err = Run(context.Background(), Options{Dir: t.TempDir(), From: p, To: &q, Data: small})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the same bucket")
}

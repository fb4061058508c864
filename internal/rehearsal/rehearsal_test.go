package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/internal/electiondata"
)

var small = electiondata.Options{Shards: 2, VotersPer: 50, Precincts: 5, Scans: 3, ScanSize: 64 << 10}

func TestRunPasses(t *testing.T) {
	rep, err := Run(context.Background(), Options{Dir: t.TempDir(), Data: small})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep.Steps)
	assert.Len(t, rep.Steps, 4)
	assert.Equal(t, int64(10), rep.Objects)
	var out bytes.Buffer
	rep.Print(&out)
	assert.Contains(t, out.String(), "PASS: 4/4 checks passed")
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

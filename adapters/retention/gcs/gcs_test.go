package gcs_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	_ "github.com/civicport/civicport/adapters/retention/gcs"
	"github.com/civicport/civicport/adapters/retention/internal/retentiontest"
	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func openFakeGCS(t *testing.T) *blob.Bucket {
	g := testenv.FakeGCS(t)
	b, err := cpblob.Open(t.Context(), g.GSURL(g.NewBucket(t)))
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// fake-gcs-server (v1.56.1) is not a WORM store, and this test pins down
// how, so that a change of the server shows: buckets cannot be created
// with object retention (Supported says ErrNotEnabled); yet the server
// stores an object retention it is given and refuses to change a "Locked"
// one, but deletes the object anyway; temporary holds are ignored (they
// read back as off). Real GCS enforces all of these; the GCS mapping
// (Unlocked/Locked retention, temporary hold, OverrideUnlockedRetention)
// is only exercised against this fake here.
func TestFakeGCSDoesNotEnforce(t *testing.T) {
	ctx := t.Context()
	b := openFakeGCS(t)

	err := retention.Supported(ctx, b)
	assert.ErrorIs(t, err, retention.ErrNotEnabled)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
	assert.ErrorContains(t, err, `object retention mode ""`)
	require.NoError(t, retention.LegalHoldSupported(ctx, b), "every GCS bucket has holds")

	const key = "precinct 7/cvr.json"
	v := retentiontest.Write(t, b, key, []byte("cvr"))

	// Retention is stored and read back, through the generation too ...
	until := time.Now().Add(time.Hour)
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Compliance, Until: until}))
	r, err := retention.Get(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.Equal(t, retention.Compliance, r.Mode)
	assert.WithinDuration(t, until, r.Until, time.Second)
	// ... a Locked retention cannot be shortened ...
	err = retention.Set(ctx, b, key, retention.Retention{Mode: retention.Compliance, Until: time.Now().Add(time.Minute)}, retention.BypassGovernance())
	assert.Error(t, err, "shortening a Locked retention")
	// ... but the object can be deleted: not enforced.
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v)))
	ok, err := b.Exists(ctx, key)
	require.NoError(t, err)
	assert.False(t, ok, "fake-gcs-server deleted an object under Locked retention")

	// A temporary hold is accepted and ignored.
	const held = "held.json"
	retentiontest.Write(t, b, held, []byte("x"))
	require.NoError(t, retention.SetLegalHold(ctx, b, held, true))
	on, err := retention.LegalHold(ctx, b, held)
	require.NoError(t, err)
	assert.False(t, on, "fake-gcs-server ignores temporary holds")
}

// Governance is GCS's Unlocked retention: shortening needs the override.
func TestFakeGCSUnlockedRetention(t *testing.T) {
	ctx := t.Context()
	b := openFakeGCS(t)
	const key = "k"
	v := retentiontest.Write(t, b, key, []byte("x"))
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)}, retention.VersionID(v)))
	r, err := retention.Get(ctx, b, key)
	require.NoError(t, err)
	assert.Equal(t, retention.Governance, r.Mode)
	// Bypassed delete removes the Unlocked retention first, then deletes
	// the generation.
	require.NoError(t, retention.Delete(ctx, b, key, retention.BypassGovernance()))
	_, err = retention.Get(ctx, b, key, retention.VersionID(v))
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	_, err = retention.Get(ctx, b, key, retention.VersionID("not-a-generation"))
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err), "%v", err)
}

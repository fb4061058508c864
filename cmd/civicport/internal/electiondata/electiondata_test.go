package electiondata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/blob/migrate"
)

func TestGenerateIsDeterministic(t *testing.T) {
	ctx := context.Background()
	opts := Options{Shards: 2, VotersPer: 10, Precincts: 3, Scans: 2, ScanSize: 4096}
	a, b := memblob.OpenBucket(nil), memblob.OpenBucket(nil)
	sa, err := Generate(ctx, a, opts)
	require.NoError(t, err)
	sb, err := Generate(ctx, b, opts)
	require.NoError(t, err)
	assert.Equal(t, sa, sb)
	assert.Equal(t, int64(7), sa.Objects)
	rep, err := migrate.Verify(ctx, a, b, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)

	c := memblob.OpenBucket(nil)
	opts.Seed = 7
	_, err = Generate(ctx, c, opts)
	require.NoError(t, err)
	rep, err = migrate.Verify(ctx, a, c, nil)
	require.NoError(t, err)
	assert.False(t, rep.OK(), "another seed gives other data")

	csv, err := a.ReadAll(ctx, "registration/shard-000.csv")
	require.NoError(t, err)
	assert.Contains(t, string(csv), "voter_id,first_name,last_name,precinct,registered,status\n1,")
	attrs, err := a.Attributes(ctx, "ballots/scan-0001.tif")
	require.NoError(t, err)
	assert.Equal(t, int64(4096), attrs.Size)
	assert.Equal(t, "image/tiff", attrs.ContentType)
}

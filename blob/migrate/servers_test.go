package migrate_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// TestMigrateAcrossServers carries one dataset through every kind of server
// the test services run, MinIO -> SeaweedFS -> Azurite -> versitygw, and
// checks the last copy offline against the first hop's manifest: content,
// size, content type and metadata survive each provider switch.
func TestMigrateAcrossServers(t *testing.T) {
	ctx := testenv.Context(t)
	minio, seaweed, versity := testenv.MinIO(t), testenv.SeaweedFS(t), testenv.Versitygw(t)
	az := testenv.Azurite(t)
	hops := []string{
		minio.S3URL(minio.NewBucket(t)),
		seaweed.S3URL(seaweed.NewBucket(t)),
		az.URL(az.NewContainer(t)),
		versity.S3URL(versity.NewBucket(t)),
	}
	objs := seed(t, open(t, hops[0]))
	var first bytes.Buffer
	for i := 1; i < len(hops); i++ {
		src, dst := open(t, hops[i-1]), open(t, hops[i])
		var m bytes.Buffer
		sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &m})
		require.NoError(t, err, "hop %d", i)
		require.NoError(t, sum.Err(), "hop %d: %s", i, sum)
		assert.Equal(t, int64(len(objs)), sum.Copied, "hop %d: %s", i, sum)
		if i == 1 {
			first = m
		}
	}
	entries, err := migrate.ReadManifest(&first)
	require.NoError(t, err)
	require.Len(t, entries, len(objs))
	rep, err := migrate.VerifyManifest(ctx, open(t, hops[len(hops)-1]), entries, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep)
	assert.Equal(t, int64(len(objs)), rep.Verified)
}

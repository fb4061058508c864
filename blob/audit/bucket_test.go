package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/internal/blobcopy"
)

// An insider at the records' provider changes the bucket behind the log's
// back: writes an object around the wrapper, rewrites one in place (its
// metadata too: CheckBucket hashes the bytes), deletes one, and restores
// one the log deleted. CheckBucket names each; a clean bucket is OK.
func TestCheckBucketFindsChangesAroundTheLog(t *testing.T) {
	ctx := context.Background()
	logBucket := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	log, err := audit.Open(ctx, logBucket, nil, nil)
	require.NoError(t, err)
	raw := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	b := audit.Wrap(raw, log, "records")
	for _, k := range []string{"a.csv", "b.csv", "c.csv", "d.csv"} {
		require.NoError(t, blobcopy.Put(ctx, b, k, []byte("votes for "+k), nil))
	}
	require.NoError(t, b.Copy(ctx, "a-copy.csv", "a.csv", nil))
	require.NoError(t, b.Delete(ctx, "d.csv"))
	// Another bucket's entries in the same log are not this bucket's.
	other := audit.Wrap(memblob.OpenBucket(&memblob.Options{NoMD5: true}), log, "other")
	require.NoError(t, blobcopy.Put(ctx, other, "z.csv", []byte("z"), nil))

	rep, err := audit.CheckBucket(ctx, logBucket, raw, "records")
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.EqualValues(t, 12, rep.Entries)
	assert.EqualValues(t, 4, rep.Objects)
	assert.EqualValues(t, 4, rep.Hashed, "the copy's hash is its source's")

	require.NoError(t, blobcopy.Put(ctx, raw, "planted.csv", []byte("x"), nil))
	require.NoError(t, blobcopy.Put(ctx, raw, "b.csv", []byte("votes for b.csv, altered"), nil))
	require.NoError(t, raw.Delete(ctx, "c.csv"))
	require.NoError(t, blobcopy.Put(ctx, raw, "d.csv", []byte("votes for d.csv"), nil))
	require.NoError(t, blobcopy.Put(ctx, raw, "a-copy.csv", []byte("a copy, altered"), nil))

	rep, err = audit.CheckBucket(ctx, logBucket, raw, "records")
	require.NoError(t, err)
	var got []string
	for _, p := range rep.Problems {
		got = append(got, string(p.Kind)+" "+p.Object)
	}
	assert.Equal(t, []string{"changed a-copy.csv", "changed b.csv", "gone c.csv", "unlogged d.csv", "unlogged planted.csv"}, got)
	assert.Contains(t, rep.Problems[1].String(), "entry 3 recorded ")
	assert.Contains(t, rep.Problems[3].String(), "the log deleted it at entry 11")

	// A log with an entry removed is not read as a shorter log.
	require.NoError(t, logBucket.Delete(ctx, audit.EntryKey(2)))
	_, err = audit.CheckBucket(ctx, logBucket, raw, "records")
	require.ErrorIs(t, err, audit.ErrDamaged)
}

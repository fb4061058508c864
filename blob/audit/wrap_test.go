package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func TestWrapRecordsEveryChange(t *testing.T) {
	ctx := context.Background()
	signer, verifier := testenv.NoteKeys(t, "county-clerk")
	logBucket := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	log, err := audit.Open(ctx, logBucket, signer, nil)
	require.NoError(t, err)

	b := audit.Wrap(memblob.OpenBucket(&memblob.Options{NoMD5: true}), log, "records")
	require.NoError(t, blobcopy.Put(ctx, b, "results/p1.json", []byte(`{"votes":3}`), nil))
	require.NoError(t, b.Copy(ctx, "results/p1-copy.json", "results/p1.json", nil))
	require.NoError(t, b.Delete(ctx, "results/p1-copy.json"))
	_, err = b.ReadAll(ctx, "results/p1.json")
	require.NoError(t, err, "reads are not recorded")
	_, err = log.Checkpoint(ctx)
	require.NoError(t, err)

	rep, err := audit.Verify(ctx, logBucket, verifier, nil)
	require.NoError(t, err)
	require.Equal(t, int64(6), rep.Entries, "an intent and a record per change: %+v", rep)
	var ops []string
	for i := range int64(6) {
		_, _, entry, err := log.Prove(ctx, i)
		require.NoError(t, err)
		e, err := audit.ParseEntry(entry)
		require.NoError(t, err)
		assert.Equal(t, "records", e.Bucket)
		ops = append(ops, e.Operation+" "+e.Key)
		if i == 1 {
			sum := sha256.Sum256([]byte(`{"votes":3}`))
			assert.Equal(t, hex.EncodeToString(sum[:]), e.SHA256)
		}
	}
	assert.Equal(t, []string{
		"intent write results/p1.json", "write results/p1.json",
		"intent copy from results/p1.json results/p1-copy.json", "copy from results/p1.json results/p1-copy.json",
		"intent delete results/p1-copy.json", "delete results/p1-copy.json",
	}, ops)
}

type failing struct{}

func (failing) Record(context.Context, string, string, string, string) error {
	return errors.New("log bucket unreachable")
}

func TestWrapRefusesChangeWhoseIntentIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	mem := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	b := audit.Wrap(mem, failing{}, "records")
	err := blobcopy.Put(ctx, b, "k", []byte("x"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `write "k" not done: its intent could not be recorded in the audit log: log bucket unreachable`)
	ok, err := mem.Exists(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok, "nothing written")
}

// failAfter records the first n calls in log, then fails: the process
// "dies" between a change and its record.
type failAfter struct {
	log *audit.Log
	n   int
}

func (f *failAfter) Record(ctx context.Context, op, bucket, key, sum string) error {
	if f.n == 0 {
		return errors.New("killed")
	}
	f.n--
	return f.log.Record(ctx, op, bucket, key, sum)
}

func TestWrapFailsLoudlyWhenNotRecorded(t *testing.T) {
	ctx := context.Background()
	logBucket := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	log, err := audit.Open(ctx, logBucket, nil, nil)
	require.NoError(t, err)
	mem := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	b := audit.Wrap(mem, &failAfter{log: log, n: 1}, "records")
	err = blobcopy.Put(ctx, b, "k", []byte("x"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `write "k" succeeded but was not recorded in the audit log: killed`)

	// The crash between the write and its record is visible.
	rep, err := audit.CheckBucket(ctx, logBucket, mem, "records")
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1, "%v", rep.Problems)
	assert.Equal(t, audit.Unfinished, rep.Problems[0].Kind)
	assert.Equal(t, "k", rep.Problems[0].Object)
	assert.Contains(t, rep.Problems[0].String(), "intent write at entry 0 has no completion")
}

package audit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/internal/blobcopy"
)

func TestWrapRecordsEveryChange(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(rand.Reader, "county-clerk")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
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
	require.Equal(t, int64(3), rep.Entries, "%+v", rep)
	_, _, entry, err := log.Prove(ctx, 0)
	require.NoError(t, err)
	e, err := audit.ParseEntry(entry)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(`{"votes":3}`))
	assert.Equal(t, "write", e.Operation)
	assert.Equal(t, "records", e.Bucket)
	assert.Equal(t, "results/p1.json", e.Key)
	assert.Equal(t, hex.EncodeToString(sum[:]), e.SHA256)
}

type failing struct{}

func (failing) Record(context.Context, string, string, string, string) error {
	return errors.New("log bucket unreachable")
}

func TestWrapFailsLoudlyWhenNotRecorded(t *testing.T) {
	ctx := context.Background()
	mem := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	b := audit.Wrap(mem, failing{}, "records")
	err := blobcopy.Put(ctx, b, "k", []byte("x"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `write "k" succeeded but was not recorded in the audit log: log bucket unreachable`)
}

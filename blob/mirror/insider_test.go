package mirror_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/mirror"
	"github.com/civicport/civicport/internal/testing/testenv"
)

const (
	honest = "precinct 0001: 412 ballots"
	forged = "precinct 0001: 999 ballots"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// insiderCopies writes the honest record to n copies through the mirror,
// then, as an insider at copy 0's provider would, rewrites copy 0's bytes
// and its recorded SHA-256 so that copy 0 is consistent with itself.
func insiderCopies(t *testing.T, n int) []*gcblob.Bucket {
	t.Helper()
	ctx := testenv.Context(t)
	copies, _ := fileCopies(t, n)
	m, err := mirror.New(copies, nil)
	require.NoError(t, err)
	require.NoError(t, m.WriteAll(ctx, "results/0001.txt", []byte(honest), nil))
	require.NoError(t, copies[0].WriteAll(ctx, "results/0001.txt", []byte(forged), &gcblob.WriterOptions{
		Metadata: map[string]string{digest.MetadataKey: sum(forged)},
	}))
	return copies
}

func read(t *testing.T, b *gcblob.Bucket) string {
	t.Helper()
	got, err := b.ReadAll(testenv.Context(t), "results/0001.txt")
	require.NoError(t, err)
	return string(got)
}

// The forged copy is outvoted: scrub repairs copy 0 from the other two and
// never copies the forgery over them.
func TestScrubOutvotesSelfConsistentForgery(t *testing.T) {
	copies := insiderCopies(t, 3)
	rep, err := mirror.Scrub(testenv.Context(t), copies, nil)
	require.NoError(t, err)
	require.Len(t, rep.Repairs, 1, "%+v", rep)
	assert.Equal(t, "copy 0", rep.Repairs[0].Copy)
	for i, c := range copies {
		assert.Equal(t, honest, read(t, c), "copy %d", i)
	}
}

// Two copies that each agree with themselves and disagree with each other,
// and no trusted evidence: a conflict, reported, and nothing is rewritten.
func TestScrubReportsConflictWithoutEvidence(t *testing.T) {
	copies := insiderCopies(t, 2)
	rep, err := mirror.Scrub(testenv.Context(t), copies, nil)
	require.NoError(t, err)
	assert.Empty(t, rep.Repairs)
	require.Len(t, rep.Unresolved, 1)
	assert.Contains(t, rep.Unresolved[0].Reason, "conflict")
	assert.False(t, rep.OK())
	assert.Equal(t, forged, read(t, copies[0]))
	assert.Equal(t, honest, read(t, copies[1]))
}

// With the signed manifest's hashes as evidence, the copy that matches it
// wins, even against a majority of forged copies.
func TestScrubTrustsExpectedOverMajority(t *testing.T) {
	ctx := testenv.Context(t)
	copies := insiderCopies(t, 3)
	require.NoError(t, copies[1].WriteAll(ctx, "results/0001.txt", []byte(forged), &gcblob.WriterOptions{
		Metadata: map[string]string{digest.MetadataKey: sum(forged)},
	}))
	expected := func(key string) (string, bool) {
		if key == "results/0001.txt" {
			return sum(honest), true
		}
		return "", false
	}
	rep, err := mirror.Scrub(ctx, copies, &mirror.ScrubOptions{Expected: expected})
	require.NoError(t, err)
	require.Len(t, rep.Repairs, 2, "%+v", rep)
	for i, c := range copies {
		assert.Equal(t, honest, read(t, c), "copy %d", i)
	}

	// No copy holds what the evidence says: nothing is rewritten.
	require.NoError(t, copies[2].WriteAll(ctx, "results/0001.txt", []byte(forged), nil))
	require.NoError(t, copies[0].WriteAll(ctx, "results/0001.txt", []byte(forged), nil))
	require.NoError(t, copies[1].WriteAll(ctx, "results/0001.txt", []byte(forged), nil))
	rep, err = mirror.Scrub(ctx, copies, &mirror.ScrubOptions{Expected: expected})
	require.NoError(t, err)
	require.Len(t, rep.Unresolved, 1)
	assert.Contains(t, rep.Unresolved[0].Reason, "no copy holds the expected sha256")
}

package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/secrets/localsecrets"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/testing/testenv"
)

const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// clock returns increasing times one second apart.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 3, 7, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// fixture is a log of n entries in a mem bucket with a checkpoint signed
// after every append (so every tree size is signed).
type fixture struct {
	ctx context.Context
	b   *blob.Bucket
	log *audit.Log
	v   note.Verifier
}

func newFixture(t *testing.T, n int, checkpointAt func(size int64) bool) *fixture {
	t.Helper()
	ctx := context.Background()
	b := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	t.Cleanup(func() { b.Close() })
	s, v := testenv.NoteKeys(t, "civicport.test/audit")
	l, err := audit.Open(ctx, b, s, &audit.Options{Actor: "clerk@county.example", Now: clock()})
	require.NoError(t, err)
	for i := range n {
		idx, err := l.Append(ctx, audit.Entry{Operation: "write", Bucket: "ballots", Key: fmt.Sprintf("precinct-%02d.csv", i), SHA256: sum})
		require.NoError(t, err)
		require.Equal(t, int64(i), idx)
		if checkpointAt == nil || checkpointAt(idx+1) {
			_, err = l.Checkpoint(ctx)
			require.NoError(t, err)
		}
	}
	return &fixture{ctx: ctx, b: b, log: l, v: v}
}

func (f *fixture) verify(t *testing.T) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(f.ctx, f.b, f.v, nil)
	require.NoError(t, err)
	return rep
}

func (f *fixture) read(t *testing.T, key string) []byte {
	t.Helper()
	data, err := f.b.ReadAll(f.ctx, key)
	require.NoError(t, err)
	return data
}

func (f *fixture) put(t *testing.T, key string, data []byte) {
	t.Helper()
	require.NoError(t, blobcopy.Put(f.ctx, f.b, key, data, nil))
}

func (f *fixture) del(t *testing.T, key string) {
	t.Helper()
	require.NoError(t, f.b.Delete(f.ctx, key))
}

func hashKey(i int64) string { return fmt.Sprintf("hashes/%016d", i) }

// has reports whether rep has a problem of kind about entry index.
func has(rep *audit.Report, kind audit.Kind, index int64) bool {
	for _, p := range rep.Problems {
		if p.Kind == kind && p.Index == index {
			return true
		}
	}
	return false
}

func TestCleanLogVerifies(t *testing.T) {
	f := newFixture(t, 10, nil)
	rep := f.verify(t)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, int64(-1), rep.FirstBad)
	assert.Equal(t, int64(10), rep.Entries)
	assert.Equal(t, int64(10), rep.TreeSize)
	assert.Equal(t, 11, rep.Checkpoints) // checkpoints/1..10 and checkpoint
	assert.True(t, rep.SignaturesChecked)
	assert.Equal(t, "civicport.test/audit", rep.Origin)

	// The root is plain RFC 6962 over the entry objects' bytes: recompute
	// it with tlog alone, as an auditor would.
	var hashes []tlog.Hash
	hr := memHashes(&hashes)
	for i := range int64(10) {
		h, err := tlog.StoredHashes(i, f.read(t, audit.EntryKey(i)), hr)
		require.NoError(t, err)
		hashes = append(hashes, h...)
	}
	root, err := tlog.TreeHash(10, hr)
	require.NoError(t, err)
	assert.Equal(t, root, rep.RootHash)

	// The latest checkpoint is a standard signed note.
	n, err := note.Open(f.read(t, "checkpoint"), note.VerifierList(f.v))
	require.NoError(t, err)
	assert.Equal(t, "civicport.test/audit\n10\n"+root.String()+"\n", n.Text)

	// An entry is one line of JSON with the fields the issue asks for.
	e := string(f.read(t, audit.EntryKey(1)))
	assert.Regexp(t, `^\{"index":1,"time":"2026-11-03T07:00:02Z","actor":"clerk@county.example","op":"write","bucket":"ballots","key":"precinct-01.csv","sha256":"`+sum+`","prev":"[A-Za-z0-9+/]{43}="\}\n$`, e)
}

func TestEmptyLogVerifies(t *testing.T) {
	f := newFixture(t, 0, nil)
	rep := f.verify(t)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, int64(0), rep.Entries)
}

func TestEditedEntry(t *testing.T) {
	f := newFixture(t, 10, nil)
	e := f.read(t, audit.EntryKey(3))
	f.put(t, audit.EntryKey(3), []byte(strings.Replace(string(e), "precinct-03", "precinct-33", 1)))

	rep := f.verify(t)
	assert.False(t, rep.OK())
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Altered, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.ChainBroken, 4), "%v", rep.Problems)
	assert.True(t, has(rep, audit.RootMismatch, -1), "%v", rep.Problems)
}

func TestRemovedEntry(t *testing.T) {
	f := newFixture(t, 10, nil)
	f.del(t, audit.EntryKey(3))
	f.del(t, hashKey(3))

	rep := f.verify(t)
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Missing, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.Truncated, 3), "signed checkpoints cover entries past the gap: %v", rep.Problems)
	assert.Equal(t, int64(3), rep.Entries)
}

func TestRemovedEntryRenumbered(t *testing.T) {
	f := newFixture(t, 10, nil)
	all := entries(t, f, 10)
	for i := int64(3); i < 9; i++ { // 4..9 move down to 3..8
		f.put(t, audit.EntryKey(i), all[i+1])
	}
	f.del(t, audit.EntryKey(9))

	rep := f.verify(t)
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Misplaced, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.ChainBroken, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.Truncated, 9), "%v", rep.Problems)
}

func TestReorderedEntries(t *testing.T) {
	f := newFixture(t, 10, nil)
	e3, e5 := f.read(t, audit.EntryKey(3)), f.read(t, audit.EntryKey(5))
	f.put(t, audit.EntryKey(3), e5)
	f.put(t, audit.EntryKey(5), e3)

	rep := f.verify(t)
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Misplaced, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.Misplaced, 5), "%v", rep.Problems)
}

// memHashes reads tlog's stored hashes from *hashes, as the slice is at each
// read.
func memHashes(hashes *[]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = (*hashes)[x]
		}
		return out, nil
	})
}

// forge rewrites entries from..end as a careful forger would: each
// entry's index and prev, and its recorded hashes, made to agree, so only
// the signed checkpoints can tell.
func forge(t *testing.T, f *fixture, entries [][]byte, from int64) {
	t.Helper()
	var hashes []tlog.Hash
	hr := memHashes(&hashes)
	var prev tlog.Hash
	for i, data := range entries {
		idx := int64(i)
		if idx >= from {
			e, err := audit.ParseEntry(data)
			require.NoError(t, err)
			old := fmt.Sprintf(`"index":%d,`, e.Index)
			s := strings.Replace(string(data), old, fmt.Sprintf(`"index":%d,`, idx), 1)
			s = strings.Replace(s, `"prev":"`+e.Prev.String()+`"`, `"prev":"`+prev.String()+`"`, 1)
			data = []byte(s)
			f.put(t, audit.EntryKey(idx), data)
		}
		h, err := tlog.StoredHashes(idx, data, hr)
		require.NoError(t, err)
		hashes = append(hashes, h...)
		if idx >= from {
			var buf []byte
			for _, x := range h {
				buf = append(buf, x[:]...)
			}
			f.put(t, hashKey(idx), buf)
		}
		prev = tlog.RecordHash(data)
	}
}

func entries(t *testing.T, f *fixture, n int64) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, f.read(t, audit.EntryKey(i)))
	}
	return out
}

func TestInsertedEntry(t *testing.T) {
	f := newFixture(t, 10, nil)
	all := entries(t, f, 10)
	fake := []byte(strings.Replace(string(all[3]), "precinct-03", "precinct-99", 1))
	// Insert the fake as entry 3 and renumber 3..9 to 4..10 (object names
	// only: a crude forger).
	for i := int64(9); i >= 3; i-- {
		f.put(t, audit.EntryKey(i+1), all[i])
	}
	f.put(t, audit.EntryKey(3), fake)

	rep := f.verify(t)
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Altered, 3), "%v", rep.Problems)
	assert.True(t, has(rep, audit.Misplaced, 4), "%v", rep.Problems)
}

func TestInsertedEntryCarefulForger(t *testing.T) {
	f := newFixture(t, 10, nil)
	all := entries(t, f, 10)
	fake := []byte(strings.Replace(string(all[3]), "precinct-03", "precinct-99", 1))
	forged := append(append(append([][]byte{}, all[:3]...), fake), all[3:]...)
	forge(t, f, forged, 3)

	rep := f.verify(t)
	assert.Equal(t, int64(3), rep.FirstBad, "%v", rep.Problems)
	// Only the signatures catch this one.
	for _, p := range rep.Problems {
		assert.Contains(t, []audit.Kind{audit.RootMismatch}, p.Kind, "%v", p)
	}
	assert.True(t, has(rep, audit.RootMismatch, 3), "%v", rep.Problems)
}

func TestEditedEntryCarefulForgerSparseCheckpoints(t *testing.T) {
	f := newFixture(t, 10, func(size int64) bool { return size == 2 || size == 10 })
	all := entries(t, f, 10)
	all[5] = []byte(strings.Replace(string(all[5]), "precinct-05", "precinct-55", 1))
	forge(t, f, all, 5)

	rep := f.verify(t)
	// Checkpoint 2 matches and 10 does not: the first entry not proven is 2.
	assert.Equal(t, int64(2), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.RootMismatch, 2), "%v", rep.Problems)
}

func TestTruncatedTail(t *testing.T) {
	f := newFixture(t, 10, nil)
	for i := int64(8); i < 10; i++ {
		f.del(t, audit.EntryKey(i))
		f.del(t, hashKey(i))
	}
	rep := f.verify(t)
	assert.Equal(t, int64(8), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Truncated, 8), "%v", rep.Problems)
	assert.Equal(t, int64(8), rep.Entries)
}

func TestTruncatedTailWithCheckpointsRemovedToo(t *testing.T) {
	// Removing the newer checkpoints as well leaves an older, honest log:
	// nothing the bucket holds can tell. The latest tree size a relying
	// party has seen must be kept elsewhere (Report.TreeSize says which).
	f := newFixture(t, 10, nil)
	for i := int64(8); i < 10; i++ {
		f.del(t, audit.EntryKey(i))
		f.del(t, hashKey(i))
		f.del(t, fmt.Sprintf("checkpoints/%016d", i+1))
	}
	f.del(t, "checkpoint")
	rep := f.verify(t)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, int64(8), rep.TreeSize)
}

func TestForgedCheckpoint(t *testing.T) {
	f := newFixture(t, 10, nil)
	// Claim a different tree under the old signature.
	cp := string(f.read(t, "checkpoint"))
	forged := strings.Replace(cp, "\n10\n", "\n9\n", 1)
	require.NotEqual(t, cp, forged)
	f.put(t, "checkpoint", []byte(forged))

	rep := f.verify(t)
	require.Len(t, rep.Problems, 1, "%v", rep.Problems)
	assert.Equal(t, audit.BadSignature, rep.Problems[0].Kind)
	assert.Equal(t, "checkpoint", rep.Problems[0].Object)

	// Without a verifier the signature is not checked, and the edited
	// checkpoint is a root mismatch instead.
	rep, err := audit.Verify(f.ctx, f.b, nil, nil)
	require.NoError(t, err)
	assert.False(t, rep.SignaturesChecked)
	assert.True(t, has(rep, audit.RootMismatch, -1), "%v", rep.Problems)
}

func TestCheckpointFromAnotherKey(t *testing.T) {
	f := newFixture(t, 10, nil)
	other, _ := testenv.NoteKeys(t, "civicport.test/audit") // same name, another key
	cp, err := note.Open(f.read(t, "checkpoint"), note.VerifierList(f.v))
	require.NoError(t, err)
	msg, err := note.Sign(&note.Note{Text: cp.Text}, other)
	require.NoError(t, err)
	f.put(t, "checkpoints/0000000000000010", msg)

	rep := f.verify(t)
	require.Len(t, rep.Problems, 1, "%v", rep.Problems)
	assert.Equal(t, audit.WrongKey, rep.Problems[0].Kind)
	assert.Equal(t, "checkpoints/0000000000000010", rep.Problems[0].Object)
}

func TestOpenRefusesDamagedLog(t *testing.T) {
	f := newFixture(t, 5, nil)
	e := f.read(t, audit.EntryKey(2))
	f.put(t, audit.EntryKey(2), []byte(strings.Replace(string(e), "precinct-02", "precinct-22", 1)))
	_, err := audit.Open(f.ctx, f.b, nil, nil)
	assert.ErrorIs(t, err, audit.ErrDamaged)
	assert.ErrorContains(t, err, audit.EntryKey(3))
}

func TestOpenRefusesLogWithGap(t *testing.T) {
	f := newFixture(t, 5, nil)
	f.del(t, audit.EntryKey(2))
	// Appending would fill the hole at 2 and so hide the removal.
	_, err := audit.Open(f.ctx, f.b, nil, nil)
	assert.ErrorIs(t, err, audit.ErrDamaged)
	assert.ErrorContains(t, err, audit.EntryKey(2)+" is missing")
}

func TestReopenAndAppend(t *testing.T) {
	f := newFixture(t, 3, nil)
	l, err := audit.Open(f.ctx, f.b, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(3), l.Size())
	require.NoError(t, l.Record(f.ctx, "delete", "ballots", "precinct-01.csv", ""))
	_, err = l.Checkpoint(f.ctx)
	assert.ErrorIs(t, err, audit.ErrNoSigner)
	rep := f.verify(t)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, int64(4), rep.Entries)
	assert.Equal(t, int64(1), rep.Unsigned())
}

func TestAppendChecksFields(t *testing.T) {
	f := newFixture(t, 0, nil)
	_, err := f.log.Append(f.ctx, audit.Entry{Key: "k"})
	assert.ErrorContains(t, err, "operation")
	_, err = f.log.Append(f.ctx, audit.Entry{Operation: "write", SHA256: "abc"})
	assert.ErrorContains(t, err, "64 hex digits")
}

func TestInclusionProof(t *testing.T) {
	f := newFixture(t, 10, func(int64) bool { return false })
	proof, cp, entry, err := f.log.Prove(f.ctx, 6)
	require.NoError(t, err)
	require.NoError(t, audit.CheckInclusion(f.v, cp, entry, 6, proof))
	assert.Error(t, audit.CheckInclusion(f.v, cp, entry, 5, proof), "wrong index")
	altered := []byte(strings.Replace(string(entry), "precinct-06", "precinct-66", 1))
	assert.Error(t, audit.CheckInclusion(f.v, cp, altered, 6, proof))
	_, otherV := testenv.NoteKeys(t, "civicport.test/audit")
	assert.Error(t, audit.CheckInclusion(otherV, cp, entry, 6, proof))

	// A read-only Log proves against the latest stored checkpoint.
	ro, err := audit.Open(f.ctx, f.b, nil, nil)
	require.NoError(t, err)
	proof, cp2, entry, err := ro.Prove(f.ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, cp, cp2)
	require.NoError(t, audit.CheckInclusion(f.v, cp2, entry, 2, proof))
}

func appendConcurrently(t *testing.T, ctx context.Context, b *blob.Bucket, writers, perWriter int) []int64 {
	t.Helper()
	s, _ := testenv.NoteKeys(t, "civicport.test/audit")
	// Two Logs on the same bucket stand for two processes; goroutines
	// share each.
	logs := make([]*audit.Log, 2)
	for i := range logs {
		l, err := audit.Open(ctx, b, s, &audit.Options{Actor: fmt.Sprintf("process-%d", i)})
		require.NoError(t, err)
		logs[i] = l
	}
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			l := logs[w%len(logs)]
			for i := range perWriter {
				idx, err := l.Append(ctx, audit.Entry{Operation: "write", Bucket: "b", Key: fmt.Sprintf("w%d/%d", w, i)})
				if !assert.NoError(t, err) {
					return
				}
				if i%3 == 0 {
					_, err = l.Checkpoint(ctx)
					assert.NoError(t, err)
				}
				mu.Lock()
				got = append(got, idx)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	return got
}

func checkConcurrent(t *testing.T, ctx context.Context, b *blob.Bucket, got []int64, total int) {
	t.Helper()
	require.Len(t, got, total)
	for i, idx := range got {
		require.Equal(t, int64(i), idx, "indices must be 0..%d with no gap or duplicate", total-1)
	}
	rep, err := audit.Verify(ctx, b, nil, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.Equal(t, int64(total), rep.Entries)
}

// staleWriter: a second writer whose view is behind must not overwrite the
// entry the first wrote (the conditional write refuses it), and lands next.
func staleWriter(t *testing.T, ctx context.Context, b *blob.Bucket) {
	t.Helper()
	a, err := audit.Open(ctx, b, nil, nil)
	require.NoError(t, err)
	stale, err := audit.Open(ctx, b, nil, nil)
	require.NoError(t, err)
	start := a.Size()
	ia, err := a.Append(ctx, audit.Entry{Operation: "write", Key: "by-a"})
	require.NoError(t, err)
	ib, err := stale.Append(ctx, audit.Entry{Operation: "write", Key: "by-stale"})
	require.NoError(t, err)
	assert.Equal(t, start, ia)
	assert.Equal(t, start+1, ib)
	e, err := b.ReadAll(ctx, audit.EntryKey(start))
	require.NoError(t, err)
	assert.Contains(t, string(e), `"key":"by-a"`)
}

func TestStaleWriter(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	defer b.Close()
	staleWriter(t, ctx, b)
}

func TestConcurrentAppenders(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	defer b.Close()
	got := appendConcurrently(t, ctx, b, 6, 15)
	checkConcurrent(t, ctx, b, got, 90)
}

func TestMinIO(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := testenv.Context(t)
	b, err := cpblob.Open(ctx, s.S3URL(s.NewBucket(t)))
	require.NoError(t, err)
	defer b.Close()
	got := appendConcurrently(t, ctx, b, 4, 6)
	checkConcurrent(t, ctx, b, got, 24)
	staleWriter(t, ctx, b)

	// Tampering through the server is caught as on mem.
	rep, err := audit.Verify(ctx, b, nil, nil)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	e, err := b.ReadAll(ctx, audit.EntryKey(7))
	require.NoError(t, err)
	require.NoError(t, blobcopy.Put(ctx, b, audit.EntryKey(7), []byte(strings.Replace(string(e), `"b"`, `"c"`, 1)), nil))
	rep, err = audit.Verify(ctx, b, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(7), rep.FirstBad, "%v", rep.Problems)
	assert.True(t, has(rep, audit.Altered, 7), "%v", rep.Problems)
}

func TestSignerFromKeeper(t *testing.T) {
	ctx := context.Background()
	k, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	keeper := localsecrets.NewKeeper(k)
	defer keeper.Close()
	skey, vkey, err := note.GenerateKey(rand.Reader, "civicport.test/audit")
	require.NoError(t, err)
	sealed, err := audit.SealSignerKey(ctx, keeper, skey)
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), "PRIVATE")
	s, err := audit.SignerFromKeeper(ctx, keeper, sealed)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)

	b := memblob.OpenBucket(&memblob.Options{NoMD5: true})
	defer b.Close()
	l, err := audit.Open(ctx, b, s, nil)
	require.NoError(t, err)
	require.NoError(t, l.Record(ctx, "write", "b", "k", sum))
	_, err = l.Checkpoint(ctx)
	require.NoError(t, err)
	rep, err := audit.Verify(ctx, b, v, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)

	_, err = audit.SealSignerKey(ctx, keeper, vkey)
	assert.ErrorContains(t, err, "not a note signer key")
	k2, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	other := localsecrets.NewKeeper(k2)
	defer other.Close()
	_, err = audit.SignerFromKeeper(ctx, other, sealed)
	assert.Error(t, err)
}

func TestCheckpointFormatIsTlogs(t *testing.T) {
	h := tlog.RecordHash([]byte("x"))
	text := audit.FormatCheckpoint(audit.Checkpoint{Origin: "go.sum database tree", N: 7, Hash: h})
	assert.Equal(t, string(tlog.FormatTree(tlog.Tree{N: 7, Hash: h})), text)
	tree, err := tlog.ParseTree([]byte(text))
	require.NoError(t, err)
	assert.Equal(t, tlog.Tree{N: 7, Hash: h}, tree)
	cp, err := audit.ParseCheckpoint(text + "extension line\n")
	require.NoError(t, err)
	assert.Equal(t, audit.Checkpoint{Origin: "go.sum database tree", N: 7, Hash: h}, cp)
	for _, bad := range []string{"", "o\n7\n", "o\n07\n" + h.String() + "\n", "o\n-1\n" + h.String() + "\n", "\n7\n" + h.String() + "\n", "o\n7\nAAAA\n"} {
		_, err := audit.ParseCheckpoint(bad)
		assert.Error(t, err, "%q", bad)
	}
}

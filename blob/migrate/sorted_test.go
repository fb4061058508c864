package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// The tests here check for leaked goroutines with goleak.IgnoreCurrent:
// other tests of the package leave HTTP keep-alive connections behind.

// entry returns a manifest entry for key whose content is tagged with v.
func entry(key string, v int) migrate.Entry {
	sum := fmt.Sprintf("%064x", v)
	return migrate.Entry{Key: key, Size: int64(len(key) + v), SHA256: sum, ContentType: "text/plain", Metadata: map[string]string{"v": fmt.Sprint(v)}}
}

// manifestOf encodes entries as Run writes them.
func manifestOf(t testing.TB, entries []migrate.Entry) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range entries {
		require.NoError(t, enc.Encode(&entries[i]))
	}
	return buf.Bytes()
}

// shuffled returns n entries in completion order, not key order.
func shuffled(n int) []migrate.Entry {
	es := make([]migrate.Entry, n)
	for i := range es {
		es[i] = entry(fmt.Sprintf("ballots/%06d.tif", i), i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(n, func(i, j int) { es[i], es[j] = es[j], es[i] })
	return es
}

func drain(t testing.TB, m *migrate.SortedManifest) []migrate.Entry {
	t.Helper()
	var out []migrate.Entry
	for {
		e, err := m.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out = append(out, e)
	}
}

// assertEmpty checks the sort left no temporary file in dir.
func assertEmpty(t testing.TB, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files left")
}

func TestSortManifestSpillsRunsAndMergesThemInKeyOrder(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 100, 4) // 50 runs, merged in passes of 4
	ctx := testenv.Context(t)
	tmp := t.TempDir()
	es := shuffled(5000)
	m, err := migrate.SortManifest(ctx, bytes.NewReader(manifestOf(t, es)), &migrate.SortOptions{Dir: tmp})
	require.NoError(t, err)
	assert.Equal(t, 50+16, migrate.SortRuns(m), "50 runs of 100, 16 merged from 4 (and 4 more merged last)")
	assert.Equal(t, int64(5000), m.Len())
	got := drain(t, m)
	want := slices.Clone(es)
	slices.SortFunc(want, func(a, b migrate.Entry) int { return strings.Compare(a.Key, b.Key) })
	assert.Equal(t, want, got)
	require.NoError(t, m.Close())
	assertEmpty(t, tmp)
	_, err = m.Next()
	assert.Error(t, err, "closed")

	// Small enough: sorted in memory.
	m, err = migrate.SortManifest(ctx, bytes.NewReader(manifestOf(t, es[:99])), &migrate.SortOptions{Dir: tmp})
	require.NoError(t, err)
	assert.Zero(t, migrate.SortRuns(m))
	assert.Len(t, drain(t, m), 99)
	require.NoError(t, m.Close())
}

// SortManifest fails as ReadManifest does, with the same text, however the
// lines fall into runs: a key listed twice is named by its first repeat in
// file order, even when another repeat sorts first or an error follows.
func TestSortManifestFailsAsReadManifest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 7, 2)
	ctx := testenv.Context(t)
	es := shuffled(300)
	lines := strings.SplitAfter(string(manifestOf(t, es)), "\n")
	lines = lines[:len(lines)-1]
	at := func(i int, s ...string) string { // lines with s inserted before line i
		return strings.Join(slices.Insert(slices.Clone(lines), i, s...), "")
	}
	sum := strings.Repeat("ab", 32)
	inputs := map[string]string{
		"dup across runs":     at(200, lines[3]),
		"two dups":            at(250, lines[10]) + lines[100] + lines[1],
		"dup before garbage":  at(250, lines[299], "{\n"),
		"garbage before dup":  at(100, "{\n") + lines[5],
		"bad entry":           at(50, `{"key":"a","size":1,"sha256":"zz"}`+"\n"),
		"cut short":           strings.Join(lines, "") + `{"key":"b","si`,
		"dup before cut":      strings.Join(lines, "") + lines[0] + `{"key":"b","si`,
		"unknown field":       at(20, `{"key":"a","size":1,"sha256":"`+sum+`","extra":1}`+"\n"),
		"too long":            at(30, strings.Repeat("x", 2<<20)+"\n"),
		"blank and CRLF fine": at(40, "\n", "  \n", `{"key":"zz","size":1,"sha256":"`+sum+`"}`+"\r\n"),
		"parsing last line":   strings.Join(lines, "") + `{"key":"zzz","size":1,"sha256":"` + sum + `"}`,
	}
	for name, in := range inputs {
		want, werr := migrate.ReadManifest(strings.NewReader(in))
		m, err := migrate.SortManifest(ctx, strings.NewReader(in), &migrate.SortOptions{Dir: t.TempDir()})
		if werr != nil {
			require.Error(t, err, name)
			assert.Equal(t, werr.Error(), err.Error(), name)
			continue
		}
		require.NoError(t, err, name)
		slices.SortFunc(want, func(a, b migrate.Entry) int { return strings.Compare(a.Key, b.Key) })
		assert.Equal(t, want, drain(t, m), name)
		require.NoError(t, m.Close())
	}
}

// compactRef is what CompactManifest must write: each key once, its last
// entry, in the order keys first appeared, nothing after the last newline.
func compactRef(t testing.TB, data []byte) []byte {
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var order []string
	last := map[string]migrate.Entry{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e migrate.Entry
		require.NoError(t, json.Unmarshal(line, &e))
		if _, ok := last[e.Key]; !ok {
			order = append(order, e.Key)
		}
		last[e.Key] = e
	}
	var es []migrate.Entry
	for _, k := range order {
		es = append(es, last[k])
	}
	return manifestOf(t, es)
}

// A resumed manifest of thousands of lines, in completion order, with keys
// listed again by an interrupted resume (across runs of the sort) and a
// line cut short: compacted with small runs to exactly the bytes the
// in-memory compaction wrote, and its entries returned in key order, the
// last of each key.
func TestResumeManifestSortedCompactsAcrossRuns(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 64, 3)
	ctx := testenv.Context(t)
	tmp := t.TempDir()
	es := shuffled(3000)
	for i := 0; i < 3000; i += 7 { // re-copied with new content
		es = append(es, entry(es[i].Key, 10000+i))
	}
	es = append(es, entry(es[0].Key, 99999)) // twice superseded
	data := append(manifestOf(t, es), `{"key":"ballots/x","si`...)
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	require.NoError(t, os.WriteFile(path, data, 0o640))

	f, m, err := migrate.ResumeManifestSorted(ctx, path, &migrate.SortOptions{Dir: tmp})
	require.NoError(t, err)
	assert.Greater(t, migrate.SortRuns(m), 40)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(compactRef(t, data)), string(got), "the compacted manifest")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	want, err := migrate.ReadManifest(bytes.NewReader(got))
	require.NoError(t, err)
	slices.SortFunc(want, func(a, b migrate.Entry) int { return strings.Compare(a.Key, b.Key) })
	sorted := drain(t, m)
	assert.Equal(t, want, sorted)
	assert.Equal(t, entry(es[0].Key, 99999), sorted[slices.IndexFunc(sorted, func(e migrate.Entry) bool { return e.Key == es[0].Key })], "the last entry wins")
	require.NoError(t, m.Close())
	_, err = f.WriteString("appended\n")
	require.NoError(t, err, "opened for appending")
	require.NoError(t, f.Close())

	// A compact manifest is not rewritten.
	require.NoError(t, os.WriteFile(path, got, 0o640))
	before, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, migrate.CompactManifestContext(ctx, path, &migrate.SortOptions{Dir: tmp}))
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "same file: not replaced")
	assertEmpty(t, tmp)

	// The map API gives the same entries.
	f, done, err := migrate.ResumeManifest(path)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Len(t, done, 3000)
	for _, e := range want {
		assert.Equal(t, e, done[e.Key])
	}
}

func TestSortManifestStopsOnCancelAndCleansUp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 50, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tmp := t.TempDir()
	data := manifestOf(t, shuffled(10000))
	_, err := migrate.SortManifest(ctx, bytes.NewReader(data), &migrate.SortOptions{Dir: tmp})
	assert.ErrorIs(t, err, context.Canceled)
	assertEmpty(t, tmp)

	path := filepath.Join(t.TempDir(), "m.jsonl")
	require.NoError(t, os.WriteFile(path, append(data, data[:300]...), 0o600))
	_, _, err = migrate.ResumeManifestSorted(ctx, path, &migrate.SortOptions{Dir: tmp})
	assert.ErrorIs(t, err, context.Canceled)
	assertEmpty(t, tmp)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, got, len(data)+300, "left as it was")

	_, err = migrate.SortManifest(context.Background(), bytes.NewReader(data), &migrate.SortOptions{Dir: filepath.Join(tmp, "missing")})
	assert.ErrorContains(t, err, "manifest sort")
}

// backwards lists each page of keys in reverse: not in key order.
type backwards struct{ driver.Bucket }

func (r backwards) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	p, err := r.Bucket.ListPaged(ctx, o)
	if p != nil && o.PageToken != nil {
		slices.Reverse(p.Objects) // from the second page on: the disorder shows late
	}
	return p, err
}

// Thousands of objects against a sorted manifest, in step: the same
// report as VerifyManifest's, and the same again from a driver that lists
// out of key order (the rest of its listing is sorted externally).
func TestVerifySortedManifestInStepAndOutOfOrder(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 50, 4)
	ctx := testenv.Context(t)
	b := memblob.OpenBucket(nil)
	defer b.Close()
	const n = 2500
	var es []migrate.Entry
	for i := range n {
		key := fmt.Sprintf("k/%05d", i)
		data := []byte(key)
		if i%500 == 7 {
			data = append(data, '!') // changed since
		}
		if i%400 != 3 { // missing
			require.NoError(t, b.WriteAll(ctx, key, data, &gcblob.WriterOptions{ContentType: "text/plain"}))
		}
		e := entry(key, 0)
		e.Size, e.Metadata = int64(len(key)), nil
		e.SHA256 = fmt.Sprintf("%x", sha256.Sum256([]byte(key)))
		es = append(es, e)
	}
	for i := range 30 { // extra, among the others and after the last
		require.NoError(t, b.WriteAll(ctx, fmt.Sprintf("k/%05d+", i*100), nil, nil))
		require.NoError(t, b.WriteAll(ctx, fmt.Sprintf("z/%02d", i), nil, nil))
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	want, err := migrate.VerifyManifest(ctx, b, es, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(n), want.Objects)
	assert.Equal(t, int64(60), want.Extra)
	assert.Equal(t, int64(n/400+1), want.Missing)
	assert.Equal(t, int64(n/500), want.Mismatched)

	data := manifestOf(t, es)
	tmp := t.TempDir()
	for name, bucket := range map[string]*gcblob.Bucket{
		"in order":     b,
		"out of order": gcblob.NewBucket(backwards{driveradapter.Bucket(b)}),
	} {
		m, err := migrate.SortManifest(ctx, bytes.NewReader(data), &migrate.SortOptions{Dir: tmp})
		require.NoError(t, err)
		got, err := migrate.VerifySortedManifest(ctx, bucket, m, &migrate.VerifyOptions{Workers: 3, SortDir: tmp})
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
		require.NoError(t, m.Close())
		assertEmpty(t, tmp)

		// Under a prefix.
		m, err = migrate.SortManifest(ctx, bytes.NewReader(data), nil)
		require.NoError(t, err)
		got, err = migrate.VerifySortedManifest(ctx, bucket, m, &migrate.VerifyOptions{Prefix: "k/000", SortDir: tmp})
		require.NoError(t, err, name)
		assert.Equal(t, int64(100), got.Objects, name)
		assert.Equal(t, int64(1), got.Extra, name)
		require.NoError(t, m.Close())
	}

	// A key given twice: the second is missing, as before.
	e0 := es[slices.IndexFunc(es, func(e migrate.Entry) bool { return e.Key == "k/00000" })]
	rep, err := migrate.VerifyManifest(ctx, b, []migrate.Entry{e0, e0}, &migrate.VerifyOptions{Prefix: "k/00000"})
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 1, 1, 1}, []int64{rep.Objects, rep.Verified, rep.Missing, rep.Extra}, "%+v", rep)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	m, err := migrate.SortManifest(ctx, bytes.NewReader(data), nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = migrate.VerifySortedManifest(cctx, b, m, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

// A resume of thousands of objects with the Done entries sorted in small
// runs and read in step with the source listing: what the manifest records
// and the destination holds is skipped, the rest copied, and the manifest
// after CompactManifest lists each key once and verifies. A source listing
// out of key order still gives a correct copy and manifest.
func TestRunResumesFromSortedManifestInStep(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	migrate.SetSortRun(t, 40, 8)
	ctx := testenv.Context(t)
	src, dst := memblob.OpenBucket(nil), memblob.OpenBucket(nil)
	defer src.Close()
	defer dst.Close()
	const n = 1200
	for i := range n {
		require.NoError(t, src.WriteAll(ctx, fmt.Sprintf("b/%05d", i), []byte(fmt.Sprint(i)), nil))
	}
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = migrate.Run(ctx, src, dst, &migrate.Options{Manifest: f, Workers: 8})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// An interrupted run: a third of the lines lost, one cut short.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	kept := strings.Join(lines[:800], "") + lines[800][:20]
	require.NoError(t, os.WriteFile(path, []byte(kept), 0o600))
	// Since: one recorded copy deleted, one changed at the source.
	var rec migrate.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[10]), &rec))
	require.NoError(t, dst.Delete(ctx, rec.Key))
	var changed migrate.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[20]), &changed))
	require.NoError(t, src.WriteAll(ctx, changed.Key, []byte("recount"), nil))

	for _, name := range []string{"in order", "out of order"} {
		source := src
		if name == "out of order" {
			source = gcblob.NewBucket(backwards{driveradapter.Bucket(src)})
			require.NoError(t, os.WriteFile(path, []byte(kept), 0o600))
			require.NoError(t, dst.Delete(ctx, rec.Key))
			require.NoError(t, src.WriteAll(ctx, changed.Key, []byte("recount, again"), nil))
		}
		tmp := t.TempDir()
		f, m, err := migrate.ResumeManifestSorted(ctx, path, &migrate.SortOptions{Dir: tmp})
		require.NoError(t, err, name)
		sum, err := migrate.Run(ctx, source, dst, &migrate.Options{Manifest: f, DoneSorted: m, Workers: 8})
		require.NoError(t, err, name)
		require.NoError(t, f.Close())
		require.NoError(t, m.Close())
		require.NoError(t, migrate.CompactManifest(path))
		assertEmpty(t, tmp)
		assert.Equal(t, int64(n), sum.Objects, name)
		assert.Zero(t, sum.Failed, name)
		if name == "in order" {
			// The deleted copy and the changed object (the unrecorded
			// rest was copied before and is identical).
			assert.Equal(t, int64(2), sum.Copied, "%s: %s", name, sum)
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		entries, err := migrate.ReadManifest(bytes.NewReader(data))
		require.NoError(t, err, name)
		assert.Len(t, entries, n, name)
		rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%s: %+v", name, rep.Problems)
		got, err := dst.ReadAll(ctx, changed.Key)
		require.NoError(t, err)
		assert.Contains(t, string(got), "recount", name)
	}
}

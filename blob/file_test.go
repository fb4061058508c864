package blob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/keyrefusal"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/internal/blobcopy"
)

const raceDirEnv = "CIVICPORT_TEST_FILE_RACE_DIR"

// Several processes write the same keys to one file:// bucket with
// IfNotExist (as audit-log appenders do): each key has exactly one winner,
// and its object holds the winner's bytes. gocloud's fileblob alone serialises
// only the writers of one process.
func TestFileIfNotExistAcrossProcesses(t *testing.T) {
	const keys = 500
	if dir := os.Getenv(raceDirEnv); dir != "" {
		raceChild(t, dir, keys)
		return
	}
	dir := t.TempDir()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestFileIfNotExistAcrossProcesses$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), raceDirEnv+"="+dir, "CIVICPORT_TEST_CHILD="+fmt.Sprint(i))
		outs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		require.NoError(t, cmds[i].Start())
	}
	won := map[string][]int{}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), outs[i].String())
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if k, ok := strings.CutPrefix(line, "won "); ok {
				won[k] = append(won[k], i)
			}
		}
	}
	b, err := blob.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	doubles := 0
	for k := range keys {
		key := fmt.Sprintf("k%03d", k)
		w := won[key]
		if !assert.Len(t, w, 1, "key %s won by processes %v", key, w) {
			doubles++
			continue
		}
		data, err := b.ReadAll(context.Background(), key)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("process %d", w[0]), string(data), key)
	}
	t.Logf("%d processes x %d keys: %d keys with more than one winner", procs, keys, doubles)
}

func raceChild(t *testing.T, dir string, keys int) {
	ctx := context.Background()
	me := os.Getenv("CIVICPORT_TEST_CHILD")
	b, err := blob.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	for k := range keys {
		key := fmt.Sprintf("k%03d", k)
		err := blobcopy.Put(ctx, b, key, []byte("process "+me), &gcblob.WriterOptions{IfNotExist: true})
		switch gcerrors.Code(err) {
		case gcerrors.OK:
			fmt.Println("won " + key)
		case gcerrors.FailedPrecondition:
		default:
			t.Fatalf("write %s: %v", key, err)
		}
	}
}

// openFile opens civicport's file:// bucket over dir.
func openFile(t *testing.T, dir string) *gcblob.Bucket {
	t.Helper()
	b, err := blob.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// diskFiles lists the files under dir (sidecars included), as slash paths
// relative to dir, sorted.
func diskFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	}))
	sort.Strings(out)
	return out
}

// listKeys lists b whole with List.
func listKeys(t *testing.T, b *gcblob.Bucket, opts *gcblob.ListOptions) []string {
	t.Helper()
	var keys []string
	it := b.List(opts)
	for {
		o, err := it.Next(context.Background())
		if err == io.EOF {
			return keys
		}
		require.NoError(t, err)
		if o.IsDir {
			keys = append(keys, o.Key+" (dir)")
		} else {
			keys = append(keys, o.Key)
		}
	}
}

// escapedKeys are keys fileblob alone cannot store (they alias another key
// or are refused) that the file bucket maps onto other names, and the
// names they map to written literally (which must round-trip too).
var escapedKeys = map[string]string{ // key -> its file on disk
	"p/dotdot/..":        "p/dotdot/..%",
	"p/..":               "p/..%",
	"..":                 "..%",
	"p/q/.":              "p/q/.%",
	"p/single/./dot":     "p/single/.%/dot",
	"p/single/dot":       "p/single/dot",
	"p/single/.%/dot":    "p/single/.%%/dot",
	"p/single/.%%/dot":   "p/single/.%%%/dot",
	"p/sidecar.attrs":    "p/sidecar.attrs%",
	"sidecar.attrs":      "sidecar.attrs%",
	"p/sidecar.attrs%":   "p/sidecar.attrs%%",
	"p/..%":              "p/..%%",
	"p/dotdot/..%%":      "p/dotdot/..%%%",
	"/lead":              "%/lead",
	"lead":               "lead",
	"%/lead":             "%%/lead",
	"%%":                 "%%%",
	"./dot-first":        ".%/dot-first",
	"p/a%":               "p/a%",         // not ambiguous: unchanged
	"p/%":                "p/%",          // "%" is special as a first segment only
	"p/.%x":              "p/.%x",        // not a "." followed by "%"s
	"p/.x.attrs/y":       "p/.x.attrs/y", // ".attrs" is special in the last segment only
	"p/...":              "p/...",
	"p/x/../y":           "p/x/..__0x2f__y", // fileblob's own escaping, unchanged
	"p/trailing-slash/":  "p/trailing-slash__0x2f__",
	"p/double//slash":    "p/double/__0x2f__slash",
	"p/__0x2e__":         "p/__0x5f___0x2e__",
	"p/tab\tkey":         "p/tab__0x9__key",
	"p/single/./dot.txt": "p/single/.%/dot.txt",
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Keys that fileblob resolves as paths ("." and ".." segments, a leading
// "/") or keeps for itself (".attrs") round-trip through the file bucket:
// written, read, stat-ed, listed byte-exactly, copied and deleted, each its
// own object, and so do their escaped forms written literally.
func TestFileEscapedKeysRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := openFile(t, dir)
	keys := sortedKeys(escapedKeys)
	content := func(k string) []byte { return []byte(fmt.Sprintf("content of %q", k)) }
	for _, k := range keys {
		require.NoError(t, b.WriteAll(ctx, k, content(k), &gcblob.WriterOptions{ContentType: "text/plain", Metadata: map[string]string{"k": k}}), "%q", k)
	}
	var want []string
	for _, k := range keys {
		got, err := b.ReadAll(ctx, k)
		if assert.NoError(t, err, "%q", k) {
			assert.Equal(t, string(content(k)), string(got), "%q", k)
		}
		a, err := b.Attributes(ctx, k)
		if assert.NoError(t, err, "%q", k) {
			assert.Equal(t, int64(len(content(k))), a.Size, "%q", k)
			assert.Equal(t, k, a.Metadata["k"], "%q", k)
			assert.Equal(t, "text/plain", a.ContentType, "%q", k)
		}
		want = append(want, escapedKeys[k], escapedKeys[k]+".attrs")
	}
	sort.Strings(want)
	assert.Equal(t, want, diskFiles(t, dir), "files on disk")
	assert.Equal(t, keys, listKeys(t, b, nil), "listed byte-exactly, in order")

	// Copy onto and from escaped keys.
	require.NoError(t, b.Copy(ctx, "p/copy/..", "p/single/./dot", nil))
	require.NoError(t, b.Copy(ctx, "copy-of-dotdot", "..", nil))
	for dst, src := range map[string]string{"p/copy/..": "p/single/./dot", "copy-of-dotdot": ".."} {
		got, err := b.ReadAll(ctx, dst)
		require.NoError(t, err)
		assert.Equal(t, string(content(src)), string(got), "copy %q -> %q", src, dst)
		a, err := b.Attributes(ctx, dst)
		require.NoError(t, err)
		assert.Equal(t, src, a.Metadata["k"])
	}
	assert.FileExists(t, filepath.Join(dir, "p", "copy", "..%"))

	// Delete: each key goes, its sidecar too, nothing else.
	for _, k := range append(keys, "p/copy/..", "copy-of-dotdot") {
		require.NoError(t, b.Delete(ctx, k), "%q", k)
		exists, err := b.Exists(ctx, k)
		require.NoError(t, err)
		assert.False(t, exists, "%q after delete", k)
	}
	assert.Empty(t, diskFiles(t, dir))
	assert.Empty(t, listKeys(t, b, nil))
}

// storedKeys are keys that gocloud's fileblob alone already stores
// correctly: the file bucket must leave them exactly where fileblob puts
// them, so that buckets written by earlier versions (or by plain fileblob)
// read exactly as before.
var storedKeys = []string{
	"audit/log/00000001", "audit/log/00000002", "manifests/2024-11-05.json",
	"with space.txt", "double//slash", "trailing-slash/", "x/../y", "../up",
	"tab\tkey", "newline\nkey", "__0x2f__literal", "a__0x2f__", "100%", "a%",
	"b%/c", "p/%", "p/%%", ".hidden", "...", "dots/.../x", "x.attrs/y", "x.attrs%/y",
	"percent%2Fslash", "émoji/🗳️-ballot", "query?x=1&y=2", "p/.x%", "p/x.attrsx",
	"p/..x", "p/x..", "p/-.", "p/.-", "p/._", "p/ .", "p/. ", "a/b/c/d/e",
}

func TestFileKeepsWhatFileblobStores(t *testing.T) {
	ctx := context.Background()
	plainDir, wrappedDir := t.TempDir(), t.TempDir()
	plain, err := fileblob.OpenBucket(plainDir, nil)
	require.NoError(t, err)
	defer plain.Close()
	wrapped := openFile(t, wrappedDir)
	for _, k := range storedKeys {
		require.NoError(t, plain.WriteAll(ctx, k, []byte("plain "+k), nil), "%q", k)
		require.NoError(t, wrapped.WriteAll(ctx, k, []byte("plain "+k), nil), "%q", k)
	}
	assert.Equal(t, diskFiles(t, plainDir), diskFiles(t, wrappedDir), "the same file names on disk")

	// A directory written by plain fileblob, read through the file bucket.
	old := openFile(t, plainDir)
	for _, k := range storedKeys {
		got, err := old.ReadAll(ctx, k)
		if assert.NoError(t, err, "%q", k) {
			assert.Equal(t, "plain "+k, string(got))
		}
	}
	want := slices.Clone(storedKeys)
	sort.Strings(want)
	assert.Equal(t, want, listKeys(t, old, nil))
	for _, k := range storedKeys {
		require.NoError(t, old.Delete(ctx, k), "%q", k)
	}
	assert.Empty(t, diskFiles(t, plainDir))
}

// The file bucket's listings (prefix, delimiter, pages) are those of an
// in-memory bucket holding the same keys, escaped ones included.
func TestFileListingMatchesMem(t *testing.T) {
	ctx := context.Background()
	keys := append(sortedKeys(escapedKeys), storedKeys...)
	keys = append(keys,
		"p/single/.-x", "p/single/.-y", "p/single/./a", "p/single/./b/c", "p/single/.x",
		"p/a-b", "p/a/b", "p/a/", "p/a.b", "p/a.", "p/.%%/z", "p/%%%/x", "%%%/lead",
		"p/sidecar.attrs-", "p/sidecar.attrs/x", "p/sidecar.attrs%%%",
	)
	file := openFile(t, t.TempDir())
	mem := memblob.OpenBucket(nil)
	defer mem.Close()
	for _, k := range keys {
		require.NoError(t, file.WriteAll(ctx, k, []byte(k), nil), "%q", k)
		require.NoError(t, mem.WriteAll(ctx, k, []byte(k), nil))
	}
	pages := func(b *gcblob.Bucket, opts *gcblob.ListOptions, size int) [][]string {
		var out [][]string
		token := gcblob.FirstPageToken
		for len(token) > 0 && len(out) < 1000 {
			objs, next, err := b.ListPage(ctx, token, size, opts)
			require.NoError(t, err)
			var page []string
			for _, o := range objs {
				if o.IsDir {
					page = append(page, o.Key+" (dir)")
				} else {
					page = append(page, o.Key)
					assert.Equal(t, int64(len(o.Key)), o.Size, "%q", o.Key)
				}
			}
			out = append(out, page)
			token = next
		}
		return out
	}
	for _, prefix := range []string{"", "p/", "p", "p/single/", "p/single/.", "p/single/./", "p/.", "p/..", "%", "%/", ".", "./", "/", "a", "p/sidecar.attrs", "x.attrs/", "nothing/"} {
		for _, delim := range []string{"", "/", "-", ".", "%", "attrs"} {
			for _, size := range []int{1, 2, 3, 1000} {
				opts := &gcblob.ListOptions{Prefix: prefix, Delimiter: delim}
				want, got := pages(mem, opts, size), pages(file, opts, size)
				if size == 1000 && len(want) == 1 && len(want[0]) == 0 {
					want = [][]string{nil}
				}
				assert.Equal(t, want, got, "prefix %q, delimiter %q, pages of %d", prefix, delim, size)
			}
		}
	}
}

// What a file system cannot hold is refused on write, with an error that
// names the key and says why, and nothing is left behind.
func TestFileRefusesWhatAFileSystemCannotHold(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := openFile(t, dir)
	put := func(k string) error { return b.WriteAll(ctx, k, []byte(k), nil) }
	refused := func(err error, key string, code gcerrors.ErrorCode, why string) {
		t.Helper()
		require.Error(t, err, "%q", key)
		assert.Equal(t, code, gcerrors.Code(err), "%q: %v", key, err)
		var r *keyrefusal.Error
		if assert.True(t, errors.As(err, &r), "%q: a documented refusal: %v", key, err) {
			assert.Equal(t, key, r.Key)
			assert.Equal(t, code == gcerrors.FailedPrecondition, r.Conflict)
		}
		assert.Contains(t, err.Error(), why)
		exists, err := b.Exists(ctx, key)
		assert.NoError(t, err, "%q", key)
		assert.False(t, exists, "%q", key)
	}

	require.NoError(t, put("nested"))
	refused(put("nested/child"), "nested/child", gcerrors.FailedPrecondition,
		`file bucket: key "nested/child": "nested" is an object, so it cannot also be a directory on a file system`)
	refused(put("nested/deeper/child"), "nested/deeper/child", gcerrors.FailedPrecondition, `"nested" is an object`)
	refused(b.Copy(ctx, "nested/copy", "nested", nil), "nested/copy", gcerrors.FailedPrecondition, `"nested" is an object`)
	refused(b.WriteAll(ctx, "nested/once", nil, &gcblob.WriterOptions{IfNotExist: true}), "nested/once", gcerrors.FailedPrecondition, `"nested" is an object`)
	_, err := b.ReadAll(ctx, "nested/child")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(b.Delete(ctx, "nested/child")))

	require.NoError(t, put("deep/child"))
	refused(put("deep"), "deep", gcerrors.FailedPrecondition,
		`file bucket: key "deep": objects are stored under "deep/" (such as "deep/child"), so it cannot also be an object on a file system`)
	refused(b.Copy(ctx, "deep", "nested", nil), "deep", gcerrors.FailedPrecondition, `"deep/child"`)
	// Once the objects under it are gone, the key can be written (the
	// empty directories fileblob leaves are removed).
	require.NoError(t, put("deep/er/child"))
	require.NoError(t, b.Delete(ctx, "deep/child"))
	require.NoError(t, b.Delete(ctx, "deep/er/child"))
	require.NoError(t, put("deep"))

	// "." segments map onto names of their own, with the same rule.
	require.NoError(t, put("p/."))
	refused(put("p/./x"), "p/./x", gcerrors.FailedPrecondition, `"p/." is an object`)

	// fileblob keeps the attributes of "x" in the file "x.attrs".
	require.NoError(t, put("x"))
	refused(put("x.attrs/y"), "x.attrs/y", gcerrors.FailedPrecondition, `"x.attrs" holds the attributes of "x"`)
	require.NoError(t, put("z.attrs/y"))
	refused(put("z"), "z", gcerrors.FailedPrecondition, `the attributes of "z" are kept in "z.attrs", and objects are stored under "z.attrs/" (such as "z.attrs/y")`)

	long := strings.Repeat("s", 300)
	refused(put("segment/"+long), "segment/"+long, gcerrors.InvalidArgument,
		"path segment 2 is 300 bytes on disk; a file system allows 255 bytes per name")
	refused(put("segment/"+long+"/x"), "segment/"+long+"/x", gcerrors.InvalidArgument, "path segment 2 is 300 bytes")
	refused(put(strings.Repeat("n", 240)), strings.Repeat("n", 240), gcerrors.InvalidArgument,
		"path segment 1, the last, is 240 bytes on disk; a file system allows 255 bytes per name, and the file bucket writes through a temporary file named after it with 21 more bytes")
	refused(put(""), "", gcerrors.InvalidArgument, "an object needs a name")
	_, err = b.ReadAll(ctx, "")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	refused(put("tabs/"+strings.Repeat("\t", 40)), "tabs/"+strings.Repeat("\t", 40), gcerrors.InvalidArgument, "280 bytes on disk")
	_, err = b.Attributes(ctx, "segment/"+long)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	require.NoError(t, put(strings.Repeat("d", 255)+"/"+strings.Repeat("f", 234)), "the longest names that fit")

	long255 := strings.Repeat("d", 255) + "/" + strings.Repeat("f", 234)
	want := []string{
		"deep", "deep.attrs", long255, long255 + ".attrs", "nested", "nested.attrs",
		"p/.%", "p/.%.attrs", "x", "x.attrs", "z.attrs/y", "z.attrs/y.attrs",
	}
	sort.Strings(want)
	assert.Equal(t, want, diskFiles(t, dir), "nothing left behind by a refusal")
	for _, d := range []string{"segment", "tabs", "nested/deeper"} {
		assert.NoDirExists(t, filepath.Join(dir, d))
	}
}

// civicport's conformance suite passes on the file bucket: the keys a file
// system cannot hold are refused as documented, and named in the detail.
func TestFileConformance(t *testing.T) {
	dir := t.TempDir()
	res := blobtest.Run(t.Context(), func(ctx context.Context) (*gcblob.Bucket, error) {
		return blob.Open(ctx, "file://"+dir)
	}, &blobtest.Options{LargeObjectSize: 4 << 20, Logf: t.Logf})
	for _, r := range res {
		t.Logf("%s", r)
		assert.NotEqual(t, conformance.Fail, r.Status, "%s: %s", r.Capability, r.Detail)
	}
	r, ok := conformance.Find(res, conformance.BlobSpecialKeys)
	require.True(t, ok)
	assert.Equal(t, conformance.Pass, r.Status)
	assert.Contains(t, r.Detail, "28 keys round-tripped")
	assert.Contains(t, r.Detail, `2 refused as the backend documents: "nested/child": "nested" is an object, so it cannot also be a directory on a file system`)
	assert.Contains(t, r.Detail, "(one 300-byte path segment): path segment 4 is 300 bytes on disk; a file system allows 255 bytes per name")
	assert.Empty(t, diskFiles(t, dir), "the suite removed what it wrote")
}

// fileHarness runs gocloud's drivertest over civicport's file bucket: every
// MakeDriver opens the same directory anew. (Opening a missing directory
// fails, as with fileblob, so there is no nonexistent bucket to test.)
type fileHarness struct{ urlHarness }

func (h *fileHarness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return nil, nil
}

// gocloud's own driver tests (TestKeys, TestListWeirdKeys, the listing,
// delimiter and copy tests, ...) pass on the file bucket.
func TestConformanceFileDrivertest(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &fileHarness{urlHarness{url: "file://" + t.TempDir(), nonSlash: true}}, nil
	}, nil)
}

// A file:// listing reads each directory once, not once per page
// (fileblob's listing walks from the start for every page: quadratic in
// the objects of a directory). So it lists the directory as it was when it
// first read it: an object created later under a key past the page is
// listed by the next listing, not this one; one deleted since is not
// listed. Abandoned listings are forgotten after maxListings (8).
func TestFileListingReadsDirectoryOnce(t *testing.T) {
	ctx := context.Background()
	b := openFile(t, t.TempDir())
	for _, k := range []string{"scan-1", "scan-2", "scan-3", "scan-4", "sub/scan-5", "sub/scan-6"} {
		require.NoError(t, b.WriteAll(ctx, k, []byte(k), nil))
	}
	page, next, err := b.ListPage(ctx, gcblob.FirstPageToken, 2, nil)
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.NoError(t, b.WriteAll(ctx, "scan-9", []byte("late"), nil))
	require.NoError(t, b.WriteAll(ctx, "sub/scan-7", []byte("late"), nil))
	require.NoError(t, b.Delete(ctx, "scan-3"))

	var rest []string
	for next != nil {
		page, next, err = b.ListPage(ctx, next, 2, nil)
		require.NoError(t, err)
		for _, o := range page {
			rest = append(rest, o.Key)
		}
	}
	// sub/ was first read after the writes: it shows sub/scan-7.
	assert.Equal(t, []string{"scan-4", "sub/scan-5", "sub/scan-6", "sub/scan-7"}, rest)
	assert.Equal(t, []string{"scan-1", "scan-2", "scan-4", "scan-9", "sub/scan-5", "sub/scan-6", "sub/scan-7"}, listKeys(t, b, nil))

	// Many abandoned listings: each one's continuation is dropped in turn,
	// and a continued page then reads the directory again.
	_, next, err = b.ListPage(ctx, gcblob.FirstPageToken, 1, nil)
	require.NoError(t, err)
	for i := range blob.MaxListings {
		_, _, err := b.ListPage(ctx, gcblob.FirstPageToken, 1, &gcblob.ListOptions{Delimiter: fmt.Sprint("~", i)})
		require.NoError(t, err)
	}
	require.NoError(t, b.WriteAll(ctx, "scan-10", []byte("later"), nil))
	page, _, err = b.ListPage(ctx, next, 1, nil)
	require.NoError(t, err)
	assert.Equal(t, "scan-10", page[0].Key, "the forgotten listing read the directory again")
}

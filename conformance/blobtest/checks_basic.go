package blobtest

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

type checkFunc func(e *env) verdict.Outcome

// checks maps every capability to its check.
var checks = map[string]checkFunc{
	conformance.BlobReadWrite:           checkReadWrite,
	conformance.BlobEmptyObject:         checkEmptyObject,
	conformance.BlobNotFound:            checkNotFound,
	conformance.BlobRangeRead:           checkRangeRead,
	conformance.BlobListPrefixDelimiter: checkListPrefixDelimiter,
	conformance.BlobListPagination:      checkListPagination,
	conformance.BlobMetadata:            checkMetadata,
	conformance.BlobContentType:         checkContentType,
	conformance.BlobHTTPHeaders:         checkHTTPHeaders,
	conformance.BlobMD5:                 checkMD5,
	conformance.BlobLargeObject:         checkLargeObject,
	conformance.BlobUnicodeKeys:         checkUnicodeKeys,
	conformance.BlobSpecialKeys:         checkSpecialKeys,
	conformance.BlobCopyServerSide:      checkCopy,
	conformance.BlobConditionalWrite:    checkConditionalWrite,
	conformance.BlobVersioning:          checkVersioning,
	conformance.BlobRetentionGovernance: checkRetentionGovernance,
	conformance.BlobRetentionCompliance: checkRetentionCompliance,
	conformance.BlobLegalHold:           checkLegalHold,
	conformance.BlobSignedURL:           checkSignedURL,
}

func checkReadWrite(e *env) verdict.Outcome {
	k := e.key("read-write/object.bin")
	v1 := pattern(1).bytes(0, 64<<10+123)
	if err := e.write(k, v1, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return verdict.Fail("write %q (%d bytes): %s", k, len(v1), errText(err))
	}
	got, err := e.read(k)
	if err != nil {
		return verdict.Fail("read %q after writing it: %s", k, errText(err))
	}
	if d := diff(v1, got); d != "" {
		return verdict.Fail("read %q: %s", k, d)
	}
	a, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	if a.Size != int64(len(v1)) {
		return verdict.Fail("attributes of %q: size %d, want %d", k, a.Size, len(v1))
	}
	if ok, err := e.b.Exists(e.ctx, k); err != nil || !ok {
		return verdict.Fail("exists %q after writing it: got %v, %v; want true", k, ok, err)
	}

	v2 := pattern(2).bytes(0, 1000)
	if err := e.write(k, v2, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return verdict.Fail("overwrite %q: %s", k, errText(err))
	}
	got, err = e.read(k)
	if err != nil {
		return verdict.Fail("read %q after overwriting it: %s", k, errText(err))
	}
	if bytes.Equal(got, v1) {
		return verdict.Fail("read %q after overwriting it: got the old content (%d bytes)", k, len(v1))
	}
	if d := diff(v2, got); d != "" {
		return verdict.Fail("read %q after overwriting it: %s", k, d)
	}

	if err := e.b.Delete(e.ctx, k); err != nil {
		return verdict.Fail("delete %q: %s", k, errText(err))
	}
	if ok, err := e.b.Exists(e.ctx, k); err != nil || ok {
		return verdict.Fail("exists %q after deleting it: got %v, %v; want false, <nil>", k, ok, err)
	}
	return verdict.Pass("")
}

func checkEmptyObject(e *env) verdict.Outcome {
	var p verdict.Problems
	// Two ways to write nothing: WriteAll of no bytes, and a Writer closed
	// without any Write.
	k1 := e.key("empty/writeall")
	k2 := e.key("empty/writer")
	if err := e.write(k1, nil, nil); err != nil {
		p.Add("WriteAll of 0 bytes to %q: %s", k1, errText(err))
	}
	e.track(k2)
	w, err := e.b.NewWriter(e.ctx, k2, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		p.Add("NewWriter %q: %s", k2, errText(err))
	} else if err := w.Close(); err != nil {
		p.Add("Close of an unwritten Writer for %q: %s", k2, errText(err))
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	for _, k := range []string{k1, k2} {
		got, err := e.read(k)
		switch {
		case err != nil:
			p.Add("read %q: %s", k, errText(err))
		case len(got) != 0:
			p.Add("read %q: got %d bytes %s, want 0", k, len(got), quoteBytes(got))
		}
		a, err := e.b.Attributes(e.ctx, k)
		switch {
		case err != nil:
			p.Add("attributes of %q: %s", k, errText(err))
		case a.Size != 0:
			p.Add("attributes of %q: size %d, want 0", k, a.Size)
		}
		r, err := e.b.NewRangeReader(e.ctx, k, 0, -1, nil)
		if err != nil {
			p.Add("range read (0, -1) of %q: %s", k, errText(err))
		} else {
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || len(got) != 0 || r.Size() != 0 {
				p.Add("range read (0, -1) of %q: got %d bytes, Size %d, err %v; want 0, 0, <nil>", k, len(got), r.Size(), err)
			}
		}
	}
	objs, err := e.listAll(e.key("empty/"))
	if err != nil {
		p.Add("list %q: %s", e.key("empty/"), errText(err))
	} else {
		found := map[string]int64{}
		for _, o := range objs {
			found[o.Key] = o.Size
		}
		for _, k := range []string{k1, k2} {
			size, ok := found[k]
			switch {
			case !ok:
				p.Add("list %q: %q missing (listed %s)", e.key("empty/"), k, listedKeys(objs))
			case size != 0:
				p.Add("list: %q has size %d, want 0", k, size)
			}
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

func checkNotFound(e *env) verdict.Outcome {
	var p verdict.Problems
	missing := e.key("not-found/never-written")
	// A key that is a "directory" of an existing object is missing too.
	child := e.key("not-found/dir/child")
	dir := e.key("not-found/dir")
	if err := e.write(child, []byte("child"), nil); err != nil {
		return verdict.Fail("write %q: %s", child, errText(err))
	}
	wantNotFound := func(what string, err error) {
		switch {
		case err == nil:
			p.Add("%s: got no error, want NotFound", what)
		case gcerrors.Code(err) != gcerrors.NotFound:
			p.Add("%s: got %s, want NotFound", what, errText(err))
		}
	}
	for _, k := range []string{missing, dir} {
		r, err := e.b.NewReader(e.ctx, k, nil)
		if err == nil {
			got, rerr := io.ReadAll(r)
			r.Close()
			p.Add("NewReader %q: got a reader (%d bytes, read error %v), want NotFound", k, len(got), rerr)
		} else {
			wantNotFound(fmt.Sprintf("NewReader %q", k), err)
		}
		r, err = e.b.NewRangeReader(e.ctx, k, 3, 10, nil)
		if err == nil {
			r.Close()
			p.Add("NewRangeReader %q (3, 10): got a reader, want NotFound", k)
		} else {
			wantNotFound(fmt.Sprintf("NewRangeReader %q", k), err)
		}
		_, err = e.b.Attributes(e.ctx, k)
		wantNotFound(fmt.Sprintf("Attributes %q", k), err)
		ok, err := e.b.Exists(e.ctx, k)
		if ok || err != nil {
			p.Add("Exists %q: got %v, %v; want false, <nil>", k, ok, err)
		}
	}
	wantNotFound(fmt.Sprintf("Delete %q", missing), e.b.Delete(e.ctx, missing))
	dst := e.key("not-found/copy-destination")
	e.track(dst)
	if err := e.b.Copy(e.ctx, dst, missing, nil); gcerrors.Code(err) != gcerrors.Unimplemented {
		wantNotFound(fmt.Sprintf("Copy from %q", missing), err)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

func checkRangeRead(e *env) verdict.Outcome {
	const size = 10_000
	k := e.key("range/object.bin")
	data := pattern(3).bytes(0, size)
	if err := e.write(k, data, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return verdict.Fail("write %q: %s", k, errText(err))
	}
	var p verdict.Problems
	for _, c := range []struct{ off, length int64 }{
		{0, 10}, {100, 1000}, {0, -1}, {500, -1}, {size - 10, -1},
		{size - 1, 1}, {10, 0}, {9000, 5000}, // length past the end is cut at the end
	} {
		end := size
		if c.length >= 0 && c.off+c.length < size {
			end = int(c.off + c.length)
		}
		want := data[c.off:end]
		r, err := e.b.NewRangeReader(e.ctx, k, c.off, c.length, nil)
		if err != nil {
			p.Add("range (offset %d, length %d): %s", c.off, c.length, errText(err))
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			p.Add("range (offset %d, length %d): reading: %s", c.off, c.length, errText(err))
			continue
		}
		if d := diff(want, got); d != "" {
			p.Add("range (offset %d, length %d): %s", c.off, c.length, d)
		}
		if r.Size() != size {
			p.Add("range (offset %d, length %d): Reader.Size() %d, want the object size %d", c.off, c.length, r.Size(), size)
		}
	}
	// At and past the end, the portable API does not say whether the
	// reader is empty or NewRangeReader fails; both are accepted and
	// reported. Returning bytes, or saying the object is missing, is not.
	var notes []string
	for _, c := range []struct {
		name        string
		off, length int64
	}{
		{"offset at end", size, -1},
		{"offset past end", size + 100, -1},
		{"offset past end with length", size + 100, 10},
	} {
		r, err := e.b.NewRangeReader(e.ctx, k, c.off, c.length, nil)
		if err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				p.Add("%s (offset %d, length %d): got NotFound for an existing object: %s", c.name, c.off, c.length, errText(err))
			} else {
				notes = append(notes, fmt.Sprintf("%s: error %s", c.name, gcerrors.Code(err)))
			}
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		switch {
		case len(got) > 0:
			p.Add("%s (offset %d, length %d): got %d bytes, want none", c.name, c.off, c.length, len(got))
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: read error %s", c.name, gcerrors.Code(err)))
		default:
			notes = append(notes, c.name+": empty read")
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("%s", strings.Join(notes, "; "))
}

func listedKeys(objs []*blob.ListObject) string {
	var ks []string
	for _, o := range objs {
		s := o.Key
		if o.IsDir {
			s += " (dir)"
		}
		ks = append(ks, fmt.Sprintf("%q", s))
	}
	if len(ks) > 20 {
		return fmt.Sprintf("[%s ... %d in all]", strings.Join(ks[:20], " "), len(ks))
	}
	return "[" + strings.Join(ks, " ") + "]"
}

func checkListPrefixDelimiter(e *env) verdict.Outcome {
	names := []string{"alt/x-1.txt", "alt/x-2.txt", "alt/y-1.txt", "alt/z.txt", "dir1/a.txt", "dir1/b.txt", "dir1/sub/c.txt", "dir10/f.txt", "dir2/d.txt", "e.txt"}
	sizes := map[string]int64{}
	for i, n := range names {
		k := e.key(n)
		data := pattern(10+i).bytes(0, int64(10*(i+1)))
		sizes[k] = int64(len(data))
		if err := e.write(k, data, nil); err != nil {
			return verdict.Fail("write %q: %s", k, errText(err))
		}
	}
	var p verdict.Problems
	var refused []string // other delimiters than "/" the backend says it does not implement
	for _, c := range []struct {
		prefix, delim string
		want          []listEntry
	}{
		{"", "", []listEntry{{"alt/x-1.txt", false}, {"alt/x-2.txt", false}, {"alt/y-1.txt", false}, {"alt/z.txt", false}, {"dir1/a.txt", false}, {"dir1/b.txt", false}, {"dir1/sub/c.txt", false}, {"dir10/f.txt", false}, {"dir2/d.txt", false}, {"e.txt", false}}},
		{"", "/", []listEntry{{"alt/", true}, {"dir1/", true}, {"dir10/", true}, {"dir2/", true}, {"e.txt", false}}},
		{"dir1/", "/", []listEntry{{"dir1/a.txt", false}, {"dir1/b.txt", false}, {"dir1/sub/", true}}},
		{"dir1", "", []listEntry{{"dir1/a.txt", false}, {"dir1/b.txt", false}, {"dir1/sub/c.txt", false}, {"dir10/f.txt", false}}},
		{"dir1", "/", []listEntry{{"dir1/", true}, {"dir10/", true}}},
		{"dir1/sub/", "/", []listEntry{{"dir1/sub/c.txt", false}}},
		{"nothing-here/", "/", nil},
		// Another delimiter than "/".
		{"alt/", "-", []listEntry{{"alt/x-", true}, {"alt/y-", true}, {"alt/z.txt", false}}},
	} {
		// Listed whole, then page by page (1 and 2 entries a page): the
		// pages must add up to the same listing, none longer than asked.
		for _, pageSize := range []int{0, 1, 2} {
			what := fmt.Sprintf("list prefix %q delimiter %q", c.prefix, c.delim)
			if pageSize > 0 {
				what += fmt.Sprintf(" in pages of %d", pageSize)
			}
			got, err := listDelimited(e, &blob.ListOptions{Prefix: e.key(c.prefix), Delimiter: c.delim}, pageSize)
			if err != nil && c.delim != "" && c.delim != "/" && gcerrors.Code(err) == gcerrors.Unimplemented {
				refused = append(refused, fmt.Sprintf("delimiter %q: %s", c.delim, errText(err)))
				break
			}
			if err != nil {
				p.Add("%s: %s", what, errText(err))
				break
			}
			if msg := e.listedAs(got, c.want, sizes, pageSize); msg != "" {
				p.Add("%s: %s", what, msg)
				break // one problem per case is evidence enough
			}
		}
	}
	switch {
	case !p.Empty():
		return p.Fail(maxEvidence)
	case len(refused) > 0:
		// Honest: "/" works, other delimiters are refused as not
		// implemented (gocloud's API allows any delimiter).
		return verdict.Unsupported(`prefixes and "/" work, whole and in pages of 1 and 2; other delimiters are not implemented (%s)`, strings.Join(refused, "; "))
	}
	return verdict.Pass(`prefixes; "/" and "-" delimiters; listed whole and in pages of 1 and 2`)
}

// listEntry is a listed name, relative to the check's prefix, and whether
// it is a directory (a common prefix).
type listEntry struct {
	name  string
	isDir bool
}

// listDelimited lists with opts: whole with List when pageSize is 0 (at
// most 100 entries), else page by page with ListPage (at most 50 pages), to
// stop a looping backend. Each object carries the length of its page.
func listDelimited(e *env, opts *blob.ListOptions, pageSize int) ([]pagedObject, error) {
	var got []pagedObject
	if pageSize == 0 {
		objs, err := e.list(opts, 100)
		for _, o := range objs {
			got = append(got, pagedObject{o, 1})
		}
		return got, err
	}
	pages, _, err := e.listPages(opts, pageSize, 50)
	for _, page := range pages {
		for _, o := range page {
			got = append(got, pagedObject{o, len(page)})
		}
	}
	return got, err
}

// pagedObject is a listed object and the length of the page it came in.
type pagedObject struct {
	*blob.ListObject
	page int
}

// listedAs says how got differs from want (and the sizes written), or "".
func (e *env) listedAs(got []pagedObject, want []listEntry, sizes map[string]int64, pageSize int) string {
	var gotE []listEntry
	for _, o := range got {
		if pageSize > 0 && o.page > pageSize {
			return fmt.Sprintf("a page of %d entries", o.page)
		}
		gotE = append(gotE, listEntry{e.rel(o.Key), o.IsDir})
	}
	if !slices.Equal(gotE, want) {
		f := func(x listEntry) (string, bool) { return x.name, x.isDir }
		return fmt.Sprintf("got %s, want %s", fmtEntries(gotE, f), fmtEntries(want, f))
	}
	for _, o := range got {
		if !o.IsDir && o.Size != sizes[o.Key] {
			return fmt.Sprintf("%q has size %d, want %d", e.rel(o.Key), o.Size, sizes[o.Key])
		}
	}
	return ""
}

func fmtEntries[T any](xs []T, f func(T) (string, bool)) string {
	var s []string
	for _, x := range xs {
		n, dir := f(x)
		if dir {
			n += " (dir)"
		}
		s = append(s, fmt.Sprintf("%q", n))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func checkListPagination(e *env) verdict.Outcome {
	n := e.o.PaginationKeys
	keys := make([]string, n)
	for i := range keys {
		keys[i] = e.key(fmt.Sprintf("k%06d", i))
	}
	for _, k := range keys {
		e.track(k)
	}
	errs := e.forEach(keys, func(k string) error {
		return e.b.WriteAll(e.ctx, k, []byte(k), &blob.WriterOptions{ContentType: "text/plain"})
	})
	if len(errs) > 0 {
		var first string
		for _, k := range keys {
			if err, ok := errs[k]; ok {
				first = fmt.Sprintf("%q: %s", k, errText(err))
				break
			}
		}
		return verdict.Fail("writing %d keys concurrently: %d writes failed, first %s", n, len(errs), first)
	}

	var p verdict.Problems
	var notes []string
	// verify checks a listing against keys: each once, in order.
	verify := func(what string, got []string) {
		seen := make(map[string]int, len(got))
		for _, k := range got {
			seen[k]++
		}
		var dups, missing, extra []string
		for k, c := range seen {
			if c > 1 {
				dups = append(dups, fmt.Sprintf("%q x%d", e.rel(k), c))
			}
		}
		for _, k := range keys {
			if seen[k] == 0 {
				missing = append(missing, fmt.Sprintf("%q", e.rel(k)))
			}
		}
		want := make(map[string]bool, len(keys))
		for _, k := range keys {
			want[k] = true
		}
		for k := range seen {
			if !want[k] {
				extra = append(extra, fmt.Sprintf("%q", k))
			}
		}
		slices.Sort(dups)
		slices.Sort(extra)
		if len(dups) > 0 {
			p.Add("%s: %d keys listed more than once: %s", what, len(dups), firstFew(dups))
		}
		if len(missing) > 0 {
			p.Add("%s: %d of %d keys missing: %s", what, len(missing), n, firstFew(missing))
		}
		if len(extra) > 0 {
			p.Add("%s: %d unexpected keys: %s", what, len(extra), firstFew(extra))
		}
		if len(dups) == 0 && len(missing) == 0 && len(extra) == 0 && !slices.IsSorted(got) {
			p.Add("%s: keys not in lexicographic order", what)
		}
	}
	opts := &blob.ListOptions{Prefix: e.base}
	for _, size := range []int{1000, 100, 7} {
		what := fmt.Sprintf("ListPage with pages of %d", size)
		var got []string
		read, more, err := e.listPages(opts, size, n/size+10)
		pages, emptyPages := len(read), 0
		for i, page := range read {
			if len(page) > size {
				p.Add("%s: page %d has %d entries", what, i+1, len(page))
			}
			if len(page) == 0 {
				emptyPages++
			}
			for _, o := range page {
				got = append(got, o.Key)
			}
		}
		switch {
		case err != nil:
			p.Add("%s: page %d: %s", what, pages+1, errText(err))
			continue
		case more:
			p.Add("%s: still returning page tokens after %d pages (%d keys listed); giving up", what, pages, len(got))
		}
		if wantPages := (n + size - 1) / size; pages > wantPages && emptyPages > 0 {
			notes = append(notes, fmt.Sprintf("pages of %d: %d pages for %d keys (%d empty)", size, pages, n, emptyPages))
		}
		verify(what, got)
	}
	objs, err := e.listAll(e.base)
	if err != nil {
		p.Add("List: %s", errText(err))
	} else {
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
		}
		verify("List", got)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("%s", strings.Join(notes, "; "))
}

func firstFew(xs []string) string {
	if len(xs) > 10 {
		return strings.Join(xs[:10], ", ") + fmt.Sprintf(", ... (%d in all)", len(xs))
	}
	return strings.Join(xs, ", ")
}

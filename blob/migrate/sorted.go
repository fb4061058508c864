package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/internal/listwork"
)

// SortOptions tunes the external sort of SortManifest and
// ResumeManifestSorted. The zero value is usable.
type SortOptions struct {
	// Dir holds the sort's temporary files (default os.TempDir()). They
	// take about the manifest's size on disk, are unlinked as soon as
	// they are created where the system allows it (so that not even a
	// killed process leaves them) and are removed by Close otherwise.
	Dir string
}

func (o *SortOptions) dir() string {
	if o == nil {
		return ""
	}
	return o.Dir
}

// SortedManifest is a manifest's entries in increasing key order, each key
// once, read with Next: the form in which Run (Options.DoneSorted) and
// VerifySortedManifest walk a manifest in step with a bucket listing, so
// that their memory does not grow with the number of entries.
//
// A manifest of up to 65,536 entries (and 16 MiB) is sorted in memory;
// a larger one is sorted in runs of that size spilled to temporary files
// (SortOptions.Dir) and merged, 64 runs at a time, into one sorted
// temporary file that Next reads: memory stays about 20 MiB for any
// number of entries, and the disk holds about the manifest's size. Close
// removes the temporary files. A SortedManifest is not safe for concurrent
// use.
type SortedManifest struct {
	n      int64
	recs   []record  // sorted in memory, or
	ents   []Entry   // given in memory (VerifyManifest), or
	file   *tempFile // spilled: records in key order
	r      *bufio.Reader
	i      int
	runs   int // runs spilled by the sort (tests)
	closed bool
}

var errSortedClosed = errors.New("migrate: SortedManifest used after Close")

// Len returns the number of entries (of distinct keys).
func (m *SortedManifest) Len() int64 { return m.n }

// Next returns the next entry in key order, or io.EOF after the last.
func (m *SortedManifest) Next() (Entry, error) {
	if m.ents != nil {
		if m.closed {
			return Entry{}, errSortedClosed
		}
		if m.i == len(m.ents) {
			return Entry{}, io.EOF
		}
		m.i++
		return m.ents[m.i-1], nil
	}
	rec, err := m.nextRecord()
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := json.Unmarshal(rec.data, &e); err != nil {
		return Entry{}, fmt.Errorf("manifest sort: entry %q: %w", rec.key, err)
	}
	return e, nil
}

// nextRecord returns the next record (its seq is the line on which its key
// first appeared, its data the JSON of its entry).
func (m *SortedManifest) nextRecord() (record, error) {
	switch {
	case m.closed:
		return record{}, errSortedClosed
	case m.file == nil:
		if m.i == len(m.recs) {
			return record{}, io.EOF
		}
		m.i++
		return m.recs[m.i-1], nil
	case m.r == nil:
		if err := m.file.rewind(); err != nil {
			return record{}, fmt.Errorf("manifest sort: %w", err)
		}
		m.r = bufio.NewReaderSize(m.file.f, 64<<10)
	}
	rec, err := readRecord(m.r)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("manifest sort: %w", err)
	}
	return rec, err
}

// rewind makes Next start again from the first entry.
func (m *SortedManifest) rewind() {
	m.i, m.r = 0, nil
}

// Close removes the temporary files. Next fails after it.
func (m *SortedManifest) Close() error {
	if m == nil || m.closed {
		return nil
	}
	m.closed = true
	m.recs, m.ents = nil, nil
	return m.file.Close()
}

// SortManifest reads a manifest, as ReadManifest does (the same checks and
// errors: a key listed twice, a last line cut short), and returns its
// entries in key order, holding a bounded number of them in memory (see
// SortedManifest). ctx bounds the sort. The caller must Close the result.
func SortManifest(ctx context.Context, r io.Reader, opts *SortOptions) (*SortedManifest, error) {
	m, _, err := sortManifest(ctx, r, opts.dir(), false)
	return m, err
}

// errCutShort is ReadManifest's error for a last line cut short.
var errCutShort = errors.New("manifest: last line is cut short (a run stopped while writing it?)")

// sortManifest reads a manifest from r and sorts its entries by key.
// Without supersede it fails as ReadManifest does. With supersede, as a
// resumed run reads its manifest: bytes after the last newline (a line a
// crash cut short) are left out unread, and a key listed again replaces
// its earlier entry. compact reports whether the manifest is already as
// CompactManifest writes it: every line the JSON encoding of its entry, no
// key twice, nothing after the last newline.
func sortManifest(ctx context.Context, r io.Reader, dir string, supersede bool) (_ *SortedManifest, compact bool, err error) {
	s := &sorter{dir: dir}
	defer s.close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxManifestLine)
	var (
		terminated bool // as readManifest: the line had an end (\n or \r\n)
		exact      bool // the line ended with "\n" alone
		newline    bool // the line ended with "\n" (else: the bytes after the last)
	)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		if tok != nil {
			terminated = adv > len(tok)
			exact = adv == len(tok)+1 && data[adv-1] == '\n'
			newline = adv > 0 && data[adv-1] == '\n'
		}
		return adv, tok, err
	})
	compact = true
	var (
		scanErr error
		torn    bool
	)
	for n := int64(1); sc.Scan(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		tok := sc.Bytes()
		if supersede && !newline {
			compact = false
			break // after the last newline: left out
		}
		if !exact {
			compact = false
		}
		line := bytes.TrimSpace(tok)
		if len(line) == 0 {
			compact = false
			continue
		}
		e, err := decodeEntry(line)
		if err != nil {
			if !terminated {
				torn = true // the line a crash cut short
				break
			}
			scanErr = fmt.Errorf("manifest line %d: not a manifest entry: %v", n, err)
			break
		}
		if err := checkEntry(int(n), &e); err != nil {
			scanErr = err
			break
		}
		canon, err := json.Marshal(&e)
		if err != nil {
			return nil, false, err
		}
		if !bytes.Equal(tok, canon) {
			compact = false
		}
		if err := s.add(record{key: e.Key, seq: n, data: canon}); err != nil {
			return nil, false, err
		}
	}
	if scanErr == nil && !torn {
		if err := sc.Err(); err != nil {
			scanErr = fmt.Errorf("manifest: %w", err)
		}
	}

	// Merge: duplicates meet. The first in file order is the one
	// ReadManifest would name.
	next, err := s.sorted(ctx)
	if err != nil {
		return nil, false, err
	}
	out := &SortedManifest{runs: s.spills}
	defer func() {
		if err != nil {
			out.Close()
		}
	}()
	var w *bufio.Writer
	if s.spills > 0 {
		if out.file, err = createTemp(dir); err != nil {
			return nil, false, err
		}
		w = bufio.NewWriterSize(out.file.f, 64<<10)
	}
	var (
		g                 record // the key's group: first seq, last data
		have, groupDup    bool
		dupLine, dupFirst int64
		dupKey            string
	)
	emit := func() error {
		out.n++
		if w != nil {
			return writeRecord(w, g)
		}
		out.recs = append(out.recs, g)
		return nil
	}
	for {
		rec, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if have && rec.key == g.key {
			switch {
			case supersede:
				g.data, compact = rec.data, false
			case !groupDup:
				groupDup = true
				if dupLine == 0 || rec.seq < dupLine {
					dupLine, dupFirst, dupKey = rec.seq, g.seq, rec.key
				}
			}
			continue
		}
		if have && dupLine == 0 {
			if err := emit(); err != nil {
				return nil, false, fmt.Errorf("manifest sort: %w", err)
			}
		}
		g, have, groupDup = rec, true, false
	}
	if have && dupLine == 0 {
		if err := emit(); err != nil {
			return nil, false, fmt.Errorf("manifest sort: %w", err)
		}
	}
	switch {
	case dupLine != 0:
		return nil, false, fmt.Errorf("manifest line %d: key %q already listed on line %d (a --resume interrupted before it finished? run it again to complete the manifest)", dupLine, dupKey, dupFirst)
	case scanErr != nil:
		return nil, false, scanErr
	case torn:
		return nil, false, errCutShort
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return nil, false, fmt.Errorf("manifest sort: %w", err)
		}
	}
	return out, compact, nil
}

// ResumeManifestSorted is ResumeManifest for manifests of any size: it
// returns the entries in key order (for Options.DoneSorted) instead of a
// map, and compacts the manifest (when it must) with bounded memory, by
// an external sort (see SortedManifest) in opts.Dir. The caller must Close
// both.
func ResumeManifestSorted(ctx context.Context, path string, opts *SortOptions) (*os.File, *SortedManifest, error) {
	m, err := compactManifest(ctx, path, opts.dir())
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return f, m, nil
}

// compactManifest compacts the manifest at path (see CompactManifest) and
// returns its entries in key order. Memory is bounded as SortedManifest's:
// the manifest is streamed, sorted by key (so that a key listed again
// meets its earlier entries), and, when it is not compact already,
// rewritten in the order keys first appeared by a second sort on that
// order.
func compactManifest(ctx context.Context, path, dir string) (*SortedManifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	m, compact, err := sortManifest(ctx, f, dir, true)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if compact {
		return m, nil
	}
	if err := rewriteManifest(ctx, path, m, dir); err != nil {
		m.Close()
		return nil, fmt.Errorf("compact manifest %s: %w", path, err)
	}
	m.rewind()
	return m, nil
}

// rewriteManifest replaces the manifest at path with m's entries in the
// order their keys first appeared.
func rewriteManifest(ctx context.Context, path string, m *SortedManifest, dir string) error {
	s := &sorter{dir: dir}
	defer s.close()
	m.rewind()
	for {
		rec, err := m.nextRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := s.add(record{seq: rec.seq, data: rec.data}); err != nil {
			return err
		}
	}
	next, err := s.sorted(ctx)
	if err != nil {
		return err
	}
	return replaceFile(path, func(w io.Writer) error {
		for {
			rec, err := next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := w.Write(append(rec.data, '\n')); err != nil {
				return err
			}
		}
	})
}

// replaceFile atomically replaces path's content with what write writes.
func replaceFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing to remove
	if fi, err := os.Stat(path); err == nil {
		_ = tmp.Chmod(fi.Mode().Perm())
	}
	w := bufio.NewWriterSize(tmp, 64<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// VerifySortedManifest is VerifyManifest for a manifest of any size, read
// from m's first entry: the manifest and the bucket's listing are walked
// in step, both in key order, so that memory holds the workers' objects
// and the problems found, not the entries or the listing. Every entry is
// looked up (one for a missing object too, which the listing cannot
// vouch for until it has ended); a listing that turns out not to be in key
// order is sorted, from where the disorder showed, with the external sort
// (in opts.SortDir) and merged with the manifest read again, so that
// Extra is right for any driver.
func VerifySortedManifest(ctx context.Context, b *gcblob.Bucket, m *SortedManifest, opts *VerifyOptions) (*VerifyReport, error) {
	o := opts.withDefaults()
	m.rewind()
	var t tally
	extra := func(obj *gcblob.ListObject) { t.result(0, &Problem{Key: obj.Key, Kind: Extra}) }
	type job struct {
		e   Entry
		dup bool // a key already given (VerifyManifest's entries): missing
	}
	err := listwork.Each(ctx, o.Workers, func(yield func(job) bool) error {
		listed := listwork.ObjectCursor(ctx, b, o.Prefix)
		inOrder := true
		prev, first := "", true
		for {
			e, err := m.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if !strings.HasPrefix(e.Key, o.Prefix) {
				continue
			}
			dup := !first && e.Key == prev
			prev, first = e.Key, false
			if inOrder && !dup {
				// Only what the listing passes over is used: an extra.
				// The entry itself is looked up whether listed or not.
				_, _, err := listed.Seek(e.Key, extra)
				switch {
				case errors.Is(err, listwork.ErrOrder):
					inOrder = false
				case err != nil:
					return fmt.Errorf("list bucket: %w", err)
				}
			}
			if !yield(job{e, dup}) {
				return nil
			}
		}
		if inOrder {
			err := listed.Rest(func(obj *gcblob.ListObject) bool { extra(obj); return ctx.Err() == nil })
			switch {
			case errors.Is(err, listwork.ErrOrder):
				inOrder = false
			case err != nil:
				return fmt.Errorf("list bucket: %w", err)
			default:
				return nil
			}
		}
		return extrasOutOfOrder(ctx, listed, m, o, extra)
	}, func(j job) {
		t.count(j.e.Size)
		if j.dup {
			t.result(j.e.Size, &Problem{Key: j.e.Key, Kind: Missing})
			return
		}
		t.result(j.e.Size, checkObject(ctx, b, j.e))
	})
	if err != nil {
		return nil, err
	}
	return t.finish(), nil
}

// extrasOutOfOrder reports as extra the objects left in a listing that
// went out of key order and that m does not list: the rest is sorted by
// key and merged with m, read again from its start.
func extrasOutOfOrder(ctx context.Context, listed *listwork.Cursor[*gcblob.ListObject], m *SortedManifest, o VerifyOptions, extra func(*gcblob.ListObject)) error {
	s := &sorter{dir: o.SortDir}
	defer s.close()
	var (
		seq  int64
		aerr error
	)
	err := listed.Rest(func(obj *gcblob.ListObject) bool {
		seq++
		aerr = s.add(record{key: obj.Key, seq: seq})
		return aerr == nil && ctx.Err() == nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("list bucket: %w", err)
	case aerr != nil:
		return aerr
	case ctx.Err() != nil:
		return ctx.Err()
	}
	next, err := s.sorted(ctx)
	if err != nil {
		return err
	}
	m.rewind()
	prev, first := "", true
	known := listwork.NewCursor(func() (Entry, error) {
		for {
			e, err := m.Next()
			if err != nil || first || e.Key != prev {
				prev, first = e.Key, false
				return e, err
			}
		}
	}, func(e Entry) string { return e.Key })
	last, seen := "", false
	for {
		rec, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if seen && rec.key == last {
			continue // listed twice
		}
		last, seen = rec.key, true
		_, found, err := known.Seek(rec.key, nil)
		if err != nil {
			return err
		}
		if !found {
			extra(&gcblob.ListObject{Key: rec.key})
		}
	}
}

// sortedEntries returns entries in key order (stable: a key given twice
// keeps its order) as a SortedManifest in memory.
func sortedEntries(entries []Entry) *SortedManifest {
	s := slices.Clone(entries)
	if s == nil {
		s = []Entry{}
	}
	slices.SortStableFunc(s, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return &SortedManifest{ents: s, n: int64(len(s))}
}

package migrate

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The external sort of manifests: runs of at most sortRunEntries records
// (or sortRunBytes of them) are sorted in memory and spilled to temporary
// files, which are merged sortFanIn at a time. Variables, so that tests can
// force many small runs (export_test.go).
var (
	sortRunEntries = 1 << 16
	sortRunBytes   = 16 << 20
	sortFanIn      = 64
)

// record is one manifest entry in the sort: its key, a sequence number
// (the manifest line) and its canonical JSON.
type record struct {
	key  string
	seq  int64
	data []byte
}

// size is what a record costs in memory, roughly.
func (r *record) size() int { return len(r.key) + len(r.data) + 64 }

func cmpRecord(a, b record) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// tempFile is a temporary file of the sort. Where the system allows it is
// unlinked as soon as it is created, so that not even a killed process
// leaves it behind; elsewhere Close removes it.
type tempFile struct {
	f    *os.File
	name string // "" once removed
}

func createTemp(dir string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, ".civicport-sort-*")
	if err != nil {
		return nil, fmt.Errorf("manifest sort: %w", err)
	}
	t := &tempFile{f: f, name: f.Name()}
	if os.Remove(t.name) == nil {
		t.name = ""
	}
	return t, nil
}

func (t *tempFile) Close() error {
	if t == nil || t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	if t.name != "" {
		if rerr := os.Remove(t.name); err == nil {
			err = rerr
		}
		t.name = ""
	}
	return err
}

// rewind positions the file at its start for reading.
func (t *tempFile) rewind() error {
	_, err := t.f.Seek(0, io.SeekStart)
	return err
}

func writeRecord(w *bufio.Writer, r record) error {
	var b [binary.MaxVarintLen64]byte
	_, _ = w.Write(b[:binary.PutUvarint(b[:], uint64(r.seq))])
	_, _ = w.Write(b[:binary.PutUvarint(b[:], uint64(len(r.key)))])
	_, _ = w.WriteString(r.key)
	_, _ = w.Write(b[:binary.PutUvarint(b[:], uint64(len(r.data)))])
	_, err := w.Write(r.data) // a bufio.Writer's error is sticky
	return err
}

// readRecord returns io.EOF at the end of a run, io.ErrUnexpectedEOF
// within a record.
func readRecord(r *bufio.Reader) (record, error) {
	seq, err := binary.ReadUvarint(r)
	if err != nil {
		return record{}, err
	}
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err == nil && n > maxManifestLine {
			err = fmt.Errorf("record of %d bytes", n)
		}
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	key, err := field()
	if err != nil {
		return record{}, noEOF(err)
	}
	data, err := field()
	if err != nil {
		return record{}, noEOF(err)
	}
	return record{key: string(key), seq: int64(seq), data: data}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// sorter sorts records, spilling sorted runs to temporary files in dir
// (default os.TempDir()) so that memory holds one run at most.
type sorter struct {
	dir    string
	buf    []record
	bytes  int
	runs   []*tempFile
	spills int // runs written, for tests
}

func (s *sorter) add(r record) error {
	s.buf = append(s.buf, r)
	s.bytes += r.size()
	if len(s.buf) >= sortRunEntries || s.bytes >= sortRunBytes {
		return s.spill()
	}
	return nil
}

func (s *sorter) spill() error {
	slices.SortFunc(s.buf, cmpRecord)
	i := 0
	err := s.writeRun(func() (record, error) {
		if i == len(s.buf) {
			return record{}, io.EOF
		}
		i++
		return s.buf[i-1], nil
	})
	clear(s.buf)
	s.buf, s.bytes = s.buf[:0], 0
	return err
}

// writeRun writes the records next returns (until io.EOF) as a new run.
func (s *sorter) writeRun(next func() (record, error)) error {
	t, err := createTemp(s.dir)
	if err != nil {
		return err
	}
	s.runs = append(s.runs, t) // closed by close, whatever happens
	s.spills++
	w := bufio.NewWriterSize(t.f, 64<<10)
	for {
		r, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := writeRecord(w, r); err != nil {
			return fmt.Errorf("manifest sort: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("manifest sort: %w", err)
	}
	return nil
}

// sorted returns the records added so far in order (cmpRecord). When
// nothing was spilled they are sorted in memory; else the last run is
// spilled too and the runs are merged, sortFanIn at a time. The iterator
// is valid until close.
func (s *sorter) sorted(ctx context.Context) (func() (record, error), error) {
	if len(s.runs) == 0 {
		slices.SortFunc(s.buf, cmpRecord)
		i := 0
		return func() (record, error) {
			if i == len(s.buf) {
				return record{}, io.EOF
			}
			i++
			return s.buf[i-1], nil
		}, nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	s.buf = nil
	for len(s.runs) > sortFanIn {
		group := s.runs[:sortFanIn]
		m, err := mergeRuns(ctx, group)
		if err != nil {
			return nil, err
		}
		s.runs = s.runs[sortFanIn:]
		err = s.writeRun(m.next)
		for _, t := range group {
			t.Close()
		}
		if err != nil {
			return nil, err
		}
	}
	m, err := mergeRuns(ctx, s.runs)
	if err != nil {
		return nil, err
	}
	return m.next, nil
}

// close removes every run.
func (s *sorter) close() {
	for _, t := range s.runs {
		t.Close()
	}
	s.runs, s.buf = nil, nil
}

// merge is a k-way merge of sorted runs (a heap of their heads).
type merge struct {
	ctx   context.Context
	heads []*runHead
	n     int
}

type runHead struct {
	r   *bufio.Reader
	cur record
}

func mergeRuns(ctx context.Context, runs []*tempFile) (*merge, error) {
	m := &merge{ctx: ctx}
	for _, t := range runs {
		if err := t.rewind(); err != nil {
			return nil, fmt.Errorf("manifest sort: %w", err)
		}
		h := &runHead{r: bufio.NewReaderSize(t.f, 32<<10)}
		switch cur, err := readRecord(h.r); {
		case err == io.EOF:
			continue
		case err != nil:
			return nil, fmt.Errorf("manifest sort: %w", err)
		default:
			h.cur = cur
		}
		m.heads = append(m.heads, h)
	}
	heap.Init(m)
	return m, nil
}

func (m *merge) Len() int           { return len(m.heads) }
func (m *merge) Less(i, j int) bool { return cmpRecord(m.heads[i].cur, m.heads[j].cur) < 0 }
func (m *merge) Swap(i, j int)      { m.heads[i], m.heads[j] = m.heads[j], m.heads[i] }
func (m *merge) Push(x any)         { m.heads = append(m.heads, x.(*runHead)) }
func (m *merge) Pop() any {
	h := m.heads[len(m.heads)-1]
	m.heads = m.heads[:len(m.heads)-1]
	return h
}

func (m *merge) next() (record, error) {
	if len(m.heads) == 0 {
		return record{}, io.EOF
	}
	if m.n++; m.n%4096 == 0 && m.ctx.Err() != nil {
		return record{}, m.ctx.Err()
	}
	h := m.heads[0]
	r := h.cur
	cur, err := readRecord(h.r)
	switch {
	case err == io.EOF:
		heap.Pop(m)
	case err != nil:
		return record{}, fmt.Errorf("manifest sort: %w", err)
	default:
		h.cur = cur
		heap.Fix(m, 0)
	}
	return r, nil
}

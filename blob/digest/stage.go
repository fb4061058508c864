package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"slices"
	"sync"

	gcblob "gocloud.dev/blob"
)

// ErrSpool is matched (errors.Is) by the error of a Stager that could not
// create or write its temporary file: a local fault (disk full, no spool
// directory) that retrying the source will not cure.
var ErrSpool = errors.New("digest: spool file")

// A Stager holds what is written to it while computing its SHA-256: in
// memory up to a limit, in a temporary file beyond it, so memory stays
// bounded whatever the size. civicport stages content whose hash must be
// known before it is sent (it goes into metadata, which precedes the body)
// or before it is handed out (a verified read).
//
// Write, Sum and Close are not safe for concurrent use; the readers that
// NewReader returns are independent of each other and may be read
// concurrently once writing is done. Close removes the temporary file.
type Stager struct {
	limit int64
	dir   string
	h     hash.Hash
	n     int64
	buf   [][]byte // held in memory, in blocks of up to holdBlock bytes
	file  *os.File
	err   error
}

// holdBlock is the size of the blocks in which content is held in memory:
// growing one slice would copy it again at every doubling.
const holdBlock = 1 << 20

// NewStager returns a Stager that holds up to memLimit bytes in memory and
// spools the rest to a file in spoolDir (os.TempDir when empty).
func NewStager(memLimit int64, spoolDir string) *Stager {
	return &Stager{limit: memLimit, dir: spoolDir, h: sha256.New()}
}

// Stage reads r to its end into a new Stager (see NewStager) and returns
// it; on error nothing is left behind.
func Stage(r io.Reader, memLimit int64, spoolDir string) (*Stager, error) {
	s := NewStager(memLimit, spoolDir)
	if _, err := io.Copy(s, r); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Write stages p. After an error every later Write returns it.
func (s *Stager) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.file == nil && s.n+int64(len(p)) > s.limit {
		f, err := os.CreateTemp(s.dir, "civicport-stage-*")
		if err != nil {
			return 0, s.fail(err)
		}
		s.file = f
		if _, err := s.memory().WriteTo(f); err != nil {
			return 0, s.fail(err)
		}
		s.buf = nil
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		s.h.Write(p[:n])
		s.n += int64(n)
		if err != nil {
			return n, s.fail(err)
		}
		return n, nil
	}
	s.h.Write(p)
	s.n += int64(len(p))
	for q := p; len(q) > 0; {
		if len(s.buf) == 0 || len(s.buf[len(s.buf)-1]) == cap(s.buf[len(s.buf)-1]) {
			s.buf = append(s.buf, make([]byte, 0, min(holdBlock, max(len(q), 4<<10))))
		}
		last := &s.buf[len(s.buf)-1]
		m := min(len(q), cap(*last)-len(*last))
		*last = append(*last, q[:m]...)
		q = q[m:]
	}
	return len(p), nil
}

func (s *Stager) fail(err error) error {
	dir := s.dir
	if dir == "" {
		dir = os.TempDir()
	}
	s.err = fmt.Errorf("%w in %q: %w", ErrSpool, dir, err)
	s.removeFile()
	return s.err
}

func (s *Stager) memory() *net.Buffers {
	b := net.Buffers(slices.Clone(s.buf))
	return &b
}

// Size is the number of bytes staged.
func (s *Stager) Size() int64 { return s.n }

// Spooled reports whether the content went to a temporary file.
func (s *Stager) Spooled() bool { return s.file != nil }

// Sum is the lower-case hex SHA-256 of what was staged.
func (s *Stager) Sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// NewReader returns a reader of the staged content from its start.
func (s *Stager) NewReader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.n)
	}
	return s.memory()
}

// Close releases the content, removing the temporary file.
func (s *Stager) Close() error {
	s.buf = nil
	if s.err == nil {
		s.err = errors.New("digest: stager closed")
	}
	return s.removeFile()
}

func (s *Stager) removeFile() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if rerr := os.Remove(s.file.Name()); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}

// HashObject streams the object at key and returns the hex SHA-256 of its
// content and its size.
func HashObject(ctx context.Context, b *gcblob.Bucket, key string) (string, int64, error) {
	return HashObjectWith(ctx, b, key, nil)
}

// HashObjectWith is HashObject, calling progress (if set) with the number
// of bytes of each read, e.g. to feed a stall watchdog.
func HashObjectWith(ctx context.Context, b *gcblob.Bucket, key string, progress func(n int)) (string, int64, error) {
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	var src io.Reader = r
	if progress != nil {
		src = ProgressReader(r, progress)
	}
	// Not io.Copy(h, r): gocloud's Reader.WriteTo allocates a 1 MiB buffer
	// per call, most of what verifying many small objects allocated.
	buf := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(buf)
	n, err := io.CopyBuffer(h, struct{ io.Reader }{src}, *buf)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashBufs are HashObjectWith's read buffers.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// ProgressReader returns r, calling progress with the size of every read
// that returned bytes.
func ProgressReader(r io.Reader, progress func(n int)) io.Reader {
	return &progressReader{r: r, f: progress}
}

type progressReader struct {
	r io.Reader
	f func(int)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.f(n)
	}
	return n, err
}

// Package mirror keeps one bucket's objects on several buckets at once,
// ideally at different providers, so that an outage, a lost account or a
// silently corrupted disk at one of them loses nothing.
//
// New returns gocloud's own *blob.Bucket over the copies:
//
//   - A write is staged (in memory up to Options.BufferLimit, else in a
//     temporary file) while its SHA-256 is computed, then uploaded to every
//     copy in parallel with the hash recorded as civicport-sha256 metadata.
//     It succeeds when at least Options.WriteQuorum copies committed it
//     (default: all); the error of a failed write names each copy that
//     refused. A write that misses its quorum may still have reached some
//     copies: Scrub brings them back in line.
//   - A full read is verified before its first byte is handed out: the
//     object is staged from the first copy that answers and checked against
//     its recorded SHA-256; a copy that is down, lacks the object or holds
//     altered bytes is skipped for the next. Range reads and objects without
//     a recorded hash fail over on errors only. This check is against the
//     copy's own record, so it finds decay and partial writes, not an
//     insider at that copy's provider who rewrote the object and its hash
//     together; Scrub, which compares the copies, finds that.
//   - Attributes, List and SignedURL come from the first copy that answers;
//     Copy and Delete go to every copy, with the same quorum as writes.
//   - A write with IfNotExist is decided by the first copy (so exactly one
//     of racing writers wins), which must then be reachable.
//
// Scrub compares all copies object by object and repairs a missing or bad
// copy from a good one, decided by a majority of the copies or by trusted
// evidence (see Scrub).
package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	"sync"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/digest"
)

// Options tunes a mirror. The zero value is usable.
type Options struct {
	// Names label the copies in errors and reports (e.g. redacted URLs);
	// default "copy 0", "copy 1", ...
	Names []string
	// WriteQuorum is how many copies must accept a write, copy or delete
	// (1..len(copies); default all of them).
	WriteQuorum int
	// BufferLimit is the largest object staged in memory (default 8 MiB);
	// larger ones are staged in a temporary file in SpoolDir.
	BufferLimit int64
	SpoolDir    string
}

// ErrCorrupt is returned (wrapped) when no copy holds content matching the
// object's recorded SHA-256.
var ErrCorrupt = errors.New("mirror: no copy holds intact content")

type mirror struct {
	copies []*gcblob.Bucket
	o      Options
}

// New returns a bucket that mirrors writes to copies and fails reads over
// between them. Closing it closes every copy.
func New(copies []*gcblob.Bucket, opts *Options) (*gcblob.Bucket, error) {
	m, err := newMirror(copies, opts)
	if err != nil {
		return nil, err
	}
	return gcblob.NewBucket(m), nil
}

func newMirror(copies []*gcblob.Bucket, opts *Options) (*mirror, error) {
	m := &mirror{copies: copies}
	if opts != nil {
		m.o = *opts
	}
	n := len(copies)
	if n < 2 {
		return nil, fmt.Errorf("mirror: need at least 2 copies, got %d", n)
	}
	if m.o.WriteQuorum == 0 {
		m.o.WriteQuorum = n
	}
	if m.o.WriteQuorum < 1 || m.o.WriteQuorum > n {
		return nil, fmt.Errorf("mirror: write quorum %d out of range 1..%d", m.o.WriteQuorum, n)
	}
	if len(m.o.Names) == 0 {
		for i := range n {
			m.o.Names = append(m.o.Names, fmt.Sprintf("copy %d", i))
		}
	} else if len(m.o.Names) != n {
		return nil, fmt.Errorf("mirror: %d names for %d copies", len(m.o.Names), n)
	}
	if m.o.BufferLimit <= 0 {
		m.o.BufferLimit = 8 << 20
	}
	return m, nil
}

var _ driver.Bucket = (*mirror)(nil)

func (m *mirror) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (m *mirror) As(any) bool                            { return false }
func (m *mirror) ErrorAs(error, any) bool                { return false }

// first calls fn on each copy in order until one succeeds. If all fail, it
// returns NotFound when every copy said NotFound, else every copy's error.
func first[T any](m *mirror, fn func(*gcblob.Bucket) (T, error)) (T, error) {
	var errs []error
	notFound := 0
	for i, c := range m.copies {
		v, err := fn(c)
		if err == nil {
			return v, nil
		}
		if gcerrors.Code(err) == gcerrors.NotFound {
			notFound++
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.o.Names[i], err))
	}
	var zero T
	if notFound == len(m.copies) {
		return zero, errs[0]
	}
	return zero, errors.Join(errs...)
}

func (m *mirror) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := first(m, func(c *gcblob.Bucket) (*gcblob.Attributes, error) { return c.Attributes(ctx, key) })
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{
		CacheControl: a.CacheControl, ContentDisposition: a.ContentDisposition, ContentEncoding: a.ContentEncoding,
		ContentLanguage: a.ContentLanguage, ContentType: a.ContentType, Metadata: a.Metadata,
		CreateTime: a.CreateTime, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag,
	}, nil
}

func (m *mirror) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	size := opts.PageSize
	if size <= 0 {
		size = 1000
	}
	token := opts.PageToken
	if len(token) == 0 {
		token = gcblob.FirstPageToken
	}
	type page struct {
		objs []*gcblob.ListObject
		next []byte
	}
	// Page tokens are only meaningful to the copy that issued them, so a
	// listing sticks to one copy: the first, unless it fails on the first page.
	list := func(c *gcblob.Bucket) (page, error) {
		objs, next, err := c.ListPage(ctx, token, size, &gcblob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
		return page{objs, next}, err
	}
	var p page
	var err error
	if len(opts.PageToken) == 0 {
		p, err = first(m, list)
	} else {
		p, err = list(m.copies[0])
	}
	if err != nil {
		return nil, err
	}
	out := &driver.ListPage{NextPageToken: p.next}
	for _, o := range p.objs {
		out.Objects = append(out.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir})
	}
	return out, nil
}

func (m *mirror) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset != 0 || length >= 0 {
		return first(m, func(c *gcblob.Bucket) (driver.Reader, error) {
			r, err := c.NewRangeReader(ctx, key, offset, length, nil)
			if err != nil {
				return nil, err
			}
			return &reader{r: r, attrs: driver.ReaderAttributes{ContentType: r.ContentType(), ModTime: r.ModTime(), Size: r.Size()}}, nil
		})
	}
	return first(m, func(c *gcblob.Bucket) (driver.Reader, error) { return m.verifiedReader(ctx, c, key) })
}

// verifiedReader stages key from c and checks it against its recorded
// SHA-256 before returning a reader over the staged bytes.
func (m *mirror) verifiedReader(ctx context.Context, c *gcblob.Bucket, key string) (driver.Reader, error) {
	a, err := c.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	attrs := driver.ReaderAttributes{ContentType: a.ContentType, ModTime: a.ModTime, Size: a.Size}
	want := a.Metadata[digest.MetadataKey]
	r, err := c.NewReader(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	if want == "" {
		return &reader{r: r, attrs: attrs}, nil
	}
	defer r.Close()
	st, err := digest.Stage(r, m.o.BufferLimit, m.o.SpoolDir)
	if err != nil {
		return nil, err
	}
	if got := st.Sum(); got != want {
		st.Close()
		return nil, fmt.Errorf("%w: %q: content sha256 %s, recorded %s", ErrCorrupt, key, got, want)
	}
	return &reader{r: struct {
		io.Reader
		io.Closer
	}{st.NewReader(), st}, attrs: attrs}, nil
}

func (m *mirror) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	w := &writer{m: m, ctx: ctx, key: key, wo: gcblob.WriterOptions{
		ContentType: contentType, DisableContentTypeDetection: true,
		CacheControl: opts.CacheControl, ContentDisposition: opts.ContentDisposition,
		ContentEncoding: opts.ContentEncoding, ContentLanguage: opts.ContentLanguage,
		ContentMD5: opts.ContentMD5, Metadata: maps.Clone(opts.Metadata), IfNotExist: opts.IfNotExist,
	}, stage: digest.NewStager(m.o.BufferLimit, m.o.SpoolDir)}
	return w, nil
}

// quorum runs fn on every copy in parallel and succeeds when at least
// WriteQuorum copies did; the error names every copy that failed.
func (m *mirror) quorum(op string, fn func(*gcblob.Bucket) error) error {
	errs := make([]error, len(m.copies))
	var wg sync.WaitGroup
	for i, c := range m.copies {
		wg.Go(func() { errs[i] = fn(c) })
	}
	wg.Wait()
	ok := 0
	var failed []error
	for i, err := range errs {
		if err == nil {
			ok++
		} else {
			failed = append(failed, fmt.Errorf("%s: %w", m.o.Names[i], err))
		}
	}
	if ok >= m.o.WriteQuorum {
		return nil
	}
	err := errors.Join(failed...)
	// Keep the code when every copy agrees (e.g. NotFound, FailedPrecondition).
	if len(failed) == len(m.copies) {
		return err
	}
	return fmt.Errorf("mirror: %s reached %d of %d copies, quorum %d: %w", op, ok, len(m.copies), m.o.WriteQuorum, err)
}

func (m *mirror) Copy(ctx context.Context, dstKey, srcKey string, _ *driver.CopyOptions) error {
	return m.quorum("copy", func(c *gcblob.Bucket) error { return c.Copy(ctx, dstKey, srcKey, nil) })
}

func (m *mirror) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	return m.quorum("delete", func(c *gcblob.Bucket) error { return c.Delete(ctx, key) })
}

func (m *mirror) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return first(m, func(c *gcblob.Bucket) (string, error) {
		return c.SignedURL(ctx, key, &gcblob.SignedURLOptions{Expiry: opts.Expiry, Method: opts.Method,
			ContentType: opts.ContentType, EnforceAbsentContentType: opts.EnforceAbsentContentType})
	})
}

func (m *mirror) Close() error {
	var errs []error
	for _, c := range m.copies {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

type reader struct {
	r     io.ReadCloser
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.r.Read(p) }
func (r *reader) Close() error                         { return r.r.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(any) bool                          { return false }

// writer stages the content while hashing it, then uploads it to every copy
// on Close.
type writer struct {
	m     *mirror
	ctx   context.Context
	key   string
	wo    gcblob.WriterOptions
	stage *digest.Stager
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.stage.Write(p)
}

func (w *writer) Close() error {
	defer w.stage.Close()
	if err := w.ctx.Err(); err != nil {
		return err // cancelled: nothing is uploaded
	}
	if w.wo.Metadata == nil {
		w.wo.Metadata = map[string]string{}
	}
	w.wo.Metadata[digest.MetadataKey] = w.stage.Sum()
	upload := func(c *gcblob.Bucket, ifNotExist bool) error {
		wo := w.wo
		wo.IfNotExist = ifNotExist
		return c.Upload(w.ctx, w.key, w.stage.NewReader(), &wo)
	}
	if !w.wo.IfNotExist {
		return w.m.quorum(fmt.Sprintf("write %q", w.key), func(c *gcblob.Bucket) error { return upload(c, false) })
	}
	// "Only if it does not exist" must have one winner across all copies:
	// the first copy decides, and only its winner writes the others.
	if err := upload(w.m.copies[0], true); err != nil {
		return err
	}
	return w.m.quorum(fmt.Sprintf("write %q", w.key), func(c *gcblob.Bucket) error {
		if c == w.m.copies[0] {
			return nil
		}
		return upload(c, false)
	})
}

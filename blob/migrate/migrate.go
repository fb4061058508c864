package migrate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/listwork"
	"github.com/civicport/civicport/internal/periodic"
)

// Entry is one line of a manifest (JSON lines): what an object is, so that a
// copy can be checked against it later, offline.
type Entry struct {
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// ServerCheck says what the destination verified when this run wrote
	// the object (writecheck.SHA256: the server checked this SHA-256;
	// writecheck.SHA256Parts: it checked each part's; writecheck.Reread:
	// file:// read it back; writecheck.CRC32C: gs:// checked a CRC32C of
	// an object sent in one request). Empty when the destination verified
	// nothing (azblob://, larger gs:// objects) or the object was found
	// already identical and not written.
	ServerCheck string `json:"server_check,omitempty"`
}

// Failure names an object that could not be copied or verified, and why.
type Failure struct {
	Key string `json:"key"`
	Err string `json:"error"`
}

// Options tunes Run. The zero value is usable.
type Options struct {
	// Prefix limits the copy to keys starting with it.
	Prefix string
	// Workers is the number of objects copied in parallel (default 4).
	Workers int
	// Manifest, if set, receives one JSON line (an Entry) per object copied
	// or found already identical, written after the object is committed.
	// Writes are serialised.
	Manifest io.Writer
	// Done lists objects an earlier, interrupted run already recorded (the
	// entries of its manifest, see ResumeManifest). Each is skipped,
	// without reading the source or writing a manifest line, when the
	// destination still holds it with the recorded size and SHA-256;
	// otherwise it is copied again, and a manifest line is written only if
	// its entry changed (then CompactManifest leaves the newer one). The
	// map holds every entry: at archive scale use DoneSorted.
	Done map[string]Entry
	// DoneSorted, if set, is used instead of Done: the same entries in key
	// order (ResumeManifestSorted), read once from the first, in step with
	// the source's listing (also in key order), so that memory does not
	// grow with their number. Should the source list a key not greater
	// than the one before, that object's entry cannot be found: it is
	// handled as on a first run (skipped if identical, with a manifest
	// line CompactManifest then removes). A failure to read it stops the
	// run.
	DoneSorted *SortedManifest
	// Checksum re-reads and hashes a destination object that looks
	// identical (same size and recorded SHA-256, or still as Done records
	// it) before skipping it, and copies it again if its bytes do not
	// match: a copy corrupted or rewritten in place with its metadata kept
	// is repaired. It reads every such object whole.
	Checksum bool
	// DryRun copies nothing and writes no manifest: the summary counts what
	// would be copied (Copied) and what is already identical (Skipped), and
	// Failures lists what the destination cannot hold (see Limits).
	DryRun bool
	// Limits, if set, describe what the destination can hold; objects
	// beyond them fail (and, with DryRun, are listed) without a write.
	Limits *Limits
	// Retries is how often a failed copy is tried again after a transient
	// error, with exponential backoff from RetryBackoff (default 3 and
	// 500ms). NotFound, PermissionDenied, InvalidArgument, FailedPrecondition
	// and integrity failures are not retried.
	Retries      int
	RetryBackoff time.Duration
	// BufferLimit is the size up to which an object without a recorded
	// SHA-256 is read into memory, to hash it before the upload so that
	// the SHA-256 goes with it (default 8 MiB). A larger one is streamed
	// straight through, nothing written to local disk: hashed on the way,
	// its SHA-256 recorded in the destination's metadata afterwards where
	// the destination offers a writecheck.MetadataSetter (minio://, s3://:
	// a server-side copy onto itself), else read from the source twice
	// (once to hash it, once to copy it with the SHA-256 up front).
	BufferLimit int64
	// PartSize is the multipart part size of uploads (default 5 MiB, the
	// S3 minimum); PartWorkers parts of one object are sent in parallel
	// (default 2). Memory per worker is about (PartWorkers+1) x PartSize
	// (on s3:// (PartWorkers+2) x PartSize: the SDK's transfer manager
	// holds an upload's first part apart from its part buffers).
	PartSize    int
	PartWorkers int
	// IdleTimeout, if positive, abandons the copy of an object when no
	// byte of it has moved (read from the source or the destination) for
	// that long: the object fails with ErrStalled (and is retried like any
	// transient failure), so that a frozen or partitioned server cannot
	// hang the run. It covers every request made for the object (stat,
	// read, upload, commit), not the listings. Zero: no limit (ctx alone
	// bounds the run).
	IdleTimeout time.Duration
	// ObjectTimeout, if positive, abandons the copy of an object that has
	// not finished within that long, however steadily its bytes trickle:
	// the object fails with ErrTimedOut and is retried. It covers the same
	// requests as IdleTimeout. Zero: no limit.
	ObjectTimeout time.Duration
	// Progress, if set, is called after each object with its size and
	// outcome: Copied, Skipped or Failed (with DryRun, Copied means "would
	// be copied"). Calls are serialised.
	Progress func(key string, size int64, outcome Outcome, err error)
}

// ErrStalled is wrapped by the failure of an object abandoned after
// Options.IdleTimeout without progress.
var ErrStalled = errors.New("migrate: no progress")

// ErrTimedOut is wrapped by the failure of an object abandoned after
// Options.ObjectTimeout.
var ErrTimedOut = errors.New("migrate: object not done in time")

// watch returns a context for one object's copy that is cancelled once
// touch has not been called for o.IdleTimeout or once o.ObjectTimeout has
// passed, the touch function, and a stop that returns, when either fired,
// an error saying which (wrapping ErrStalled or ErrTimedOut), else nil.
// Non-positive timeouts watch nothing.
func watch(ctx context.Context, o *Options) (octx context.Context, touch func(int), stop func() error) {
	idle, total := o.IdleTimeout, o.ObjectTimeout
	octx, cancel := context.WithCancel(ctx)
	var (
		fired atomic.Pointer[error]
		halts []func()
	)
	fire := func(err error) {
		fired.CompareAndSwap(nil, &err)
		cancel()
	}
	if total > 0 {
		t := time.AfterFunc(total, func() {
			fire(fmt.Errorf("%w within %v (ObjectTimeout)", ErrTimedOut, total))
		})
		halts = append(halts, func() { t.Stop() })
	}
	touch = func(int) {}
	if idle > 0 {
		var last atomic.Int64
		last.Store(time.Now().UnixNano())
		touch = func(int) { last.Store(time.Now().UnixNano()) }
		halts = append(halts, periodic.Run(max(idle/10, 10*time.Millisecond), func() bool {
			if time.Since(time.Unix(0, last.Load())) <= idle {
				return true
			}
			fire(fmt.Errorf("%w for %v (IdleTimeout)", ErrStalled, idle))
			return false
		}))
	}
	return octx, touch, func() error {
		for _, h := range halts {
			h()
		}
		cancel()
		if err := fired.Load(); err != nil {
			return *err
		}
		return nil
	}
}

// Outcome is what Run did with one object.
type Outcome string

// Outcomes reported to Options.Progress.
const (
	Copied  Outcome = "copied"
	Skipped Outcome = "skipped"
	Failed  Outcome = "failed"
)

// Limits are what a destination can hold.
type Limits struct {
	MaxKeyBytes      int // e.g. 1024 for S3 and GCS
	MaxMetadataBytes int // total of user metadata keys and values, e.g. 2048 for S3
}

// LimitsFor returns the documented limits of the provider behind a bucket
// URL scheme (nil when civicport knows none).
func LimitsFor(scheme string) *Limits {
	switch scheme {
	case "s3", "minio":
		return &Limits{MaxKeyBytes: 1024, MaxMetadataBytes: 2048}
	case "gs":
		return &Limits{MaxKeyBytes: 1024, MaxMetadataBytes: 8192}
	case "azblob":
		return &Limits{MaxKeyBytes: 1024, MaxMetadataBytes: 8192}
	}
	return nil
}

// check returns why an object cannot be held, or nil. The recorded SHA-256
// that Run adds is counted.
func (l *Limits) check(key string, md map[string]string) error {
	if l == nil {
		return nil
	}
	if l.MaxKeyBytes > 0 && len(key) > l.MaxKeyBytes {
		return fmt.Errorf("destination cannot hold it: key is %d bytes, the limit is %d", len(key), l.MaxKeyBytes)
	}
	if l.MaxMetadataBytes > 0 {
		n := len(digest.MetadataKey) + 64
		for k, v := range md {
			if k != digest.MetadataKey {
				n += len(k) + len(v)
			}
		}
		if n > l.MaxMetadataBytes {
			return fmt.Errorf("destination cannot hold it: metadata is %d bytes with %s, the limit is %d", n, digest.MetadataKey, l.MaxMetadataBytes)
		}
	}
	return nil
}

// Summary counts what Run did.
type Summary struct {
	Objects      int64     `json:"objects"` // seen on the source
	Bytes        int64     `json:"bytes"`
	Copied       int64     `json:"copied"` // with DryRun: would be copied
	CopiedBytes  int64     `json:"copied_bytes"`
	Skipped      int64     `json:"skipped"` // already identical on the destination
	SkippedBytes int64     `json:"skipped_bytes"`
	Failed       int64     `json:"failed"`
	Failures     []Failure `json:"failures,omitempty"`
}

func (s *Summary) String() string {
	return fmt.Sprintf("objects %d (%d bytes): copied %d (%d bytes), skipped %d (%d bytes), failed %d",
		s.Objects, s.Bytes, s.Copied, s.CopiedBytes, s.Skipped, s.SkippedBytes, s.Failed)
}

// Err is nil when no object failed, else an error that counts the failures
// and names the first (Failures lists them all).
func (s *Summary) Err() error {
	switch {
	case s.Failed == 0:
		return nil
	case len(s.Failures) == 0:
		return fmt.Errorf("%d of %d objects failed", s.Failed, s.Objects)
	}
	return fmt.Errorf("%d of %d objects failed (first: %q: %s)", s.Failed, s.Objects, s.Failures[0].Key, s.Failures[0].Err)
}

// Run copies every object under opts.Prefix from src to dst, streaming,
// with content type, cache control, content disposition, encoding, language
// and all user metadata, and records the content's SHA-256 in the
// destination's metadata (digest.MetadataKey).
//
// The hash is never taken from the provider (ETags are not MD5s for
// multipart or encrypted objects): it is computed from the bytes read, and a
// source object whose recorded SHA-256 does not match its content fails
// rather than being copied. An object whose destination copy already has the
// same size and recorded SHA-256 is skipped. A failure of one object does not
// stop the others; it is counted and listed in the summary. The returned
// error is for failures of the whole run (listing, ctx).
func Run(ctx context.Context, src, dst *gcblob.Bucket, opts *Options) (*Summary, error) {
	o := opts.withDefaults()
	var (
		mu  sync.Mutex
		sum Summary
		enc *json.Encoder
	)
	if o.Manifest != nil && !o.DryRun {
		enc = json.NewEncoder(o.Manifest)
	}
	record := func(key string, size int64, d, e *Entry, copied bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		var out Outcome
		switch {
		case err != nil:
			out = Failed
			sum.Failed++
			sum.Failures = append(sum.Failures, Failure{Key: key, Err: err.Error()})
		case copied:
			out = Copied
			sum.Copied++
			sum.CopiedBytes += size
		default:
			out = Skipped
			sum.Skipped++
			sum.SkippedBytes += size
		}
		// A Done key copied again with what the manifest already says
		// needs no line; a changed one gets a line that supersedes the old
		// (CompactManifest keeps the last).
		if d != nil && e != nil && sameEntry(*d, *e) {
			e = nil
		}
		if err == nil && e != nil && enc != nil {
			if err := enc.Encode(e); err != nil {
				sum.Failures = append(sum.Failures, Failure{Key: key, Err: "manifest: " + err.Error()})
				sum.Failed++
			}
		}
		if o.Progress != nil {
			o.Progress(key, size, out, err)
		}
	}
	// What the destination holds is read from its listing alongside the
	// source's (both in key order), never held whole: an object it does not
	// list needs no look-up before the copy (one request saved per new
	// object), and memory stays flat however many objects there are.
	// A listing page is under the idle timeout too (retried like an
	// object), so that a frozen server cannot hang the listing either.
	lim := listwork.PageLimit{Timeout: o.IdleTimeout, Retries: o.Retries, Err: ErrStalled}
	dc := &dstCursor{it: dst.List(&gcblob.ListOptions{Prefix: o.Prefix}), lim: lim}
	// What the earlier run recorded, likewise: found in step with the
	// source listing when sorted, else in the map.
	doneOf := func(key string) (*Entry, error) {
		if d, ok := o.Done[key]; ok {
			return &d, nil
		}
		return nil, nil
	}
	if o.DoneSorted != nil {
		o.DoneSorted.rewind()
		dcur := listwork.NewCursor(o.DoneSorted.Next, func(e Entry) string { return e.Key })
		doneOf = func(key string) (*Entry, error) {
			d, found, err := dcur.Seek(key, nil)
			switch {
			case errors.Is(err, listwork.ErrBehind):
				return nil, nil // listed out of order: not known
			case err != nil:
				return nil, fmt.Errorf("resume manifest: %w", err)
			case !found:
				return nil, nil
			}
			return &d, nil
		}
	}
	type job struct {
		obj  *gcblob.ListObject
		ds   dstState // looked up in listing order, on the listing goroutine
		done *Entry   // what the earlier run recorded, if anything
	}
	var doneErr error
	err := listwork.Each(ctx, o.Workers, func(yield func(job) bool) error {
		err := listwork.ObjectsWithin(ctx, src, o.Prefix, lim, func(obj *gcblob.ListObject) bool {
			d, err := doneOf(obj.Key)
			if err != nil {
				doneErr = err
				return false
			}
			return yield(job{obj, dc.lookup(ctx, obj.Key), d})
		})
		if doneErr != nil {
			return doneErr
		}
		return err
	}, func(j job) {
		obj, ds := j.obj, j.ds
		mu.Lock()
		sum.Objects++
		sum.Bytes += obj.Size
		mu.Unlock()
		if d := j.done; d != nil && d.Size == obj.Size {
			// Under the idle watch too: a stalled check falls through to
			// the (watched) copy.
			octx, touch, stop := watch(ctx, &o)
			there := holds(octx, dst, d.Key, d.Size, d.SHA256, o.Checksum, touch)
			stop()
			if there {
				record(obj.Key, obj.Size, d, nil, false, nil) // recorded by the earlier run
				return
			}
		}
		var (
			e      *Entry
			copied bool
			err    error
		)
		for attempt := 0; ; attempt++ {
			octx, touch, stop := watch(ctx, &o)
			e, copied, err = copyObject(octx, src, dst, obj.Key, ds.unknown || (ds.there && ds.size == obj.Size), &o, touch)
			if why := stop(); why != nil && err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%w: abandoned: %v", why, err)
			}
			if err == nil || attempt >= o.Retries || !transient(ctx, err) {
				break
			}
			select {
			case <-time.After(o.RetryBackoff << attempt):
			case <-ctx.Done():
			}
		}
		record(obj.Key, obj.Size, j.done, e, copied, err)
	})
	sort.Slice(sum.Failures, func(i, j int) bool { return sum.Failures[i].Key < sum.Failures[j].Key })
	return &sum, err
}

// withDefaults returns a copy of opts (nil: the zero value) with every unset
// field at its default.
func (opts *Options) withDefaults() Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BufferLimit <= 0 {
		o.BufferLimit = 8 << 20
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	if o.PartSize <= 0 {
		o.PartSize = 5 << 20
	}
	if o.PartWorkers <= 0 {
		o.PartWorkers = 2
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	return o
}

// DataInFlight is the most object data Run holds in memory at once with
// these options (nil: the defaults): per worker, an object read whole
// (up to BufferLimit) or the parts of a streamed one (PartWorkers in
// flight plus the one being filled, PartSize each), whichever is larger.
// Listings, manifests and buffers of the drivers' own come on top (s3://:
// one more part per upload, see PartSize). The CLI
// sets Go's soft memory limit from it, so that peak RSS follows what
// Workers asks for rather than twice the heap.
func (o *Options) DataInFlight() int64 {
	c := o.withDefaults()
	return int64(c.Workers) * max(c.BufferLimit, int64(c.PartWorkers+1)*int64(c.PartSize))
}

// sameEntry reports whether a and b describe the same object.
func sameEntry(a, b Entry) bool {
	return a.Key == b.Key && a.Size == b.Size && a.SHA256 == b.SHA256 && a.ContentType == b.ContentType && maps.Equal(a.Metadata, b.Metadata)
}

// holds reports whether dst holds key with this size and recorded SHA-256
// (metadata only, unless checksum: then its content is hashed too).
func holds(ctx context.Context, dst *gcblob.Bucket, key string, size int64, sha string, checksum bool, touch func(int)) bool {
	a, err := dst.Attributes(ctx, key)
	if err != nil || a.Size != size || a.Metadata[digest.MetadataKey] != sha {
		return false
	}
	if !checksum {
		return true
	}
	got, n, err := digest.HashObjectWith(ctx, dst, key, touch)
	return err == nil && n == size && got == sha
}

// permanentError marks a failure that retrying cannot fix (an integrity or
// limit failure); its text is the cause's.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// transient reports whether a copy that failed with err is worth retrying.
func transient(ctx context.Context, err error) bool {
	var pe permanentError
	if ctx.Err() != nil || errors.As(err, &pe) {
		return false
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.FailedPrecondition, gcerrors.Canceled:
		return false
	}
	return true
}

// dstState is what the destination listing says of one source key.
type dstState struct {
	size    int64
	there   bool // listed
	unknown bool // the listing cannot tell (it failed, or is not in key order): ask
}

// dstCursor walks the destination's listing in step with the source's.
// gocloud drivers list in key order; if this one does not (a key not
// greater than the one before) or its listing fails, the cursor stops
// answering and every object is looked up on its own instead. Until the
// disorder shows, the cursor may say an object is not listed when it is
// (it is then copied again instead of skipped: slower, never wrong); it
// never says one is listed when it is not.
type dstCursor struct {
	it      *gcblob.ListIterator
	lim     listwork.PageLimit
	cur     *gcblob.ListObject // next listed object, nil before the first
	last    string
	done    bool // listing exhausted
	unknown bool
}

// lookup must be called with source keys in increasing order.
func (c *dstCursor) lookup(ctx context.Context, key string) dstState {
	for !c.done && !c.unknown && (c.cur == nil || c.cur.Key < key) {
		obj, err := c.lim.Next(ctx, c.it)
		switch {
		case err == io.EOF:
			c.done, c.cur = true, nil
		case err != nil:
			c.unknown = true
		case c.cur != nil && obj.Key <= c.last:
			c.unknown = true
		case obj.IsDir:
			continue
		default:
			c.cur, c.last = obj, obj.Key
		}
	}
	switch {
	case c.unknown:
		return dstState{unknown: true}
	case c.cur != nil && c.cur.Key == key:
		return dstState{size: c.cur.Size, there: true}
	}
	return dstState{}
}

// copyObject copies one object and returns its manifest entry and whether it
// was copied (false: already identical on dst).
//
// Where the SHA-256 comes from: the source's recorded one (checked against
// the bytes copied), else the object read into memory (up to BufferLimit),
// else the bytes as they stream through; in that last case the destination
// gets it after the upload (writecheck.MetadataSetter) or, without one, the
// source is hashed in a first read. Nothing is spooled to local disk.
func copyObject(ctx context.Context, src, dst *gcblob.Bucket, key string, maybeThere bool, o *Options, touch func(int)) (*Entry, bool, error) {
	var (
		a   *gcblob.Attributes
		sr  *gcblob.Reader // the open source read, if any
		err error
	)
	defer func() {
		if sr != nil {
			sr.Close()
		}
	}()
	if !maybeThere && !o.DryRun {
		// A new object will be read anyway: read it now and take its
		// attributes from the response where the driver gives them.
		if sr, err = src.NewReader(ctx, key, nil); err != nil {
			return nil, false, err
		}
		a = attributesOf(sr)
	}
	if a == nil {
		if a, err = src.Attributes(ctx, key); err != nil {
			return nil, false, err
		}
	}
	if err := o.Limits.check(key, a.Metadata); err != nil {
		return nil, false, permanentError{err}
	}
	open := func() (*gcblob.Reader, error) {
		if sr != nil {
			return sr, nil
		}
		sr, err = src.NewReader(ctx, key, nil)
		return sr, err
	}
	want := a.Metadata[digest.MetadataKey]
	recorded := want != ""
	var (
		body   []byte // the content, read into memory to hash it first
		setter writecheck.MetadataSetter
	)
	switch {
	case want != "":
	case a.Size <= o.BufferLimit && !o.DryRun:
		r, err := open()
		if err != nil {
			return nil, false, err
		}
		if body, err = readExactly(digest.ProgressReader(r, touch), a.Size); err != nil {
			return nil, false, err
		}
		sum := sha256.Sum256(body)
		want = hex.EncodeToString(sum[:])
	case o.DryRun || maybeThere || !dst.As(&setter):
		// Hash first (a re-run comparing with the destination, or a
		// destination that cannot take the SHA-256 after the body).
		if want, _, err = digest.HashObjectWith(ctx, src, key, touch); err != nil {
			return nil, false, err
		}
	}
	md := maps.Clone(a.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	if want != "" {
		md[digest.MetadataKey] = want
	}
	e := &Entry{Key: key, Size: a.Size, SHA256: want, ContentType: a.ContentType, Metadata: a.Metadata}

	// Only an object the destination lists with the same size can already
	// be identical.
	if maybeThere && holds(ctx, dst, key, a.Size, want, o.Checksum, touch) {
		return e, false, nil
	}
	if o.DryRun {
		return nil, true, nil
	}

	var r io.Reader
	if body == nil {
		if r, err = open(); err != nil {
			return nil, false, err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wo := blobcopy.WriterOptions(a, md)
	// Memory per worker stays near (PartWorkers+1) x PartSize however
	// large the object (multipart drivers buffer BufferSize x
	// MaxConcurrency).
	wo.BufferSize, wo.MaxConcurrency = o.PartSize, o.PartWorkers
	var (
		wc  *writecheck.Check
		got string // the SHA-256 of what was written, once known
	)
	wo.BeforeWrite = func(as func(any) bool) error {
		// gocloud may call this as late as Close (a small object whose
		// content type it sniffs): got is known by then.
		if as(&wc) {
			wc.Size, wc.SHA256 = a.Size, cmp.Or(want, got)
		}
		return nil
	}
	w, err := dst.NewWriter(wctx, key, wo)
	if err != nil {
		return nil, false, err
	}
	var n int64
	if body != nil {
		// Hashed already; one Write, which the driver may send as it is.
		var k int
		k, err = w.Write(body)
		n, got = int64(k), want
	} else {
		h := sha256.New()
		n, err = io.Copy(w, io.TeeReader(digest.ProgressReader(r, touch), h))
		got = hex.EncodeToString(h.Sum(nil))
	}
	if err == nil && n != a.Size {
		err = sizeChanged(a.Size, strconv.FormatInt(n, 10))
	}
	if err == nil && want != "" && got != want {
		if recorded {
			err = permanentError{fmt.Errorf("source content does not match its SHA-256: recorded %s, read %s", want, got)}
		} else { // hashed in a first read
			err = fmt.Errorf("source changed between reads: SHA-256 %s, then %s", want, got)
		}
	}
	if err != nil {
		cancel() // abort: a cancelled writer commits nothing
		_ = w.Close()
		return nil, false, err
	}
	if wc != nil && wc.SHA256 == "" {
		wc.SHA256 = got
	}
	if err := w.Close(); err != nil {
		return nil, false, err
	}
	if wc != nil {
		e.ServerCheck = wc.Verified
	}
	if want == "" {
		// Streamed: the SHA-256 is recorded now. Until then the
		// destination holds the object without it, which a re-run copies
		// again (never skips).
		md[digest.MetadataKey] = got
		etag := ""
		if wc != nil {
			etag = wc.ETag
		}
		if err := setter.SetMetadata(ctx, key, md, etag); err != nil {
			return nil, false, fmt.Errorf("record %s after the upload: %w", digest.MetadataKey, err)
		}
		e.SHA256 = got
	}
	return e, true, nil
}

// readExactly reads the size bytes an object was listed with into one
// buffer of that size, failing permanently when it holds more or fewer.
func readExactly(r io.Reader, size int64) ([]byte, error) {
	body := make([]byte, size)
	n, err := io.ReadFull(r, body)
	if err == nil {
		var one [1]byte
		var k int
		if k, err = io.ReadFull(r, one[:]); k > 0 {
			return nil, sizeChanged(size, "more")
		}
		if err == io.EOF {
			return body, nil
		}
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return nil, sizeChanged(size, strconv.Itoa(n))
	}
	return nil, err
}

// sizeChanged is the permanent failure of an object that read back more or
// fewer bytes than it was listed with: the next run lists it again.
func sizeChanged(listed int64, read string) error {
	return permanentError{fmt.Errorf("source size changed during copy: listed %d bytes, read %s", listed, read)}
}

// attributesOf returns the attributes a read's response carried, when the
// driver exposes them (civicport's minio adapter does, as
// *driver.Attributes), saving a stat request per object; else nil.
func attributesOf(r *gcblob.Reader) *gcblob.Attributes {
	var da *driver.Attributes
	if !r.As(&da) || da == nil {
		return nil
	}
	return &gcblob.Attributes{
		CacheControl: da.CacheControl, ContentDisposition: da.ContentDisposition, ContentEncoding: da.ContentEncoding,
		ContentLanguage: da.ContentLanguage, ContentType: da.ContentType, Metadata: da.Metadata,
		CreateTime: da.CreateTime, ModTime: da.ModTime, Size: da.Size, MD5: da.MD5, ETag: da.ETag,
	}
}

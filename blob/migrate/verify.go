package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/listwork"
)

// Kinds of Problem found by Verify.
const (
	Missing  = "missing"  // on the source, not on the destination
	Extra    = "extra"    // on the destination, not on the source
	Mismatch = "mismatch" // content, size or metadata differ
	ReadErr  = "error"    // an object could not be read
)

// Problem is one difference found by Verify.
type Problem struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// VerifyReport counts what Verify checked and lists every problem.
type VerifyReport struct {
	Objects       int64     `json:"objects"` // on the source
	Bytes         int64     `json:"bytes"`
	Verified      int64     `json:"verified"` // identical on both sides
	VerifiedBytes int64     `json:"verified_bytes"`
	Mismatched    int64     `json:"mismatched"`
	Missing       int64     `json:"missing"`
	Extra         int64     `json:"extra"`
	Errors        int64     `json:"errors"`
	Problems      []Problem `json:"problems,omitempty"`
}

// OK reports whether the destination matched the source exactly.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) String() string {
	return fmt.Sprintf("objects %d (%d bytes): verified %d (%d bytes), mismatched %d, missing %d, extra %d, errors %d",
		r.Objects, r.Bytes, r.Verified, r.VerifiedBytes, r.Mismatched, r.Missing, r.Extra, r.Errors)
}

// Err is nil when OK, else an error with the counts that names the first
// problem (Problems lists them all).
func (r *VerifyReport) Err() error {
	if r.OK() {
		return nil
	}
	p := r.Problems[0]
	detail := ""
	if p.Detail != "" {
		detail = ": " + p.Detail
	}
	return fmt.Errorf("%s (first: %s %q%s)", r, p.Kind, p.Key, detail)
}

// VerifyOptions tunes Verify and VerifyManifest. The zero value is usable.
type VerifyOptions struct {
	Prefix  string // only keys starting with it
	Workers int    // objects compared in parallel (default 4)
	// SortDir holds the temporary files of VerifyManifest when the
	// bucket's listing is not in key order (default os.TempDir()).
	SortDir string
}

func (opts *VerifyOptions) withDefaults() VerifyOptions {
	var o VerifyOptions
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	return o
}

// Verify re-reads every object under opts.Prefix on both sides, computes
// SHA-256 of each while streaming, and compares content, size, content type
// and user metadata (the destination may add digest.MetadataKey; where either
// side records one it must match the content). Objects on one side only are
// reported as Missing or Extra. One flipped byte anywhere is a Mismatch.
func Verify(ctx context.Context, src, dst *gcblob.Bucket, opts *VerifyOptions) (*VerifyReport, error) {
	o := opts.withDefaults()
	// Both listings are merged in key order as they are read (as gocloud's
	// drivers list), so memory does not grow with the number of objects.
	var t tally
	err := listwork.Each(ctx, o.Workers, func(yield func([]*gcblob.ListObject) bool) error {
		return listwork.Merged(ctx, []*gcblob.Bucket{src, dst}, o.Prefix, func(_ string, objs []*gcblob.ListObject) bool {
			return yield(objs)
		})
	}, func(objs []*gcblob.ListObject) {
		s, d := objs[0], objs[1]
		switch {
		case s == nil:
			t.result(0, &Problem{Key: d.Key, Kind: Extra})
		case d == nil:
			t.count(s.Size)
			t.result(s.Size, &Problem{Key: s.Key, Kind: Missing})
		default:
			t.count(s.Size)
			t.result(s.Size, compareObject(ctx, src, dst, s.Key))
		}
	})
	var le *listwork.ListError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%s: %w", []string{"source", "destination"}[le.Index], le.Err)
	}
	if err != nil {
		return nil, err
	}
	return t.finish(), nil
}

// tally accumulates a VerifyReport from concurrent checks.
type tally struct {
	mu  sync.Mutex
	rep VerifyReport
}

// count counts an object expected on the destination.
func (t *tally) count(size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rep.Objects++
	t.rep.Bytes += size
}

// result records the outcome of one check (p == nil: identical).
func (t *tally) result(size int64, p *Problem) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p == nil {
		t.rep.Verified++
		t.rep.VerifiedBytes += size
		return
	}
	t.rep.Problems = append(t.rep.Problems, *p)
	switch p.Kind {
	case Missing:
		t.rep.Missing++
	case Extra:
		t.rep.Extra++
	case Mismatch:
		t.rep.Mismatched++
	default:
		t.rep.Errors++
	}
}

// finish returns the report, its problems sorted by key.
func (t *tally) finish() *VerifyReport {
	sort.Slice(t.rep.Problems, func(i, j int) bool { return t.rep.Problems[i].Key < t.rep.Problems[j].Key })
	return &t.rep
}

// compareObject returns nil when key is identical on both sides.
func compareObject(ctx context.Context, src, dst *gcblob.Bucket, key string) *Problem {
	want, p := entryOf(ctx, src, key)
	if p != nil {
		p.Detail = "source: " + p.Detail
		return p
	}
	if rec := want.Metadata[digest.MetadataKey]; rec != "" && rec != want.SHA256 {
		return &Problem{Key: key, Kind: Mismatch, Detail: "source content does not match its recorded sha256 " + rec}
	}
	return checkObject(ctx, dst, want)
}

// entryOf reads key's attributes and streams its content to describe it as
// a manifest Entry (Metadata as stored, digest.MetadataKey included).
func entryOf(ctx context.Context, b *gcblob.Bucket, key string) (Entry, *Problem) {
	a, err := b.Attributes(ctx, key)
	if err != nil {
		return Entry{}, readProblem(key, err)
	}
	sum, n, err := digest.HashObject(ctx, b, key)
	if err != nil {
		return Entry{}, readProblem(key, err)
	}
	return Entry{Key: key, Size: n, SHA256: sum, ContentType: a.ContentType, Metadata: a.Metadata}, nil
}

func readProblem(key string, err error) *Problem {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return &Problem{Key: key, Kind: Missing}
	}
	return &Problem{Key: key, Kind: ReadErr, Detail: err.Error()}
}

// checkObject re-reads want.Key in b and returns nil when its content, size,
// content type and user metadata match want (digest.MetadataKey aside, which
// must match the content wherever it is recorded).
func checkObject(ctx context.Context, b *gcblob.Bucket, want Entry) *Problem {
	got, p := entryOf(ctx, b, want.Key)
	if p != nil {
		return p
	}
	mismatch := func(format string, args ...any) *Problem {
		return &Problem{Key: want.Key, Kind: Mismatch, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case got.Size != want.Size:
		return mismatch("size: want %d bytes, found %d bytes", want.Size, got.Size)
	case got.SHA256 != want.SHA256:
		return mismatch("sha256: want %s, found %s", want.SHA256, got.SHA256)
	case got.Metadata[digest.MetadataKey] != "" && got.Metadata[digest.MetadataKey] != got.SHA256:
		return mismatch("content does not match its recorded sha256 %s", got.Metadata[digest.MetadataKey])
	case got.ContentType != want.ContentType:
		return mismatch("content type: want %q, found %q", want.ContentType, got.ContentType)
	}
	wm, gm := maps.Clone(want.Metadata), maps.Clone(got.Metadata)
	delete(wm, digest.MetadataKey)
	delete(gm, digest.MetadataKey)
	if len(wm) == 0 && len(gm) == 0 {
		return nil
	}
	if !maps.Equal(wm, gm) {
		return mismatch("metadata: want %v, found %v", wm, gm)
	}
	return nil
}

package seal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/listwork"
	"github.com/civicport/civicport/secrets/envelope"
)

// RewrapOptions tune Rewrap. A nil *RewrapOptions means the defaults.
type RewrapOptions struct {
	// Prefix limits the rewrap to keys starting with it.
	Prefix string
	// Workers is how many objects are rewrapped at once (default 4).
	Workers int
	// Progress, if set, is called after each object with what was done
	// (Failed with err). Calls are serialised.
	Progress func(key string, outcome RewrapOutcome, err error)
}

// RewrapOutcome is what Rewrap did with one object.
type RewrapOutcome string

// Outcomes reported to RewrapOptions.Progress.
const (
	Rewrapped     RewrapOutcome = "rewrapped"
	RewrapSkipped RewrapOutcome = "skipped" // already under add and none of drop
	NotSealed     RewrapOutcome = "not-sealed"
	RewrapFailed  RewrapOutcome = "failed"
)

// RewrapSummary counts what Rewrap did.
type RewrapSummary struct {
	Objects   int64     `json:"objects"`    // listed
	Rewrapped int64     `json:"rewrapped"`  // rewritten with the new header
	Bytes     int64     `json:"bytes"`      // stored bytes of the rewrapped objects
	Skipped   int64     `json:"skipped"`    // already wrapped under add and not under drop
	NotSealed int64     `json:"not_sealed"` // not written by Seal: left alone
	Failed    int64     `json:"failed"`
	Failures  []Failure `json:"failures,omitempty"`
}

// Failure names an object Rewrap could not rewrap, and why.
type Failure struct {
	Key string `json:"key"`
	Err string `json:"error"`
}

func (s *RewrapSummary) String() string {
	return fmt.Sprintf("objects %d: rewrapped %d (%d bytes), skipped %d (already done), not sealed %d, failed %d",
		s.Objects, s.Rewrapped, s.Bytes, s.Skipped, s.NotSealed, s.Failed)
}

// Rewrap re-wraps the data key of every sealed object in inner (the bucket
// under Seal: Rewrap reads and writes it directly) so that it is wrapped
// under the KEKs of add and no longer under those whose ids are in drop,
// unwrapping it with the first KEK of using that can (see envelope.Rewrap).
//
// Bodies are not re-encrypted and the data keys do not change: only the
// envelope header is replaced. Because the header is at the start of the
// object and objects are immutable, each object is rewritten: the new header,
// then the old body streamed through byte for byte, with the same content
// type, headers and metadata (its recorded header size updated). A write that
// fails is aborted, so an object is either rewrapped or untouched. Someone who
// knew an old data key can still read the object: to revoke that, re-encrypt
// it (read it through Seal and write it again).
//
// Rewrap is resumable: an object whose header already names every KEK of add
// and none of drop is skipped, so an interrupted run can simply be run again.
// Objects not written by Seal are counted and left alone.
//
// Objects written while Rewrap runs may be overwritten with their previous
// content; run it when nothing else writes under Prefix. On a versioned
// bucket each rewrap adds a version, and older versions keep their old
// wrapped keys.
//
// The error is non-nil if the listing failed or any object failed (each
// listed in the summary's Failures); ctx ending stops the run.
func Rewrap(ctx context.Context, inner *blob.Bucket, using, add []envelope.KEK, drop []string, opts *RewrapOptions) (*RewrapSummary, error) {
	o := RewrapOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	var (
		sum RewrapSummary
		mu  sync.Mutex
	)
	lerr := listwork.Each(ctx, o.Workers, func(yield func(string) bool) error {
		return listwork.Objects(ctx, inner, o.Prefix, func(obj *blob.ListObject) bool {
			sum.Objects++ // read by workers only after Each returns
			return yield(obj.Key)
		})
	}, func(key string) {
		outcome, n, err := rewrapOne(ctx, inner, key, using, add, drop)
		mu.Lock()
		defer mu.Unlock()
		switch outcome {
		case Rewrapped:
			sum.Rewrapped++
			sum.Bytes += n
		case RewrapSkipped:
			sum.Skipped++
		case NotSealed:
			sum.NotSealed++
		default:
			sum.Failed++
			sum.Failures = append(sum.Failures, Failure{Key: key, Err: err.Error()})
		}
		if o.Progress != nil {
			o.Progress(key, outcome, err)
		}
	})
	if lerr != nil && ctx.Err() == nil {
		lerr = fmt.Errorf("seal: rewrap: %w", lerr)
	}
	slices.SortFunc(sum.Failures, func(a, b Failure) int { return strings.Compare(a.Key, b.Key) })
	if lerr == nil && sum.Failed > 0 {
		lerr = fmt.Errorf("seal: rewrap: %d of %d objects failed (first: %s: %s)", sum.Failed, sum.Objects, sum.Failures[0].Key, sum.Failures[0].Err)
	}
	return &sum, lerr
}

func rewrapOne(ctx context.Context, inner *blob.Bucket, key string, using, add []envelope.KEK, drop []string) (outcome RewrapOutcome, n int64, err error) {
	a, err := inner.Attributes(ctx, key)
	if err != nil {
		return RewrapFailed, 0, err
	}
	if a.Metadata[MetadataSealed] != "1" {
		return NotSealed, 0, nil
	}
	r, err := inner.NewReader(ctx, key, nil)
	if err != nil {
		return RewrapFailed, 0, err
	}
	defer r.Close()
	h, err := envelope.ReadHeader(r)
	if errors.Is(err, envelope.ErrNotEnvelope) {
		return NotSealed, 0, nil
	}
	if err != nil {
		return RewrapFailed, 0, err
	}
	ids := h.KEKIDs()
	done := true
	for _, k := range add {
		done = done && slices.Contains(ids, k.ID)
	}
	for _, d := range drop {
		done = done && !slices.Contains(ids, d)
	}
	if done {
		return RewrapSkipped, 0, nil
	}
	nh, err := envelope.Rewrap(ctx, h, using, add, drop)
	if err != nil {
		return RewrapFailed, 0, err
	}
	raw, _ := nh.MarshalBinary()
	md := maps.Clone(a.Metadata)
	md[MetadataHeaderSize] = strconv.Itoa(len(raw))
	// A SHA-256 of the stored bytes (recorded by migrate.Run) no longer
	// holds once the header changes; a stale one would make the next
	// migration refuse the object as corrupt.
	delete(md, digest.MetadataKey)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := inner.NewWriter(wctx, key, blobcopy.WriterOptions(a, md))
	if err != nil {
		return RewrapFailed, 0, err
	}
	abort := func(err error) (RewrapOutcome, int64, error) {
		cancel()
		_ = w.Close()
		return RewrapFailed, 0, err
	}
	if _, err := w.Write(raw); err != nil {
		return abort(err)
	}
	body, err := io.Copy(w, r)
	if err != nil {
		return abort(err)
	}
	if want := a.Size - h.Size(); body != want {
		return abort(fmt.Errorf("seal: rewrap %q: body is %d bytes, want %d (object changed?)", key, body, want))
	}
	if err := w.Close(); err != nil {
		return RewrapFailed, 0, err
	}
	return Rewrapped, int64(len(raw)) + body, nil
}

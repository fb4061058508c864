package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"sync"

	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/listwork"
)

// ScrubOptions tunes Scrub. The zero value is usable.
type ScrubOptions struct {
	Names   []string // labels of the copies, as in Options
	Prefix  string   // only keys starting with it
	Workers int      // objects checked in parallel (default 4)
	DryRun  bool     // report, repair nothing
	// Expected, if set, gives the SHA-256 a key's content must have, from
	// evidence none of the copies' providers can forge: a signed manifest
	// (migrate.Entry.SHA256, after migrate.CheckManifestSignature) or the
	// audit log. For a key it knows, the copy matching it is good whatever
	// the others say. Keys it does not know are decided by majority.
	Expected func(key string) (sha256 string, ok bool)
}

// Repair is one copy Scrub rewrote (or, with DryRun, would rewrite).
type Repair struct {
	Key    string `json:"key"`
	Copy   string `json:"copy"`
	Reason string `json:"reason"` // "missing" or what was wrong with it
	From   string `json:"from"`   // the copy the good content came from
	Err    string `json:"error,omitempty"`
}

// Unresolved is an object Scrub could not repair: no copy is known good.
type Unresolved struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// ScrubReport says what Scrub found and did.
type ScrubReport struct {
	Objects    int64        `json:"objects"`
	Healthy    int64        `json:"healthy"` // identical and intact on every copy
	Repairs    []Repair     `json:"repairs,omitempty"`
	Unresolved []Unresolved `json:"unresolved,omitempty"`
}

// OK reports whether every copy is whole (after the repairs).
func (r *ScrubReport) OK() bool {
	if len(r.Unresolved) > 0 {
		return false
	}
	for _, p := range r.Repairs {
		if p.Err != "" {
			return false
		}
	}
	return true
}

func (r *ScrubReport) String() string {
	failed := 0
	for _, p := range r.Repairs {
		if p.Err != "" {
			failed++
		}
	}
	return fmt.Sprintf("objects %d: healthy %d, repaired %d, repair failed %d, unresolved %d",
		r.Objects, r.Healthy, len(r.Repairs)-failed, failed, len(r.Unresolved))
}

// Scrub compares every object on every copy by SHA-256 and repairs a copy
// that is missing an object or holds a bad one, from a good copy.
//
// What is good never rests on one provider's word, since an insider at a
// provider can rewrite an object and its recorded hash together:
//
//   - with opts.Expected knowing the key, the content with that SHA-256;
//   - otherwise the content a strict majority of the voting copies hold. A
//     copy whose content does not match its own recorded civicport-sha256
//     (decay, a partial write) does not vote; every other readable copy
//     does, one vote each.
//
// Copies that disagree with no majority, for example two self-consistent
// copies of different content, are a conflict: the object is Unresolved
// and no copy is changed.
func Scrub(ctx context.Context, copies []*gcblob.Bucket, opts *ScrubOptions) (*ScrubReport, error) {
	o := ScrubOptions{}
	if opts != nil {
		o = *opts
	}
	m, err := newMirror(copies, &Options{Names: o.Names})
	if err != nil {
		return nil, err
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	// The copies' listings are merged in key order as they are read, so
	// memory does not grow with the number of objects.
	type job struct {
		key    string
		listed []*gcblob.ListObject // listed[i]: what copy i lists for key, nil if nothing
	}
	var (
		mu  sync.Mutex
		rep ScrubReport
	)
	err = listwork.Each(ctx, o.Workers, func(yield func(job) bool) error {
		return listwork.Merged(ctx, copies, o.Prefix, func(key string, objs []*gcblob.ListObject) bool {
			rep.Objects++ // read by workers only after Each returns
			return yield(job{key, objs})
		})
	}, func(j job) {
		repairs, unres := m.scrubOne(ctx, j.key, j.listed, o.DryRun, o.Expected)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case unres != nil:
			rep.Unresolved = append(rep.Unresolved, *unres)
		case len(repairs) == 0:
			rep.Healthy++
		}
		rep.Repairs = append(rep.Repairs, repairs...)
	})
	var le *listwork.ListError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%s: %w", m.o.Names[le.Index], le.Err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(rep.Repairs, func(i, j int) bool {
		if rep.Repairs[i].Key != rep.Repairs[j].Key {
			return rep.Repairs[i].Key < rep.Repairs[j].Key
		}
		return rep.Repairs[i].Copy < rep.Repairs[j].Copy
	})
	sort.Slice(rep.Unresolved, func(i, j int) bool { return rep.Unresolved[i].Key < rep.Unresolved[j].Key })
	return &rep, nil
}

// state is what one copy holds for a key.
type state struct {
	present  bool
	sum      string // content SHA-256
	recorded string // civicport-sha256 metadata
	size     int64
	err      error
}

func (m *mirror) scrubOne(ctx context.Context, key string, listed []*gcblob.ListObject, dryRun bool, expected func(string) (string, bool)) ([]Repair, *Unresolved) {
	st := make([]state, len(m.copies))
	for i, c := range m.copies {
		if listed[i] == nil {
			continue
		}
		st[i].present = true
		a, err := c.Attributes(ctx, key)
		if err != nil {
			st[i].err = err
			continue
		}
		st[i].recorded, st[i].size = a.Metadata[digest.MetadataKey], a.Size
		st[i].sum, _, st[i].err = digest.HashObject(ctx, c, key)
	}
	var (
		good, why string
		want, ok  = "", false
	)
	if expected != nil {
		want, ok = expected(key)
	}
	if ok {
		good, why = expectedSum(st, want)
	} else {
		good, why = majoritySum(st)
	}
	if good == "" {
		return nil, &Unresolved{Key: key, Reason: why}
	}
	from := -1
	for i, s := range st {
		if s.err == nil && s.present && s.sum == good && (s.recorded == "" || s.recorded == good) {
			from = i
			break
		}
	}
	if from < 0 { // the good content is held only under a wrong record
		for i, s := range st {
			if s.err == nil && s.present && s.sum == good {
				from = i
				break
			}
		}
	}
	var repairs []Repair
	for i, s := range st {
		var reason string
		switch {
		case !s.present:
			reason = "missing"
		case s.err != nil:
			reason = "unreadable: " + s.err.Error()
		case s.sum != good:
			reason = fmt.Sprintf("content sha256 %s, good copies have %s", s.sum, good)
		case s.recorded != "" && s.recorded != good:
			reason = fmt.Sprintf("recorded sha256 %s does not match its content", s.recorded)
		default:
			continue
		}
		r := Repair{Key: key, Copy: m.o.Names[i], Reason: reason, From: m.o.Names[from]}
		if !dryRun {
			if err := copyOne(ctx, m.copies[from], m.copies[i], key, good); err != nil {
				r.Err = err.Error()
			}
		}
		repairs = append(repairs, r)
	}
	return repairs, nil
}

// expectedSum returns want if some copy holds content with that SHA-256.
func expectedSum(st []state, want string) (string, string) {
	for _, s := range st {
		if s.err == nil && s.present && s.sum == want {
			return want, ""
		}
	}
	return "", fmt.Sprintf("no copy holds the expected sha256 %s (from the trusted evidence)", want)
}

// majoritySum returns the content a strict majority of the voting copies
// hold (see Scrub), or says why there is none.
func majoritySum(st []state) (string, string) {
	votes, voters := map[string]int{}, 0
	for _, s := range st {
		if s.err != nil || !s.present || (s.recorded != "" && s.recorded != s.sum) {
			continue // a copy that is damaged by its own record does not vote
		}
		votes[s.sum]++
		voters++
	}
	for sum, n := range votes {
		if 2*n > voters {
			return sum, ""
		}
	}
	if voters == 0 {
		return "", "no copy is readable and consistent with its recorded sha256"
	}
	return "", fmt.Sprintf("conflict: %d copies hold %d different contents and no majority or trusted evidence decides; not repaired", voters, len(votes))
}

// copyOne rewrites key on dst from src, streaming, with src's attributes and
// the good SHA-256 recorded, checking the bytes on the way.
func copyOne(ctx context.Context, src, dst *gcblob.Bucket, key, good string) error {
	a, err := src.Attributes(ctx, key)
	if err != nil {
		return err
	}
	r, err := src.NewReader(ctx, key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	md := maps.Clone(a.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[digest.MetadataKey] = good
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := dst.NewWriter(wctx, key, blobcopy.WriterOptions(a, md))
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(w, io.TeeReader(r, h)); err != nil {
		cancel()
		w.Close()
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != good {
		cancel()
		w.Close()
		return fmt.Errorf("source changed while repairing: read sha256 %s, want %s", got, good)
	}
	return w.Close()
}

package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"sort"
	"sync"

	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/internal/blobcopy"
)

// ScrubOptions tunes Scrub. The zero value is usable.
type ScrubOptions struct {
	Names   []string // labels of the copies, as in Options
	Prefix  string   // only keys starting with it
	Workers int      // objects checked in parallel (default 4)
	DryRun  bool     // report, repair nothing
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
// A copy's content is good when it matches its recorded SHA-256
// (civicport-sha256). When no copy records a hash, the content most copies
// agree on (a strict majority) is good. When neither decides, the object is
// Unresolved and nothing is changed.
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
	// presence[key][i]: copy i lists key.
	presence := map[string][]bool{}
	for i, c := range copies {
		it := c.List(&gcblob.ListOptions{Prefix: o.Prefix})
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", m.o.Names[i], err)
			}
			if obj.IsDir {
				continue
			}
			if presence[obj.Key] == nil {
				presence[obj.Key] = make([]bool, len(copies))
			}
			presence[obj.Key][i] = true
		}
	}
	keys := make([]string, 0, len(presence))
	for k := range presence {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var (
		mu  sync.Mutex
		rep = ScrubReport{Objects: int64(len(keys))}
		wg  sync.WaitGroup
	)
	jobs := make(chan string)
	for range o.Workers {
		wg.Go(func() {
			for k := range jobs {
				repairs, unres := m.scrubOne(ctx, k, presence[k], o.DryRun)
				mu.Lock()
				switch {
				case unres != nil:
					rep.Unresolved = append(rep.Unresolved, *unres)
				case len(repairs) == 0:
					rep.Healthy++
				}
				rep.Repairs = append(rep.Repairs, repairs...)
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		select {
		case jobs <- k:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
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

func (m *mirror) scrubOne(ctx context.Context, key string, present []bool, dryRun bool) ([]Repair, *Unresolved) {
	st := make([]state, len(m.copies))
	for i, c := range m.copies {
		if !present[i] {
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
	good, why := goodSum(st)
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

// goodSum decides which content is good (see Scrub) or says why it cannot.
func goodSum(st []state) (string, string) {
	for _, s := range st {
		if s.err == nil && s.present && s.recorded != "" && s.sum == s.recorded {
			return s.sum, ""
		}
	}
	votes, readable := map[string]int{}, 0
	for _, s := range st {
		if s.err == nil && s.present {
			if s.recorded != "" {
				continue // holds content that does not match its own record
			}
			votes[s.sum]++
			readable++
		}
	}
	for sum, n := range votes {
		if 2*n > len(st) {
			return sum, ""
		}
	}
	if readable == 0 {
		return "", "no copy holds content matching its recorded sha256, or none is readable"
	}
	return "", fmt.Sprintf("no recorded sha256 and no majority among %d readable copies", readable)
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

package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gocloud.dev/blob"

	"github.com/civicport/civicport/blob/digest"
)

// Kinds of problem CheckBucket finds, comparing a bucket with its log.
const (
	Unlogged   Kind = "unlogged"   // the bucket holds an object no entry accounts for (written around the log, or after a logged delete)
	Gone       Kind = "gone"       // the log says the object is there; the bucket does not have it
	Changed    Kind = "changed"    // the object's SHA-256 is not the one its latest write entry records
	Unfinished Kind = "unfinished" // an intent with no completion after it: a crash or a failed record between the change and its entry
)

// BucketReport is what CheckBucket found.
type BucketReport struct {
	Entries  int64 // log entries for the bucket
	Objects  int64 // objects in the bucket
	Hashed   int64 // objects read and hashed
	Problems []Problem
}

// OK reports whether the bucket and its log agree.
func (r *BucketReport) OK() bool { return len(r.Problems) == 0 }

// objState is what the log says of one key.
type objState struct {
	present bool
	sha     string // "" when the log does not know it (a copy of an unknown source)
	index   int64  // the entry that set it
	intent  int64  // index of an intent with no completion yet, or -1
	op      string // that intent's operation
}

// CheckBucket compares the bucket b with what the audit log in logBucket
// says of it: the entries whose Bucket is name, replayed in order (write,
// copy from, delete, and Wrap's intents). It reports every object b holds
// that no entry accounts for (Unlogged), every object the log says is
// there that b lacks (Gone), every object whose bytes do not hash to the
// SHA-256 of its latest write (Changed: b is read whole), and every intent
// that was never completed (Unfinished). A log with a missing entry is
// ErrDamaged, as for Open. It does not otherwise check the log itself:
// run Verify with the verifier key first, or the log's entries are only
// as good as the bucket that holds them. Memory grows with the number of
// keys the log names for b.
func CheckBucket(ctx context.Context, logBucket, b *blob.Bucket, name string) (*BucketReport, error) {
	data, err := readEntries(ctx, logBucket)
	if err != nil {
		return nil, err
	}
	rep := &BucketReport{}
	state := map[string]*objState{}
	get := func(k string) *objState {
		st := state[k]
		if st == nil {
			st = &objState{intent: -1, index: -1}
			state[k] = st
		}
		return st
	}
	for i, d := range data {
		e, err := ParseEntry(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v (run audit verify)", ErrDamaged, EntryKey(int64(i)), err)
		}
		data[i] = nil
		if e.Bucket != name {
			continue
		}
		rep.Entries++
		st := get(e.Key)
		op := e.Operation
		if strings.HasPrefix(op, IntentPrefix) {
			st.intent, st.op = e.Index, op
			continue
		}
		if st.intent >= 0 && st.op == IntentPrefix+op {
			st.intent = -1
		}
		switch {
		case op == "write":
			st.present, st.sha, st.index = true, e.SHA256, e.Index
		case strings.HasPrefix(op, copyFromPrefix):
			src := strings.TrimPrefix(op, copyFromPrefix)
			sha := e.SHA256
			if s, ok := state[src]; ok && sha == "" && s.present {
				sha = s.sha
			}
			st.present, st.sha, st.index = true, sha, e.Index
		case op == "delete":
			st.present, st.sha, st.index = false, "", e.Index
		}
	}

	seen := map[string]bool{}
	it := b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("audit: list the bucket: %w", err)
		}
		if obj.IsDir {
			continue
		}
		rep.Objects++
		seen[obj.Key] = true
		st := state[obj.Key]
		switch {
		case st == nil || (st.index < 0 && st.intent < 0):
			rep.add(Problem{Index: -1, Object: obj.Key, Kind: Unlogged, Detail: "no entry of the log mentions it"})
		case !st.present && st.intent < 0:
			rep.add(Problem{Index: st.index, Object: obj.Key, Kind: Unlogged, Detail: fmt.Sprintf("the log deleted it at entry %d, and nothing wrote it since", st.index)})
		case st.present && st.sha != "" && st.intent < 0:
			sum, _, err := digest.HashObject(ctx, b, obj.Key)
			if err != nil {
				return nil, fmt.Errorf("audit: read %q: %w", obj.Key, err)
			}
			rep.Hashed++
			if sum != st.sha {
				rep.add(Problem{Index: st.index, Object: obj.Key, Kind: Changed, Detail: fmt.Sprintf("its SHA-256 is %s; entry %d recorded %s", sum, st.index, st.sha)})
			}
		}
	}
	var ks []string
	for k := range state {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		st := state[k]
		if st.intent >= 0 {
			where := "the object is not there"
			if seen[k] {
				where = "the object is there: changed, but not recorded"
			}
			rep.add(Problem{Index: st.intent, Object: k, Kind: Unfinished, Detail: fmt.Sprintf("%s at entry %d has no completion (%s)", st.op, st.intent, where)})
			continue
		}
		if st.present && !seen[k] {
			rep.add(Problem{Index: st.index, Object: k, Kind: Gone, Detail: fmt.Sprintf("entry %d says it is there", st.index)})
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Object < rep.Problems[j].Object })
	return rep, nil
}

func (r *BucketReport) add(p Problem) { r.Problems = append(r.Problems, p) }

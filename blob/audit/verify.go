package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Kind classifies a Problem.
type Kind string

// Problem kinds.
const (
	Missing      Kind = "missing"       // an entry below the highest one is not there (removed)
	Malformed    Kind = "malformed"     // an object does not parse
	Misplaced    Kind = "misplaced"     // entries/N holds another index (reordered, inserted, renumbered)
	ChainBroken  Kind = "chain-broken"  // an entry's prev is not the record hash of the entry before
	Altered      Kind = "altered"       // an entry differs from the hash recorded when it was appended
	Truncated    Kind = "truncated"     // a signed checkpoint covers more entries than the log holds
	RootMismatch Kind = "root-mismatch" // the recomputed tree differs from a signed root
	Inconsistent Kind = "inconsistent"  // an older checkpoint is not a prefix of the latest
	BadSignature Kind = "bad-signature" // a checkpoint's signature does not verify (forged or edited)
	WrongKey     Kind = "wrong-key"     // a checkpoint is not signed by the expected key
	Stray        Kind = "stray"         // an object in the log's folders that the log never writes
)

// Problem is one finding of Verify.
type Problem struct {
	Index  int64  // the entry it names exactly, or -1
	Object string // the object it is about
	Kind   Kind
	Detail string
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s %s", p.Kind, p.Object)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Report is the result of Verify.
type Report struct {
	Entries           int64     // entries in order from 0 with none missing
	Checkpoints       int       // checkpoint objects read (history and latest)
	TreeSize          int64     // size of the latest good checkpoint (0 if none)
	RootHash          tlog.Hash // its root hash
	Origin            string    // its origin line
	SignaturesChecked bool      // false when Verify was given no verifier
	// FirstBad is the first entry that is not as signed or not as
	// written, or -1. With only a checkpoint problem it may stay -1.
	FirstBad int64
	Problems []Problem
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Unsigned is the number of entries after the latest checkpoint: they
// chain, but no signature covers them yet.
func (r *Report) Unsigned() int64 { return max(r.Entries-r.TreeSize, 0) }

func (r *Report) add(p Problem) { r.Problems = append(r.Problems, p) }

// Verify checks the whole log in b without trusting anything in it but the
// checkpoint signatures, which are checked against verifier (nil: structure
// and hashes only; Report.SignaturesChecked is false). It returns an error
// only when the bucket cannot be read; findings are in the Report.
func Verify(ctx context.Context, b *blob.Bucket, verifier note.Verifier, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	rep := &Report{FirstBad: -1, SignaturesChecked: verifier != nil}

	// Entries and their recorded hashes.
	entryKeys, err := list(ctx, b, entryPrefix)
	if err != nil {
		return nil, err
	}
	hashKeys, err := list(ctx, b, hashPrefix)
	if err != nil {
		return nil, err
	}
	present := map[int64]bool{}
	var maxIndex int64 = -1
	for _, k := range entryKeys {
		i, ok := parseIndex(k, entryPrefix, ".json")
		if !ok {
			rep.add(Problem{Index: -1, Object: k, Kind: Stray, Detail: "not an entry name"})
			continue
		}
		present[i] = true
		maxIndex = max(maxIndex, i)
	}
	hashPresent := map[int64]bool{}
	for _, k := range hashKeys {
		if i, ok := parseIndex(k, hashPrefix, ""); ok {
			hashPresent[i] = true
		}
	}
	data := make([][]byte, maxIndex+1)
	recorded := make([][]byte, maxIndex+1)
	if err := readAll(ctx, maxIndex+1, func(i int64) error {
		var err error
		if present[i] {
			if data[i], err = readObject(ctx, b, EntryKey(i)); err != nil {
				return err
			}
		}
		if hashPresent[i] {
			recorded[i], err = readObject(ctx, b, hashKey(i))
		}
		return err
	}); err != nil {
		return nil, err
	}

	var hashes []tlog.Hash
	hr := storedHashes(&hashes)
	contiguous := true
	for i := int64(0); i <= maxIndex; i++ {
		key := EntryKey(i)
		if data[i] == nil {
			rep.add(Problem{Index: i, Object: key, Kind: Missing, Detail: fmt.Sprintf("entries up to %d exist but this one does not (removed?)", maxIndex)})
			contiguous = false
			continue
		}
		rh := tlog.RecordHash(data[i])
		if contiguous {
			h, err := tlog.StoredHashes(i, data[i], hr)
			if err != nil {
				return nil, err
			}
			hashes = append(hashes, h...)
			rep.Entries = i + 1
		}
		if r := recorded[i]; r != nil && (len(r) < tlog.HashSize || tlog.Hash(r[:tlog.HashSize]) != rh) {
			rep.add(Problem{Index: i, Object: key, Kind: Altered, Detail: "differs from the hash recorded when it was appended (" + hashKey(i) + ")"})
		}
		e, err := ParseEntry(data[i])
		if err != nil {
			rep.add(Problem{Index: i, Object: key, Kind: Malformed, Detail: err.Error()})
			continue
		}
		if e.Index != i {
			rep.add(Problem{Index: i, Object: key, Kind: Misplaced, Detail: fmt.Sprintf("holds entry %d (entries reordered, inserted or renumbered)", e.Index)})
		}
		switch {
		case i == 0 && e.Prev != (tlog.Hash{}):
			rep.add(Problem{Index: i, Object: key, Kind: ChainBroken, Detail: "the first entry names a previous entry"})
		case i > 0 && data[i-1] != nil && e.Prev != tlog.RecordHash(data[i-1]):
			rep.add(Problem{Index: i, Object: key, Kind: ChainBroken, Detail: fmt.Sprintf("its previous-entry hash does not match entry %d", i-1)})
		}
	}

	// Checkpoints.
	cpKeys, err := list(ctx, b, checkpointPrefix)
	if err != nil {
		return nil, err
	}
	if ok, err := b.Exists(ctx, latestKey); err != nil {
		return nil, err
	} else if ok {
		cpKeys = append(cpKeys, latestKey)
	}
	type signed struct {
		key string
		cp  Checkpoint
	}
	var cps []signed
	var vs note.Verifiers = note.VerifierList()
	if verifier != nil {
		vs = note.VerifierList(verifier)
	}
	for _, k := range cpKeys {
		rep.Checkpoints++
		size, named := parseIndex(k, checkpointPrefix, "")
		if k != latestKey && !named {
			rep.add(Problem{Index: -1, Object: k, Kind: Stray, Detail: "not a checkpoint name"})
			continue
		}
		msg, err := readObject(ctx, b, k)
		if err != nil {
			return nil, err
		}
		n, err := note.Open(msg, vs)
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case err == nil:
		case errors.As(err, &unverified) && verifier == nil:
			n = unverified.Note
		case errors.As(err, &unverified):
			rep.add(Problem{Index: -1, Object: k, Kind: WrongKey, Detail: "not signed by " + verifier.Name() + " " + signers(unverified.Note)})
			continue
		case errors.As(err, &invalid):
			rep.add(Problem{Index: -1, Object: k, Kind: BadSignature, Detail: fmt.Sprintf("the signature by %s does not verify (forged or edited checkpoint)", verifier.Name())})
			continue
		default:
			rep.add(Problem{Index: -1, Object: k, Kind: Malformed, Detail: err.Error()})
			continue
		}
		cp, err := ParseCheckpoint(n.Text)
		if err != nil {
			rep.add(Problem{Index: -1, Object: k, Kind: Malformed, Detail: err.Error()})
			continue
		}
		if named && cp.N != size {
			rep.add(Problem{Index: -1, Object: k, Kind: Misplaced, Detail: fmt.Sprintf("holds a checkpoint of size %d", cp.N)})
			continue
		}
		if o.Origin != "" && cp.Origin != o.Origin {
			rep.add(Problem{Index: -1, Object: k, Kind: WrongKey, Detail: fmt.Sprintf("origin %q, want %q", cp.Origin, o.Origin)})
			continue
		}
		cps = append(cps, signed{k, cp})
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].cp.N < cps[j].cp.N })

	// Each signed root against the recomputed tree. The largest matching
	// size below the smallest mismatching one bounds where the damage is.
	matched, mismatched := int64(0), int64(-1)
	good := map[int64]bool{} // sizes whose signed root matches the entries
	for _, s := range cps {
		if s.cp.N > rep.Entries {
			rep.add(Problem{Index: rep.Entries, Object: s.key, Kind: Truncated, Detail: fmt.Sprintf("signs %d entries but the log holds %d in order: entries from %d on are gone", s.cp.N, rep.Entries, rep.Entries)})
			continue
		}
		root, err := tlog.TreeHash(s.cp.N, hr)
		if err != nil {
			return nil, err
		}
		if root == s.cp.Hash {
			good[s.cp.N] = true
			if mismatched < 0 || s.cp.N < mismatched {
				matched = max(matched, s.cp.N)
			}
			continue
		}
		if mismatched < 0 || s.cp.N < mismatched {
			mismatched = s.cp.N
		}
		rep.add(Problem{Index: -1, Object: s.key, Kind: RootMismatch, Detail: fmt.Sprintf("the %d entries do not hash to the signed root", s.cp.N)})
	}
	if len(cps) > 0 {
		latest := cps[len(cps)-1]
		rep.TreeSize, rep.RootHash, rep.Origin = latest.cp.N, latest.cp.Hash, latest.cp.Origin
		for _, s := range cps {
			if s.cp.Origin != latest.cp.Origin {
				rep.add(Problem{Index: -1, Object: s.key, Kind: Inconsistent, Detail: fmt.Sprintf("origin %q, the latest checkpoint's is %q", s.cp.Origin, latest.cp.Origin)})
				continue
			}
			// Consistency can be proven from the entries only when they
			// match the latest root; otherwise the mismatch is reported.
			if s.cp.N == 0 || s.cp.N >= latest.cp.N || !good[latest.cp.N] {
				if s.cp.N == latest.cp.N && s.cp.Hash != latest.cp.Hash {
					rep.add(Problem{Index: -1, Object: s.key, Kind: Inconsistent, Detail: fmt.Sprintf("two different signed trees of size %d (a fork)", s.cp.N)})
				}
				continue
			}
			proof, err := tlog.ProveTree(latest.cp.N, s.cp.N, hr)
			if err == nil {
				err = tlog.CheckTree(proof, latest.cp.N, latest.cp.Hash, s.cp.N, s.cp.Hash)
			}
			if err != nil {
				rep.add(Problem{Index: -1, Object: s.key, Kind: Inconsistent, Detail: fmt.Sprintf("the tree of size %d is not a prefix of the latest (size %d)", s.cp.N, latest.cp.N)})
			}
		}
	}

	// The first bad entry: the lowest one a problem names exactly; failing
	// that, the first entry no matching checkpoint covers.
	for _, p := range rep.Problems {
		if p.Index >= 0 && (rep.FirstBad < 0 || p.Index < rep.FirstBad) {
			rep.FirstBad = p.Index
		}
	}
	if rep.FirstBad < 0 && mismatched >= 0 {
		rep.FirstBad = matched
		var detail string
		if mismatched-matched == 1 {
			detail = fmt.Sprintf("the only entry between checkpoint %d (matches) and %d (does not)", matched, mismatched)
		} else {
			detail = fmt.Sprintf("the first of entries %d..%d, between checkpoint %d (matches) and %d (does not); rewritten so that the chain and recorded hashes agree", matched, mismatched-1, matched, mismatched)
		}
		rep.add(Problem{Index: matched, Object: EntryKey(matched), Kind: RootMismatch, Detail: detail})
	}
	return rep, nil
}

func signers(n *note.Note) string {
	var names []string
	for _, s := range n.UnverifiedSigs {
		names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	if len(names) == 0 {
		return "(no signature)"
	}
	return "(signed by " + strings.Join(names, ", ") + ")"
}

func list(ctx context.Context, b *blob.Bucket, prefix string) ([]string, error) {
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("audit: list %s: %w", prefix, err)
		}
		keys = append(keys, obj.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// readAll calls read(i) for i in [0, n) with a few workers.
func readAll(ctx context.Context, n int64, read func(int64) error) error {
	const workers = 8
	jobs := make(chan int64)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := read(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := int64(0); i < n; i++ {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("audit: %w", first)
	}
	return ctx.Err()
}

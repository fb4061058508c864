package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ProofFormat is the Format of a Proof written by this version.
const ProofFormat = "civicport-audit-proof-v1"

// A Proof shows, to anyone holding the log's verifier key and nothing
// else, that one entry is in the signed log: the entry's exact bytes, its
// index, a signed checkpoint and the Merkle inclusion proof (RFC 6962)
// from the entry to that checkpoint's root. It is a self-contained JSON
// document an auditor can keep and hand around; Check verifies it offline.
//
// Checking without civicport: open Checkpoint with note.Open and the
// verifier key; its text is origin, tree size N and root hash (C2SP
// tlog-checkpoint); then tlog.CheckRecord(Proof, N, root, Index,
// tlog.RecordHash([]byte(Entry))) with the hashes base64-decoded.
type Proof struct {
	Format     string   `json:"format"`     // ProofFormat
	Index      int64    `json:"index"`      // the entry's index in the log
	Entry      string   `json:"entry"`      // the entry's stored bytes (one line of JSON), exactly
	Checkpoint string   `json:"checkpoint"` // the signed note the proof leads to
	Hashes     []string `json:"proof"`      // the inclusion proof, base64 tlog hashes, leaf to root
}

// ProofOf returns the Proof for entry index (see Prove for which
// checkpoint it is against).
func (l *Log) ProofOf(ctx context.Context, index int64) (*Proof, error) {
	rp, cp, entry, err := l.Prove(ctx, index)
	if err != nil {
		return nil, err
	}
	p := &Proof{Format: ProofFormat, Index: index, Entry: string(entry), Checkpoint: string(cp)}
	for _, h := range rp {
		p.Hashes = append(p.Hashes, h.String())
	}
	return p, nil
}

// ErrNoEntry is returned by Find when no entry names the object.
var ErrNoEntry = errors.New("audit: no entry for that object")

// Find returns the index of the latest entry for key in bucket (bucket ""
// matches any bucket) whose operation is op (op "" matches any). It reads
// the entries from the newest back, so its cost grows with how far back
// the entry is, up to the whole log.
func (l *Log) Find(ctx context.Context, bucket, key, op string) (int64, error) {
	l.mu.Lock()
	err := l.catchUp(ctx)
	n := l.n
	l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	for i := n - 1; i >= 0; i-- {
		data, err := l.b.ReadAll(ctx, EntryKey(i))
		if err != nil {
			return 0, err
		}
		e, err := ParseEntry(data)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrDamaged, EntryKey(i), err)
		}
		if e.Key == key && (bucket == "" || e.Bucket == bucket) && (op == "" || e.Operation == op) {
			return i, nil
		}
	}
	return 0, ErrNoEntry
}

// ReadProof decodes a Proof written as JSON.
func ReadProof(r io.Reader) (*Proof, error) {
	var p Proof
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("audit: not a proof: %v", err)
	}
	if p.Format != ProofFormat {
		return nil, fmt.Errorf("audit: proof format %q: want %q", p.Format, ProofFormat)
	}
	return &p, nil
}

// ErrProof is wrapped by Check when a proof does not hold: a bad
// signature, another key, an entry or hash changed, or a proof for another
// tree.
var ErrProof = errors.New("audit: the proof does not hold")

// Check verifies p with only the log's verifier key: the checkpoint's
// signature, and that Entry is entry Index of the tree the checkpoint
// signs. It returns the entry and the checkpoint it was proven against.
// A proof that does not hold wraps ErrProof; a malformed one is an
// ordinary error.
func (p *Proof) Check(verifier note.Verifier) (Entry, Checkpoint, error) {
	if verifier == nil {
		return Entry{}, Checkpoint{}, errors.New("audit: Check: nil verifier")
	}
	rp := make(tlog.RecordProof, len(p.Hashes))
	for i, s := range p.Hashes {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return Entry{}, Checkpoint{}, fmt.Errorf("audit: proof hash %d: %v", i, err)
		}
		rp[i] = h
	}
	entry := []byte(p.Entry)
	cp, err := checkRecord(verifier, []byte(p.Checkpoint), entry, p.Index, rp)
	if err != nil {
		return Entry{}, cp, err
	}
	e, err := ParseEntry(entry)
	if err != nil {
		return Entry{}, cp, fmt.Errorf("%w: %v", ErrProof, err)
	}
	if e.Index != p.Index {
		return Entry{}, cp, fmt.Errorf("%w: the entry says index %d, the proof %d", ErrProof, e.Index, p.Index)
	}
	return e, cp, nil
}

// WriteTo writes p as indented JSON.
func (p *Proof) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return 0, err
	}
	return buf.WriteTo(w)
}

package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/civicport/civicport/internal/blobcopy"
)

// Object names in the log's bucket.
const (
	entryPrefix      = "entries/"
	hashPrefix       = "hashes/"
	checkpointPrefix = "checkpoints/"
	latestKey        = "checkpoint"
)

// EntryKey is the object holding entry index.
func EntryKey(index int64) string { return fmt.Sprintf("%s%016d.json", entryPrefix, index) }

func hashKey(index int64) string      { return fmt.Sprintf("%s%016d", hashPrefix, index) }
func checkpointKey(size int64) string { return fmt.Sprintf("%s%016d", checkpointPrefix, size) }

// parseIndex returns the number in name (after prefix, before suffix), or
// false when name is not exactly such an object name.
func parseIndex(name, prefix, suffix string) (int64, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, suffix); !ok || len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// Entry is one custody event.
type Entry struct {
	Index     int64     // set by Append
	Time      time.Time // set by Append when zero; stored as RFC 3339 UTC
	Actor     string    // who (a user, a service account, a host)
	Operation string    // what: "write", "copy", "delete", "verify", ...
	Bucket    string    // where (a bucket URL without secrets, or a name)
	Key       string    // which object
	SHA256    string    // the object's SHA-256, 64 hex digits; empty when not applicable
	Prev      tlog.Hash // record hash of the entry before; set by Append
}

// wireEntry is the stored form; the field order is fixed.
type wireEntry struct {
	Index     int64  `json:"index"`
	Time      string `json:"time"`
	Actor     string `json:"actor"`
	Operation string `json:"op"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256,omitempty"`
	Prev      string `json:"prev"`
}

// encode returns the record bytes of e: one line of JSON.
func encode(e Entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(wireEntry{
		Index: e.Index, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
		Operation: e.Operation, Bucket: e.Bucket, Key: e.Key, SHA256: e.SHA256,
		Prev: e.Prev.String(),
	})
	return buf.Bytes(), err
}

// ParseEntry decodes the bytes of an entries/N object.
func ParseEntry(data []byte) (Entry, error) {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("not an audit entry: %v", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not an audit entry: data after the JSON object")
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("not an audit entry: time: %v", err)
	}
	prev, err := tlog.ParseHash(w.Prev)
	if err != nil {
		return Entry{}, fmt.Errorf("not an audit entry: prev: %v", err)
	}
	return Entry{Index: w.Index, Time: t, Actor: w.Actor, Operation: w.Operation,
		Bucket: w.Bucket, Key: w.Key, SHA256: w.SHA256, Prev: prev}, nil
}

func checkFields(e Entry) error {
	if e.Operation == "" {
		return errors.New("audit: an entry needs an operation")
	}
	if e.SHA256 != "" {
		if _, err := hex.DecodeString(e.SHA256); err != nil || len(e.SHA256) != 64 {
			return fmt.Errorf("audit: sha256 %q: want 64 hex digits", e.SHA256)
		}
	}
	return nil
}

// Options configure Open and Verify. The zero value is usable.
type Options struct {
	// Origin is the checkpoints' first line, naming the log. Open defaults
	// it to the signer's key name (as C2SP tlog-checkpoint recommends);
	// Verify, when set, requires every checkpoint to carry it.
	Origin string
	// Actor is used by Record (and by Append for entries without one).
	Actor string
	// Now returns the time of new entries; time.Now by default.
	Now func() time.Time
}

// Recorder is what the blob decorators call to log a custody event.
// *Log implements it.
type Recorder interface {
	Record(ctx context.Context, op, bucket, key, sha256 string) error
}

// ErrDamaged is returned (wrapped) by Open and Append when the stored log
// does not hang together; run Verify for the full findings.
var ErrDamaged = errors.New("audit log is damaged")

// Log is an open audit log. Its methods are safe for concurrent use; several
// processes may append to one bucket at once.
type Log struct {
	b      *blob.Bucket
	signer note.Signer
	origin string
	actor  string
	now    func() time.Time

	mu     sync.Mutex
	n      int64       // entries known
	hashes []tlog.Hash // stored hashes of the tree of size n
	last   tlog.Hash   // record hash of entry n-1
}

var _ Recorder = (*Log)(nil)

// Open reads the log in b (an empty bucket is an empty log) and returns it
// for appending. signer signs checkpoints; with a nil signer the Log can
// append and prove but not sign. Open reads every entry (it recomputes the
// tree rather than trust stored hashes) and fails with ErrDamaged if they do
// not chain or one is missing: appending to a damaged log would hide the
// damage.
func Open(ctx context.Context, b *blob.Bucket, signer note.Signer, opts *Options) (*Log, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Origin == "" && signer != nil {
		o.Origin = signer.Name()
	}
	l := &Log{b: b, signer: signer, origin: o.Origin, actor: o.Actor, now: o.Now}
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := readEntries(ctx, b)
	if err != nil {
		return nil, err
	}
	for _, d := range data {
		if err := l.add(d); err != nil {
			return nil, err
		}
	}
	if err := l.catchUp(ctx); err != nil { // entries written since the listing
		return nil, err
	}
	return l, nil
}

// readEntries reads every entry of the log in b, in parallel, and returns
// their bytes in index order. A gap (entries/N missing while a later one
// exists) is ErrDamaged.
func readEntries(ctx context.Context, b *blob.Bucket) ([][]byte, error) {
	keys, err := list(ctx, b, entryPrefix)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, k := range keys { // sorted: entries/0000000000000000.json first
		i, ok := parseIndex(k, entryPrefix, ".json")
		if !ok {
			continue
		}
		if i != n {
			return nil, fmt.Errorf("%w: %s is missing but %s exists", ErrDamaged, EntryKey(n), k)
		}
		n++
	}
	data := make([][]byte, n)
	if err := readAll(ctx, n, func(i int64) (err error) {
		data[i], err = b.ReadAll(ctx, EntryKey(i))
		return err
	}); err != nil {
		return nil, err
	}
	return data, nil
}

func (l *Log) hashReader() tlog.HashReader { return storedHashes(&l.hashes) }

// storedHashes reads tlog's stored hashes from *hashes, as the slice is at
// each read (it grows as entries are hashed).
func storedHashes(hashes *[]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(*hashes)) {
				return nil, fmt.Errorf("audit: no stored hash %d", x)
			}
			out[i] = (*hashes)[x]
		}
		return out, nil
	})
}

// readObject returns the object's bytes, or nil, nil when it does not exist.
func readObject(ctx context.Context, b *blob.Bucket, key string) ([]byte, error) {
	data, err := b.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err == nil && data == nil {
		data = []byte{} // exists, empty
	}
	return data, err
}

// catchUp reads entries l.n, l.n+1, ... that exist (written by another
// writer, or by an earlier run) into l. l.mu is held.
func (l *Log) catchUp(ctx context.Context) error {
	for {
		data, err := readObject(ctx, l.b, EntryKey(l.n))
		if err != nil {
			return fmt.Errorf("audit: read %s: %w", EntryKey(l.n), err)
		}
		if data == nil {
			return nil
		}
		if err := l.add(data); err != nil {
			return err
		}
	}
}

// add checks the record data of entry l.n and adds it to the tree.
func (l *Log) add(data []byte) error {
	e, err := ParseEntry(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDamaged, EntryKey(l.n), err)
	}
	if e.Index != l.n {
		return fmt.Errorf("%w: %s holds entry %d", ErrDamaged, EntryKey(l.n), e.Index)
	}
	if e.Prev != l.last {
		return fmt.Errorf("%w: %s: previous-entry hash does not match entry %d", ErrDamaged, EntryKey(l.n), l.n-1)
	}
	return l.addTrusted(data)
}

func (l *Log) addTrusted(data []byte) error {
	h, err := tlog.StoredHashes(l.n, data, l.hashReader())
	if err != nil {
		return err
	}
	l.hashes = append(l.hashes, h...)
	l.last = tlog.RecordHash(data)
	l.n++
	return nil
}

// Size is the number of entries this Log knows of.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Append adds e at the end of the log and returns its index. It sets
// e.Index and e.Prev, e.Time when zero, and e.Actor when empty (from
// Options.Actor).
func (l *Log) Append(ctx context.Context, e Entry) (int64, error) {
	if err := checkFields(e); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if e.Actor == "" {
		e.Actor = l.actor
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		e.Index, e.Prev = l.n, l.last
		data, err := encode(e)
		if err != nil {
			return 0, err
		}
		err = write(ctx, l.b, EntryKey(e.Index), data, true)
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			// Another writer claimed this index: read what it wrote and
			// try the next one.
			if err := l.catchUp(ctx); err != nil {
				return 0, err
			}
			if l.n == e.Index {
				return 0, fmt.Errorf("audit: write %s: the store refused it as existing, but it cannot be read: %w", EntryKey(e.Index), err)
			}
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("audit: write %s: %w", EntryKey(e.Index), err)
		}
		if err := l.addTrusted(data); err != nil {
			return 0, err
		}
		// The stored hashes object helps Verify name an altered entry
		// exactly; the log is whole without it (a crash here loses nothing
		// but that help).
		added := l.hashes[tlog.StoredHashIndex(0, e.Index):]
		buf := make([]byte, 0, len(added)*tlog.HashSize)
		for _, h := range added {
			buf = append(buf, h[:]...)
		}
		// Best effort: the entry is in; failing the call now would make a
		// caller retry and log the event twice.
		_ = write(ctx, l.b, hashKey(e.Index), buf, false)
		return e.Index, nil
	}
}

// Record appends an entry for an operation on bucket/key (Recorder).
func (l *Log) Record(ctx context.Context, op, bucket, key, sha256 string) error {
	_, err := l.Append(ctx, Entry{Operation: op, Bucket: bucket, Key: key, SHA256: sha256})
	return err
}

func write(ctx context.Context, b *blob.Bucket, key string, data []byte, ifNotExist bool) error {
	return blobcopy.Put(ctx, b, key, data, &blob.WriterOptions{
		ContentType: "application/octet-stream", IfNotExist: ifNotExist,
	})
}

// ErrNoSigner is returned by Checkpoint on a Log opened without a signer.
var ErrNoSigner = errors.New("audit: the log was opened without a signer")

// Checkpoint signs the current tree (after reading entries other writers
// added), stores it as checkpoints/N and as the latest checkpoint, and
// returns the signed note.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	if l.signer == nil {
		return nil, ErrNoSigner
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.catchUp(ctx); err != nil {
		return nil, err
	}
	return l.checkpoint(ctx)
}

func (l *Log) checkpoint(ctx context.Context) ([]byte, error) {
	root, err := tlog.TreeHash(l.n, l.hashReader())
	if err != nil {
		return nil, err
	}
	signed, err := note.Sign(&note.Note{Text: FormatCheckpoint(Checkpoint{Origin: l.origin, N: l.n, Hash: root})}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	key := checkpointKey(l.n)
	err = write(ctx, l.b, key, signed, true)
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		// Signed before (by us or another writer): it must be this tree.
		old, rerr := l.b.ReadAll(ctx, key)
		if rerr != nil {
			return nil, fmt.Errorf("audit: read %s: %w", key, rerr)
		}
		if n, perr := openUnverified(old); perr == nil {
			if cp, perr2 := ParseCheckpoint(n.Text); perr2 == nil && cp.N == l.n && cp.Hash == root {
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s already holds another tree of size %d", ErrDamaged, key, l.n)
		}
	} else if err != nil {
		return nil, fmt.Errorf("audit: write %s: %w", key, err)
	}
	if err := write(ctx, l.b, latestKey, signed, false); err != nil {
		return nil, fmt.Errorf("audit: write %s: %w", latestKey, err)
	}
	return signed, nil
}

// Checkpoint is the text of a signed checkpoint.
type Checkpoint struct {
	Origin string
	N      int64     // tree size: number of entries
	Hash   tlog.Hash // root hash
}

// FormatCheckpoint returns the checkpoint text (C2SP tlog-checkpoint; with
// Origin "go.sum database tree" it is what tlog.FormatTree writes).
func FormatCheckpoint(c Checkpoint) string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.N, c.Hash)
}

// ParseCheckpoint parses a checkpoint text; extension lines after the root
// hash are ignored.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	bad := errors.New("malformed checkpoint: want origin, tree size and root hash lines")
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, bad
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return Checkpoint{}, bad
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, bad
	}
	var h tlog.Hash
	copy(h[:], raw)
	return Checkpoint{Origin: lines[0], N: n, Hash: h}, nil
}

// Prove returns the record proof that entry index is in the tree of the
// returned checkpoint, and the entry's stored bytes. With a signer the
// checkpoint is a fresh one; without, the latest stored checkpoint is used
// (unchecked: the auditor checks it with CheckInclusion).
func (l *Log) Prove(ctx context.Context, index int64) (proof tlog.RecordProof, checkpoint, entry []byte, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.catchUp(ctx); err != nil {
		return nil, nil, nil, err
	}
	if index < 0 || index >= l.n {
		return nil, nil, nil, fmt.Errorf("audit: no entry %d (the log has %d)", index, l.n)
	}
	size := l.n
	if l.signer != nil {
		if checkpoint, err = l.checkpoint(ctx); err != nil {
			return nil, nil, nil, err
		}
	} else {
		if checkpoint, err = readObject(ctx, l.b, latestKey); err != nil || checkpoint == nil {
			return nil, nil, nil, fmt.Errorf("audit: no checkpoint to prove against: %v", err)
		}
		n, err := openUnverified(checkpoint)
		if err != nil {
			return nil, nil, nil, err
		}
		cp, err := ParseCheckpoint(n.Text)
		if err != nil {
			return nil, nil, nil, err
		}
		if cp.N <= index || cp.N > l.n {
			return nil, nil, nil, fmt.Errorf("audit: the latest checkpoint (size %d) does not cover entry %d", cp.N, index)
		}
		size = cp.N
	}
	if proof, err = tlog.ProveRecord(size, index, l.hashReader()); err != nil {
		return nil, nil, nil, err
	}
	if entry, err = l.b.ReadAll(ctx, EntryKey(index)); err != nil {
		return nil, nil, nil, err
	}
	return proof, checkpoint, entry, nil
}

// CheckInclusion checks that entry (the bytes of entries/index) is entry
// index of the tree that checkpoint, signed by verifier, commits to.
// A proof that does not hold wraps ErrProof.
func CheckInclusion(verifier note.Verifier, checkpoint, entry []byte, index int64, proof tlog.RecordProof) error {
	_, err := checkRecord(verifier, checkpoint, entry, index, proof)
	return err
}

// checkRecord checks checkpoint's signature and that entry is entry index
// of the tree it signs, and returns the checkpoint.
func checkRecord(verifier note.Verifier, checkpoint, entry []byte, index int64, proof tlog.RecordProof) (Checkpoint, error) {
	n, err := note.Open(checkpoint, note.VerifierList(verifier))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", ErrProof, err)
	}
	cp, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrProof, err)
	}
	if err := tlog.CheckRecord(proof, cp.N, cp.Hash, index, tlog.RecordHash(entry)); err != nil {
		return cp, fmt.Errorf("%w: entry %d is not in the signed tree of size %d: %v", ErrProof, index, cp.N, err)
	}
	return cp, nil
}

// openUnverified parses a signed note without checking its signatures.
func openUnverified(msg []byte) (*note.Note, error) {
	n, err := note.Open(msg, note.VerifierList())
	var u *note.UnverifiedNoteError
	if errors.As(err, &u) {
		return u.Note, nil
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

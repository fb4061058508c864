package migrate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	gcblob "gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"
)

// maxManifestLine bounds one manifest line (a key of 1 KiB plus S3's 2 KiB
// of metadata fit many times over).
const maxManifestLine = 1 << 20

// ReadManifest parses a manifest: one JSON Entry per line. Errors name the
// line. A key listed twice is an error: a manifest describes each object
// once. It holds every entry in memory; SortManifest reads one of any
// size.
func ReadManifest(r io.Reader) ([]Entry, error) {
	entries, complete, err := readManifest(r)
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, errCutShort
	}
	return entries, nil
}

// readManifest parses entries; complete is false when the last line has no
// newline and does not parse (a write interrupted by a crash), in which case
// that line is left out and no error is returned for it.
func readManifest(r io.Reader) (entries []Entry, complete bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxManifestLine)
	terminated := true // whether the line just scanned ended with a newline
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		if tok != nil {
			terminated = adv > len(tok)
		}
		return adv, tok, err
	})
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e, err := decodeEntry(line)
		if err != nil {
			if !terminated {
				return entries, false, nil // the line a crash cut short
			}
			return nil, false, fmt.Errorf("manifest line %d: not a manifest entry: %v", n, err)
		}
		if err := checkEntry(n, &e); err != nil {
			return nil, false, err
		}
		if prev, dup := seen[e.Key]; dup {
			return nil, false, fmt.Errorf("manifest line %d: key %q already listed on line %d (a --resume interrupted before it finished? run it again to complete the manifest)", n, e.Key, prev)
		}
		seen[e.Key] = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("manifest: %w", err)
	}
	return entries, true, nil
}

// decodeEntry parses one manifest line.
func decodeEntry(line []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(&e)
	return e, err
}

// checkEntry checks the entry parsed from line n.
func checkEntry(n int, e *Entry) error {
	if _, err := hex.DecodeString(e.SHA256); err != nil || e.Key == "" || len(e.SHA256) != 64 || e.Size < 0 {
		return fmt.Errorf("manifest line %d: an entry needs a key, a size >= 0 and a sha256 of 64 hex digits", n)
	}
	return nil
}

// VerifyManifest re-reads every object the manifest lists (under
// opts.Prefix) from b and checks content (SHA-256), size, content type and
// metadata against it; objects in b under the prefix that the manifest does
// not list are reported as Extra. It needs nothing but b and the manifest:
// an auditor can run it long after the copy, offline from the source.
// Beyond entries, it holds a sorted copy of them (not of the listing); see
// VerifySortedManifest for manifests too large to hold.
func VerifyManifest(ctx context.Context, b *gcblob.Bucket, entries []Entry, opts *VerifyOptions) (*VerifyReport, error) {
	return VerifySortedManifest(ctx, b, sortedEntries(entries), opts)
}

// Manifest signatures are signed notes (golang.org/x/mod/sumdb/note, the
// format of Go's checksum database), so that they can be checked with known
// tools. The note's text names the manifest by SHA-256 and size:
//
//	civicport manifest v1
//	sha256 <hex of the manifest file's bytes>
//	size <bytes>
const manifestNoteHeader = "civicport manifest v1\n"

// SignManifest returns a signed note over the manifest's bytes. Keys come
// from note.GenerateKey (the private key text starts "PRIVATE+KEY+").
func SignManifest(manifest []byte, signer note.Signer) ([]byte, error) {
	return SignManifestSum(sha256.Sum256(manifest), int64(len(manifest)), signer)
}

// SignManifestReader is SignManifest for a manifest read from r, hashed as
// it streams through: a manifest of millions of lines is never held in
// memory.
func SignManifestReader(r io.Reader, signer note.Signer) ([]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return nil, fmt.Errorf("read manifest to sign: %w", err)
	}
	return SignManifestSum([sha256.Size]byte(h.Sum(nil)), n, signer)
}

// SignManifestSum is SignManifest for a manifest known by the SHA-256 and
// size of its bytes (the counterpart of CheckManifestSignatureSum).
func SignManifestSum(sum [sha256.Size]byte, size int64, signer note.Signer) ([]byte, error) {
	text := fmt.Sprintf("%ssha256 %x\nsize %d\n", manifestNoteHeader, sum, size)
	return note.Sign(&note.Note{Text: text}, signer)
}

// ErrManifestSignature is returned (wrapped) by CheckManifestSignature when
// the signature does not verify or does not cover the manifest given.
var ErrManifestSignature = errors.New("manifest signature check failed")

// CheckManifestSignature checks that sig is a note signed by verifier
// whose text names exactly these manifest bytes.
func CheckManifestSignature(manifest, sig []byte, verifier note.Verifier) error {
	return CheckManifestSignatureSum(sha256.Sum256(manifest), int64(len(manifest)), sig, verifier)
}

// CheckManifestSignatureSum is CheckManifestSignature for a manifest known
// by the SHA-256 and size of its bytes (hashed as they were read, as by
// SortManifest, so that they need not be held in memory).
func CheckManifestSignatureSum(sum [sha256.Size]byte, size int64, sig []byte, verifier note.Verifier) error {
	n, err := note.Open(sig, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrManifestSignature, err)
	}
	lines := strings.Split(strings.TrimPrefix(n.Text, manifestNoteHeader), "\n")
	if !strings.HasPrefix(n.Text, manifestNoteHeader) || len(lines) != 3 || lines[2] != "" {
		return fmt.Errorf("%w: signed text is not a civicport manifest note", ErrManifestSignature)
	}
	if lines[0] != "sha256 "+hex.EncodeToString(sum[:]) || lines[1] != "size "+strconv.FormatInt(size, 10) {
		return fmt.Errorf("%w: the signature is for another manifest (the manifest was changed after signing?)", ErrManifestSignature)
	}
	return nil
}

// ResumeManifest opens the manifest an earlier, interrupted Run wrote at
// path, for appending, and returns its entries by key (for Options.Done).
// A last line cut short by a crash is cut off the file, and a key listed
// more than once (a resume that was itself interrupted) is compacted to its
// last entry first, so the appended lines follow complete, distinct ones;
// any other damage is an error and the file is left as it is. A run that
// copies a Done key again appends its new entry; call CompactManifest when
// the run ends so that the manifest lists each key once. The map holds
// every entry; ResumeManifestSorted keeps memory bounded at any size.
func ResumeManifest(path string) (*os.File, map[string]Entry, error) {
	f, m, err := ResumeManifestSorted(context.Background(), path, nil)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	done := make(map[string]Entry, m.Len())
	for {
		e, err := m.Next()
		if err == io.EOF {
			return f, done, nil
		}
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		done[e.Key] = e
	}
}

// CompactManifest rewrites the manifest at path so that it lists each key
// once, with its last entry, in the order keys first appeared, and without
// a last line cut short by a crash. The rewrite is atomic (a new file
// renamed over the old one, synced), so a crash leaves the old manifest or
// the new one, never a mix. A manifest already compact is not rewritten.
// Memory is bounded whatever the manifest's size: it is sorted externally
// in os.TempDir() (see SortedManifest).
func CompactManifest(path string) error {
	return CompactManifestContext(context.Background(), path, nil)
}

// CompactManifestContext is CompactManifest bounded by ctx, with its
// temporary files in opts.Dir.
func CompactManifestContext(ctx context.Context, path string, opts *SortOptions) error {
	m, err := compactManifest(ctx, path, opts.dir())
	if err != nil {
		return err
	}
	return m.Close()
}

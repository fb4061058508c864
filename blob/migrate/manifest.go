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
	"path/filepath"
	"strconv"
	"strings"

	gcblob "gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/internal/listwork"
)

// maxManifestLine bounds one manifest line (a key of 1 KiB plus S3's 2 KiB
// of metadata fit many times over).
const maxManifestLine = 1 << 20

// ReadManifest parses a manifest: one JSON Entry per line. Errors name the
// line. A key listed twice is an error: a manifest describes each object
// once.
func ReadManifest(r io.Reader) ([]Entry, error) {
	entries, complete, err := readManifest(r, false)
	if err != nil {
		return nil, err
	}
	if !complete {
		return nil, fmt.Errorf("manifest: last line is cut short (a run stopped while writing it?)")
	}
	return entries, nil
}

// readManifest parses entries; complete is false when the last line has no
// newline and does not parse (a write interrupted by a crash), in which case
// that line is left out and no error is returned for it. With supersede, a
// key listed again replaces its earlier entry (in place, so the order of
// first appearance is kept) instead of being an error: a resumed run that
// was itself interrupted before CompactManifest.
func readManifest(r io.Reader, supersede bool) (entries []Entry, complete bool, err error) {
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
	type at struct{ index, line int }
	seen := map[string]at{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			if !terminated {
				return entries, false, nil // the line a crash cut short
			}
			return nil, false, fmt.Errorf("manifest line %d: not a manifest entry: %v", n, err)
		}
		if _, err := hex.DecodeString(e.SHA256); err != nil || e.Key == "" || len(e.SHA256) != 64 || e.Size < 0 {
			return nil, false, fmt.Errorf("manifest line %d: an entry needs a key, a size >= 0 and a sha256 of 64 hex digits", n)
		}
		if prev, dup := seen[e.Key]; dup {
			if supersede {
				entries[prev.index] = e
				continue
			}
			return nil, false, fmt.Errorf("manifest line %d: key %q already listed on line %d (a --resume interrupted before it finished? run it again to complete the manifest)", n, e.Key, prev.line)
		}
		seen[e.Key] = at{len(entries), n}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("manifest: %w", err)
	}
	return entries, true, nil
}

// VerifyManifest re-reads every object the manifest lists (under
// opts.Prefix) from b and checks content (SHA-256), size, content type and
// metadata against it; objects in b under the prefix that the manifest does
// not list are reported as Extra. It needs nothing but b and the manifest:
// an auditor can run it long after the copy, offline from the source.
func VerifyManifest(ctx context.Context, b *gcblob.Bucket, entries []Entry, opts *VerifyOptions) (*VerifyReport, error) {
	o := opts.withDefaults()
	found, err := listKeys(ctx, b, o.Prefix)
	if err != nil {
		return nil, fmt.Errorf("list bucket: %w", err)
	}
	var t tally
	err = listwork.Each(ctx, o.Workers, func(yield func(Entry) bool) error {
		for _, e := range entries {
			if strings.HasPrefix(e.Key, o.Prefix) && !yield(e) {
				break
			}
		}
		return nil
	}, func(e Entry) {
		if !t.claim(found, e.Key, e.Size) {
			t.result(e.Size, &Problem{Key: e.Key, Kind: Missing})
			return
		}
		t.result(e.Size, checkObject(ctx, b, e))
	})
	if err != nil {
		return nil, err
	}
	return t.finish(found), nil
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
	sum := sha256.Sum256(manifest)
	text := fmt.Sprintf("%ssha256 %x\nsize %d\n", manifestNoteHeader, sum, len(manifest))
	return note.Sign(&note.Note{Text: text}, signer)
}

// ErrManifestSignature is returned (wrapped) by CheckManifestSignature when
// the signature does not verify or does not cover the manifest given.
var ErrManifestSignature = errors.New("manifest signature check failed")

// CheckManifestSignature checks that sig is a note signed by verifier
// whose text names exactly these manifest bytes.
func CheckManifestSignature(manifest, sig []byte, verifier note.Verifier) error {
	n, err := note.Open(sig, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrManifestSignature, err)
	}
	lines := strings.Split(strings.TrimPrefix(n.Text, manifestNoteHeader), "\n")
	if !strings.HasPrefix(n.Text, manifestNoteHeader) || len(lines) != 3 || lines[2] != "" {
		return fmt.Errorf("%w: signed text is not a civicport manifest note", ErrManifestSignature)
	}
	sum := sha256.Sum256(manifest)
	if lines[0] != "sha256 "+hex.EncodeToString(sum[:]) || lines[1] != "size "+strconv.Itoa(len(manifest)) {
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
// the run ends so that the manifest lists each key once.
func ResumeManifest(path string) (*os.File, map[string]Entry, error) {
	entries, err := compactManifest(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, err
	}
	done := make(map[string]Entry, len(entries))
	for _, e := range entries {
		done[e.Key] = e
	}
	return f, done, nil
}

// CompactManifest rewrites the manifest at path so that it lists each key
// once, with its last entry, in the order keys first appeared, and without
// a last line cut short by a crash. The rewrite is atomic (a new file
// renamed over the old one, synced), so a crash leaves the old manifest or
// the new one, never a mix. A manifest already compact is not rewritten.
func CompactManifest(path string) error {
	_, err := compactManifest(path)
	return err
}

func compactManifest(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keep := bytes.LastIndexByte(data, '\n') + 1
	entries, _, err := readManifest(bytes.NewReader(data[:keep]), true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, err
		}
	}
	if bytes.Equal(buf.Bytes(), data) {
		return entries, nil
	}
	if err := replaceFile(path, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("compact manifest %s: %w", path, err)
	}
	return entries, nil
}

// replaceFile atomically replaces path's content with data.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing to remove
	if fi, err := os.Stat(path); err == nil {
		_ = tmp.Chmod(fi.Mode().Perm())
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

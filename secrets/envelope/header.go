package envelope

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	prefixSize    = 11 // magic, version, header length
	fixedSize     = 48 // up to the first entry
	checksumSize  = sha256.Size
	minHeaderSize = fixedSize + 5 + checksumSize // one entry with a 1-byte id and a 1-byte wrapped key
)

// A Header is the parsed header of an envelope: its chunk size, the ids of
// the KEKs its data key is wrapped under, and its exact bytes. It is
// immutable; Rewrap returns a new one.
type Header struct {
	raw        []byte // the header as on the wire
	chunkSize  int
	commitment []byte // within raw
	keys       []wrappedKey
}

type wrappedKey struct {
	id      string
	wrapped []byte // within raw, or from a keeper
}

// Version returns the envelope format version.
func (h *Header) Version() int { return version }

// ChunkSize returns the plaintext bytes in every chunk but the last.
func (h *Header) ChunkSize() int { return h.chunkSize }

// Size returns the length of the header on the wire; chunk 0 starts there.
func (h *Header) Size() int64 { return int64(len(h.raw)) }

// KEKIDs returns the ids of the KEKs the data key is wrapped under, in
// header order.
func (h *Header) KEKIDs() []string {
	ids := make([]string, len(h.keys))
	for i, k := range h.keys {
		ids[i] = k.id
	}
	return ids
}

// MarshalBinary returns the header's bytes, as written before the body.
func (h *Header) MarshalBinary() ([]byte, error) {
	return bytes.Clone(h.raw), nil
}

// newHeader encodes a header. The caller has checked the KEK ids.
func newHeader(chunkSize int, commitment []byte, keys []wrappedKey) (*Header, error) {
	if len(keys) == 0 || len(keys) > maxKEKs {
		return nil, fmt.Errorf("envelope: %d wrapped keys; an envelope holds 1 to %d", len(keys), maxKEKs)
	}
	b := make([]byte, 0, 1024)
	b = append(b, magic...)
	b = append(b, version)
	b = binary.BigEndian.AppendUint32(b, 0) // the length, set below
	b = binary.BigEndian.AppendUint32(b, uint32(chunkSize))
	b = append(b, commitment...)
	b = append(b, byte(len(keys)))
	for _, k := range keys {
		b = append(b, byte(len(k.id)))
		b = append(b, k.id...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.wrapped)))
		b = append(b, k.wrapped...)
	}
	size := len(b) + checksumSize
	if size > maxHeaderSize {
		return nil, fmt.Errorf("envelope: envelope header would be %d bytes; at most %d (fewer KEKs or shorter wrapped keys)", size, maxHeaderSize)
	}
	binary.BigEndian.PutUint32(b[7:], uint32(size))
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)
	// Parsing what was just encoded gives the header sub-slices into raw.
	return parseHeader(b)
}

// ReadHeader reads an envelope header from r, reading exactly its bytes (r
// is then at chunk 0), and checks its structure and checksum. It never
// reads or allocates more than 64 KiB, whatever the length fields say.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [prefixSize]byte
	n, err := io.ReadFull(r, pre[:])
	got := pre[:n]
	if !strings.HasPrefix(magic, string(got[:min(n, len(magic))])) {
		return nil, fmt.Errorf("%w: starts with %q", ErrNotEnvelope, got[:min(n, len(magic))])
	}
	if n > len(magic) && got[len(magic)] != version {
		return nil, fmt.Errorf("%w: version %d (this code reads version %d)", ErrUnsupportedVersion, got[len(magic)], version)
	}
	if err != nil {
		return nil, readErr(err, "header", n, prefixSize)
	}
	size := binary.BigEndian.Uint32(pre[7:])
	if size < minHeaderSize || size > maxHeaderSize {
		return nil, fmt.Errorf("%w: header length field says %d bytes; must be %d to %d", ErrTampered, size, minHeaderSize, maxHeaderSize)
	}
	b := make([]byte, size)
	copy(b, pre[:])
	if n, err := io.ReadFull(r, b[prefixSize:]); err != nil {
		// The stream ended before the length the header claims. If the
		// entries and a checksum fit in what was read, the length field is
		// what is wrong (a flipped bit), not the stream.
		got := b[:prefixSize+n]
		if len(got) > fixedSize {
			if _, rest, perr := parseEntries(got[fixedSize:], int(got[47])); perr == nil && len(rest) >= checksumSize {
				return nil, fmt.Errorf("%w: header length field says %d bytes, but its entries end at byte %d", ErrTampered, size, len(got)-len(rest))
			}
		}
		return nil, readErr(err, "header", len(got), int(size))
	}
	return parseHeader(b)
}

// readErr turns a short read into ErrTruncated; other errors are the
// reader's own.
func readErr(err error, what string, got, want int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %s ends after %d of %d bytes", ErrTruncated, what, got, want)
	}
	return fmt.Errorf("envelope: reading envelope %s: %w", what, err)
}

// parseHeader parses a whole header whose magic, version and length field
// were checked. b becomes the header's raw bytes.
func parseHeader(b []byte) (*Header, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: header: "+format, append([]any{ErrTampered}, args...)...)
	}
	body, sum := b[:len(b)-checksumSize], b[len(b)-checksumSize:]
	if want := sha256.Sum256(body); subtle.ConstantTimeCompare(sum, want[:]) != 1 {
		return nil, bad("checksum mismatch")
	}
	h := &Header{
		raw:        b,
		chunkSize:  int(binary.BigEndian.Uint32(b[11:])),
		commitment: b[15:47],
	}
	if h.chunkSize < MinChunkSize || h.chunkSize > MaxChunkSize {
		return nil, bad("chunk size %d outside %d..%d", h.chunkSize, MinChunkSize, MaxChunkSize)
	}
	count := int(b[47])
	if count < 1 || count > maxKEKs {
		return nil, bad("%d wrapped keys; must be 1 to %d", count, maxKEKs)
	}
	keys, rest, err := parseEntries(body[fixedSize:], count)
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(rest) != 0 {
		return nil, bad("%d stray bytes after the entries", len(rest))
	}
	h.keys = keys
	return h, nil
}

// parseEntries parses count wrapped-key entries from the start of p and
// returns them and the bytes after them.
func parseEntries(p []byte, count int) ([]wrappedKey, []byte, error) {
	// take returns the next n bytes of p, or nil if there are not n.
	take := func(n int) []byte {
		if n > len(p) {
			return nil
		}
		t := p[:n]
		p = p[n:]
		return t
	}
	keys := make([]wrappedKey, 0, count)
	for i := range count {
		l := take(1)
		if l == nil {
			return nil, nil, fmt.Errorf("entry %d cut short", i)
		}
		id := take(int(l[0]))
		if id == nil {
			return nil, nil, fmt.Errorf("entry %d cut short", i)
		}
		if err := checkID(string(id)); err != nil {
			return nil, nil, fmt.Errorf("entry %d: %v", i, err)
		}
		w := take(2)
		if w == nil {
			return nil, nil, fmt.Errorf("entry %d cut short", i)
		}
		wlen := int(binary.BigEndian.Uint16(w))
		if wlen < 1 || wlen > maxWrappedLen {
			return nil, nil, fmt.Errorf("entry %d: wrapped key length %d; must be 1 to %d", i, wlen, maxWrappedLen)
		}
		wrapped := take(wlen)
		if wrapped == nil {
			return nil, nil, fmt.Errorf("entry %d cut short", i)
		}
		if slices.ContainsFunc(keys, func(k wrappedKey) bool { return k.id == string(id) }) {
			return nil, nil, fmt.Errorf("KEK id %q appears twice", id)
		}
		keys = append(keys, wrappedKey{id: string(id), wrapped: wrapped})
	}
	return keys, p, nil
}

// checkID reports whether id can be recorded in a header.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("envelope: empty KEK id")
	case len(id) > maxIDLen:
		return fmt.Errorf("envelope: KEK id of %d bytes; at most %d", len(id), maxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("envelope: KEK id %q is not UTF-8", id)
	case strings.ContainsFunc(id, unicode.IsControl):
		return fmt.Errorf("envelope: KEK id %q contains control characters", id)
	}
	return nil
}

// unwrapDataKey returns the data key, unwrapped by the first of keks (in the
// caller's order, among those named in the header) whose keeper can, and
// that KEK's id. The caller clears the key.
func (h *Header) unwrapDataKey(ctx context.Context, keks []KEK) ([]byte, string, error) {
	var attempts []string
	var causes []error
	committed := false // some keeper returned a key that the commitment refused
	down := false      // some keeper's service could not be reached
	for _, k := range keks {
		i := slices.IndexFunc(h.keys, func(w wrappedKey) bool { return w.id == k.ID })
		if i < 0 || k.Keeper == nil {
			continue
		}
		// Not every keeper honours ctx (localsecrets ignores it), so check.
		if err := ctx.Err(); err != nil {
			return nil, "", fmt.Errorf("envelope: unwrapping data key: %w", err)
		}
		dk, err := withRetry(ctx, func() ([]byte, error) { return k.Keeper.Decrypt(ctx, h.keys[i].wrapped) })
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, "", fmt.Errorf("envelope: unwrapping data key with KEK %q: %w", k.ID, ctx.Err())
		case err != nil && unreachable(err):
			attempts = append(attempts, fmt.Sprintf("%q: unreachable after %d tries: %v", k.ID, keeperAttempts, err))
			causes = append(causes, err)
			down = true
		case err != nil:
			attempts = append(attempts, fmt.Sprintf("%q: %v", k.ID, err))
			causes = append(causes, err)
		case len(dk) != dataKeySize:
			attempts = append(attempts, fmt.Sprintf("%q: unwrapped %d bytes, not a %d-byte data key", k.ID, len(dk), dataKeySize))
			committed = true
		case subtle.ConstantTimeCompare(commitment(dk), h.commitment) != 1:
			attempts = append(attempts, fmt.Sprintf("%q: unwrapped a key that does not match the header's key commitment", k.ID))
			committed = true
		default:
			return dk, k.ID, nil
		}
		clear(dk)
	}
	if committed {
		// A keeper authenticated and decrypted something that is not this
		// envelope's data key: the header was altered, not merely locked
		// to keys the caller lacks.
		return nil, "", &unwrapError{kind: ErrTampered, attempts: attempts, causes: causes}
	}
	if len(attempts) == 0 {
		given := make([]string, len(keks))
		for i, k := range keks {
			given[i] = k.ID
		}
		return nil, "", fmt.Errorf("%w: the header names KEKs %q, none of the given %q", ErrWrongKey, h.KEKIDs(), given)
	}
	if down {
		return nil, "", &unwrapError{kind: ErrKeyUnavailable, attempts: attempts, causes: causes}
	}
	return nil, "", &unwrapError{kind: ErrWrongKey, attempts: attempts, causes: causes}
}

// unwrapError is ErrWrongKey or ErrTampered with what each KEK said; it also
// matches each keeper's error (e.g. for gcerrors.Code).
type unwrapError struct {
	kind     error
	attempts []string
	causes   []error
}

func (e *unwrapError) Error() string {
	return fmt.Sprintf("%v (tried %s)", e.kind, strings.Join(e.attempts, "; "))
}

func (e *unwrapError) Unwrap() []error { return append([]error{e.kind}, e.causes...) }

// Rewrap returns a copy of h whose data key is wrapped under the KEKs of
// add, and no longer under the KEKs whose ids are in drop. The data key is
// unwrapped with the first KEK of using that can (as NewDecrypter would).
//
// drop is applied first; dropping an id the header lacks is a no-op, and a
// KEK of add whose id is already in the header replaces that entry, so a
// rewrap that was interrupted can simply be run again. The result must keep
// at least one wrapped key.
//
// The envelope body is unchanged: the new header followed by the old body
// (the bytes after the old h.Size()) is the rewrapped envelope. The new
// header may have a different size. A full re-encryption under a new data
// key is a separate operation: copy through NewDecrypter into NewEncrypter.
func Rewrap(ctx context.Context, h *Header, using, add []KEK, drop []string) (*Header, error) {
	if err := checkKEKs(add); err != nil {
		return nil, err
	}
	dk, _, err := h.unwrapDataKey(ctx, using)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	var keys []wrappedKey
	for _, k := range h.keys {
		if !slices.Contains(drop, k.id) && !slices.ContainsFunc(add, func(a KEK) bool { return a.ID == k.id }) {
			keys = append(keys, k)
		}
	}
	if keys, err = wrapAll(ctx, dk, add, keys); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("envelope: rewrap would leave the data key wrapped under no KEK")
	}
	return newHeader(h.chunkSize, h.commitment, keys)
}

package envelope

// Envelope format, version 1.
//
// All integers are unsigned, big-endian. An envelope is a header, then
// chunks 0 .. n-1 (n >= 1), then an 8-byte end marker:
//
//	envelope = header || chunk_0 || ... || chunk_{n-1} || "CVPEND01"
//
// Header (H bytes; 85 <= H <= 65536):
//
//	offset  size  field
//	0       6     magic "CVPENV"
//	6       1     version = 0x01
//	7       4     H, the header length in bytes, this prefix and the checksum included
//	11      4     C, the chunk size: plaintext bytes in every chunk but the last,
//	              16 <= C <= 16777216
//	15      32    key commitment (see below)
//	47      1     N, the number of wrapped keys, 1 <= N <= 32
//	48      ...   N entries, each:
//	                1   L, length of the KEK id, 1 <= L <= 255
//	                L   KEK id: UTF-8 without control characters, unique in the header
//	                2   W, length of the wrapped key, 1 <= W <= 4096
//	                W   the data key as encrypted by that KEK's keeper (opaque)
//	H-32    32    SHA-256 of header bytes [0, H-32)
//
// The entries must end exactly at H-32. The checksum detects corruption, not
// an attacker (who can recompute it); see "What is bound to what" below.
//
// Keys. DK is the 32-byte random data key, unique to the envelope. Two values
// are derived from it with HKDF-SHA256 (RFC 5869, empty salt):
//
//	commitment = HKDF(DK, info = "civicport envelope v1 key commitment", 32 bytes)
//	chunk key  = HKDF(DK, info = "civicport envelope v1 chunk key" || uint32(C), 32 bytes)
//
// Chunks. The plaintext is cut into chunks of exactly C bytes; the last chunk
// holds the remaining 1..C bytes, or 0 bytes if the plaintext is empty (so
// n = max(1, ceil(P/C)) for a P-byte plaintext). Chunk i is
//
//	chunk_i = nonce (12 random bytes) || AES-256-GCM(chunk key, nonce, plaintext_i, AD_i) (ciphertext, 16-byte tag)
//	AD_i    = uint64(i) || final_i     (9 bytes; final_i = 0x01 for chunk n-1, else 0x00)
//
// so every chunk but the last is C+28 bytes on the wire and the last one is
// 28 to C+28 bytes. A decoder finds the last chunk by reading to the end of
// the envelope; the plaintext size follows from the ciphertext size (see
// PlaintextSize). An envelope has at most 2^32 chunks.
//
// A decoder must: check the magic and version; check 85 <= H <= 65536 before
// reading H bytes; check the checksum; unwrap DK with a KEK named in the
// header and reject it unless its commitment equals the header's; then open
// each chunk with its index and final flag, releasing a chunk's plaintext only
// after its tag verified, and fail if the stream ends without a chunk that
// opens as final followed by the end marker.
//
// Why this construction.
//
// Nonces: when GODEBUG=fips140=only, Go 1.26 refuses caller-chosen AES-GCM
// nonces (cipher.NewGCM, NewGCMWithNonceSize and NewGCMWithTagSize fail: "use
// of GCM with arbitrary IVs is not allowed"). Its counter-nonce GCM modes are
// internal to the FIPS module (kept for TLS, SSH, QUIC and HPKE), so the one
// public AES-GCM allowed is cipher.NewGCMWithRandomNonce, where the module
// draws each 96-bit nonce from its DRBG (FIPS 140-3 IG C.H scenario 2). Hence
// a random nonce per chunk, and the chunk's index and final flag go into the
// additional data, which authenticates them just as well as a nonce would.
// SP 800-38D allows at most 2^32 random-nonce encryptions under one key; the
// chunk key is unique to the envelope and an envelope has at most 2^32
// chunks, which bounds the chance of a nonce collision below 2^-32. (A
// counter nonce would save 12 bytes per chunk, 0.02% at 64 KiB.)
//
// Key commitment: AES-GCM is not key-committing: someone able to wrap keys
// under two KEKs could give them different data keys and craft a body that
// decrypts, under each, to a different valid plaintext, so that the office's
// AWS key and its HSM would "see" different records. Every unwrapped key
// must match the header's commitment, which only one data key can.
//
// What is bound to what: chunks depend on the header only through DK and C,
// which never change for an object's life (C is in the chunk key's HKDF
// info, and DK determines the commitment). The KEK ids and wrapped keys are
// deliberately not bound into the chunks, so Rewrap can replace them and
// leave the body byte-for-byte the same; the header's length, and so the
// offset of chunk 0, may change. Editing them can only make decryption fail:
// a wrapped key that does not unwrap to the committed DK is refused.
//
// Diagnosis: a failed chunk is retried under nearby indices (and, at the end
// of the stream, under the other final flag) so that a moved, duplicated or
// dropped chunk is reported as ErrReordered and a missing last chunk as
// ErrTruncated; only a chunk that opens under no position is ErrTampered.
// The end marker is not authenticated (the final flag is what proves the
// end); it exists so that a stream cut inside its last chunk (ErrTruncated)
// can be told from a last chunk with a flipped bit (ErrTampered).

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	gcsecrets "gocloud.dev/secrets"
)

// Errors that say what is wrong with an envelope. Each error returned for a
// bad envelope matches exactly one of them with errors.Is, and its message
// says where (header, which chunk) the problem was found.
var (
	// ErrNotEnvelope: the data does not start with the envelope magic; it is
	// not an envelope (a plaintext object, another format).
	ErrNotEnvelope = errors.New("envelope: not a civicport envelope")
	// ErrUnsupportedVersion: an envelope of a version this code cannot read.
	ErrUnsupportedVersion = errors.New("envelope: unsupported envelope version")
	// ErrTruncated: the envelope ends early: inside the header, inside a
	// chunk, or after a chunk that is not the final one.
	ErrTruncated = errors.New("envelope: envelope truncated")
	// ErrReordered: a chunk is authentic but at the wrong position: chunks
	// were moved, duplicated or dropped.
	ErrReordered = errors.New("envelope: envelope chunks out of order")
	// ErrTampered: bytes of the envelope were changed (or corrupted): the
	// header checksum, a chunk's authentication, the key commitment or the
	// end marker does not verify.
	ErrTampered = errors.New("envelope: envelope tampered with or corrupted")
	// ErrWrongKey: none of the KEKs given could unwrap the data key (none is
	// named in the header, or each one's keeper refused).
	ErrWrongKey = errors.New("envelope: no key-encryption key could unwrap the data key")
	// ErrKeyUnavailable: a key service could not be reached (or could not
	// answer now), after a few tries, and no other KEK given unwrapped the
	// data key: try again later. It is not ErrWrongKey: the right key may
	// be behind the service that did not answer.
	ErrKeyUnavailable = errors.New("envelope: key service unavailable")
)

// Chunk sizes accepted by Options.
const (
	DefaultChunkSize = 64 << 10
	MinChunkSize     = 16
	MaxChunkSize     = 16 << 20
)

// ChunkOverhead is the number of bytes each chunk adds to its plaintext: a
// 12-byte nonce and a 16-byte tag. Chunk i of an envelope with header h
// starts at h.Size() + i*(h.ChunkSize()+ChunkOverhead).
const ChunkOverhead = 12 + 16

const (
	magic         = "CVPENV"
	version       = 1
	endMarker     = "CVPEND01"
	dataKeySize   = 32
	maxChunks     = 1 << 32
	maxHeaderSize = 64 << 10
	maxKEKs       = 32
	maxIDLen      = 255
	maxWrappedLen = 4096

	commitmentInfo = "civicport envelope v1 key commitment"
	chunkKeyInfo   = "civicport envelope v1 chunk key"
)

// A KEK is a key-encryption key: a keeper and the name recorded for it in
// envelope headers, by which a decrypter finds the entry to unwrap. The ID
// should name the key stably (e.g. "aws-kms/us-east-1/records"); it is
// stored in clear, so it must never contain credentials.
type KEK struct {
	ID     string
	Keeper *gcsecrets.Keeper
}

// Options configure NewEncrypter. A nil *Options means the
// defaults.
type Options struct {
	// ChunkSize is the plaintext bytes per chunk, MinChunkSize..MaxChunkSize;
	// 0 means DefaultChunkSize. Smaller chunks make range reads cheaper,
	// larger ones lower the 28-byte-per-chunk overhead. A decrypter holds
	// about two chunks in memory.
	ChunkSize int
}

// NewEncrypter writes to dst an envelope header holding a fresh data key
// wrapped under every KEK in keks (each keeper is called once, with ctx),
// and returns a writer that encrypts what is written to it into dst, one
// chunk at a time, holding at most one chunk in memory.
//
// Close encrypts the final chunk and writes the end marker; it does not close
// dst. Until Close has returned nil, what dst holds will not decrypt (it
// fails with ErrTruncated). After an error from dst, every later Write and
// Close returns it. The writer is not safe for concurrent use.
func NewEncrypter(ctx context.Context, dst io.Writer, keks []KEK, opts *Options) (io.WriteCloser, error) {
	chunkSize := DefaultChunkSize
	if opts != nil && opts.ChunkSize != 0 {
		chunkSize = opts.ChunkSize
	}
	if err := CheckChunkSize(chunkSize); err != nil {
		return nil, err
	}
	if err := CheckKEKs(keks); err != nil {
		return nil, err
	}

	dk := make([]byte, dataKeySize)
	defer clear(dk)
	rand.Read(dk) // never fails (Go 1.24+)
	keys, err := wrapAll(ctx, dk, keks, nil)
	if err != nil {
		return nil, err
	}
	h, err := newHeader(chunkSize, commitment(dk), keys)
	if err != nil {
		return nil, err
	}
	aead := chunkAEAD(dk, chunkSize)
	if _, err := dst.Write(h.raw); err != nil {
		return nil, fmt.Errorf("envelope: writing envelope header: %w", err)
	}
	return &encrypter{
		dst:   dst,
		aead:  aead,
		buf:   make([]byte, 0, chunkSize),
		frame: make([]byte, 0, chunkSize+ChunkOverhead),
	}, nil
}

// wrapAll wraps dk under each KEK, in order, and appends the entries to keys.
func wrapAll(ctx context.Context, dk []byte, keks []KEK, keys []wrappedKey) ([]wrappedKey, error) {
	for _, k := range keks {
		// Not every keeper honours ctx (localsecrets ignores it), so check.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("envelope: wrapping data key: %w", err)
		}
		w, err := withRetry(ctx, func() ([]byte, error) { return k.Keeper.Encrypt(ctx, dk) })
		if err != nil {
			if unreachable(err) {
				return nil, fmt.Errorf("%w: wrapping data key under KEK %q (tried %d times): %w", ErrKeyUnavailable, k.ID, keeperAttempts, err)
			}
			return nil, fmt.Errorf("envelope: wrapping data key under KEK %q: %w", k.ID, err)
		}
		if len(w) == 0 || len(w) > maxWrappedLen {
			return nil, fmt.Errorf("envelope: KEK %q wrapped the data key into %d bytes; an envelope holds 1 to %d", k.ID, len(w), maxWrappedLen)
		}
		keys = append(keys, wrappedKey{id: k.ID, wrapped: w})
	}
	return keys, nil
}

// CheckKEKs reports whether keks can wrap an envelope's data key: at least
// one, at most 32, each with a keeper and a valid id (1 to 255 bytes of
// UTF-8 without control characters), no id twice. NewEncrypter and Rewrap
// check the same; a decorator can call it when it is built rather than at
// its first write.
func CheckKEKs(keks []KEK) error {
	if len(keks) == 0 {
		return errors.New("envelope: at least one KEK is needed to wrap the data key")
	}
	return checkKEKs(keks)
}

// CheckChunkSize reports whether NewEncrypter accepts n as Options.ChunkSize
// once 0 has been replaced by DefaultChunkSize: MinChunkSize..MaxChunkSize.
func CheckChunkSize(n int) error {
	if n < MinChunkSize || n > MaxChunkSize {
		return fmt.Errorf("envelope: chunk size %d outside %d..%d", n, MinChunkSize, MaxChunkSize)
	}
	return nil
}

// checkKEKs checks what an envelope header can record: valid, distinct ids
// and a keeper for each.
func checkKEKs(keks []KEK) error {
	if len(keks) > maxKEKs {
		return fmt.Errorf("envelope: %d KEKs; an envelope holds at most %d", len(keks), maxKEKs)
	}
	seen := make(map[string]bool, len(keks))
	for _, k := range keks {
		if err := checkID(k.ID); err != nil {
			return err
		}
		if k.Keeper == nil {
			return fmt.Errorf("envelope: KEK %q has no keeper", k.ID)
		}
		if seen[k.ID] {
			return fmt.Errorf("envelope: KEK id %q given twice", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

// commitment returns the value that binds a header to its one data key.
func commitment(dk []byte) []byte {
	return derive(dk, commitmentInfo)
}

// chunkAEAD returns AES-256-GCM under the chunk key derived from dk, with
// module-generated random nonces (see "Nonces" above).
func chunkAEAD(dk []byte, chunkSize int) cipher.AEAD {
	key := derive(dk, string(binary.BigEndian.AppendUint32([]byte(chunkKeyInfo), uint32(chunkSize))))
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(err) // unreachable: block is an AES block
	}
	return aead
}

func derive(dk []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, dk, nil, info, 32)
	if err != nil {
		panic(err) // unreachable: SHA-256 and a 256-bit secret are allowed even in FIPS-only mode
	}
	return k
}

// chunkAD returns the additional data of chunk index: its index and whether
// it is the final chunk.
func chunkAD(ad *[9]byte, index uint64, final bool) []byte {
	binary.BigEndian.PutUint64(ad[:8], index)
	ad[8] = 0
	if final {
		ad[8] = 1
	}
	return ad[:]
}

var errClosed = errors.New("envelope: write to a closed envelope encrypter")

type encrypter struct {
	dst   io.Writer
	aead  cipher.AEAD
	buf   []byte // plaintext of the chunk being filled; cap is the chunk size
	frame []byte // sealed chunk
	ad    [9]byte
	index uint64
	err   error // sticky; errClosed after a successful Close
}

func (e *encrypter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := 0
	for len(p) > 0 {
		if len(e.buf) == cap(e.buf) {
			// A full chunk with more data after it is not the final one.
			// (A full chunk is only sealed once more data arrives, since
			// until then it might be the last.)
			if err := e.seal(false); err != nil {
				e.err = err
				return n, err
			}
		}
		m := copy(e.buf[len(e.buf):cap(e.buf)], p)
		e.buf = e.buf[:len(e.buf)+m]
		p = p[m:]
		n += m
	}
	return n, nil
}

func (e *encrypter) seal(final bool) error {
	if !final && e.index == maxChunks-1 {
		return fmt.Errorf("envelope: envelope would exceed %d chunks; use a larger chunk size", uint64(maxChunks))
	}
	e.frame = e.aead.Seal(e.frame[:0], nil, e.buf, chunkAD(&e.ad, e.index, final))
	e.index++
	e.buf = e.buf[:0]
	if _, err := e.dst.Write(e.frame); err != nil {
		return fmt.Errorf("envelope: writing envelope chunk: %w", err)
	}
	return nil
}

// Close seals the final chunk and writes the end marker. A second Close
// returns nil.
func (e *encrypter) Close() error {
	if e.err == errClosed {
		return nil
	}
	if e.err != nil {
		return e.err
	}
	err := e.seal(true)
	if err == nil {
		if _, err = io.WriteString(e.dst, endMarker); err != nil {
			err = fmt.Errorf("envelope: writing envelope end marker: %w", err)
		}
	}
	clear(e.buf[:cap(e.buf)])
	if err != nil {
		e.err = err
		return err
	}
	e.err = errClosed
	return nil
}

package envelope_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/secrets/envelope"
)

// The seed envelopes in testdata/fuzz/FuzzDecrypt are encryptions of
// pattern(n) under fuzzKEK (and for some, a second KEK "other" that the
// fuzz test does not have), with chunk sizes 16 and 64.
var fuzzKey = [32]byte{'c', 'i', 'v', 'i', 'c', 'p', 'o', 'r', 't', ' ', 'f', 'u', 'z', 'z'}

func fuzzKEK() envelope.KEK {
	return envelope.KEK{ID: "fuzz", Keeper: localsecrets.NewKeeper(fuzzKey)}
}

// pattern is the plaintext of every seed envelope, so that any authentic
// plaintext a mutated envelope yields must be a prefix of it.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31 % 251)
	}
	return b
}

// requireOneOf checks that err matches exactly one of the package's errors.
func requireOneOf(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	require.Equal(t, 1, n, "error matches %d of the package's errors: %v", n, err)
}

// FuzzReadHeader: ReadHeader never panics, reads and allocates at most 64
// KiB, returns only the package's errors, and a header it accepts
// re-encodes to exactly the bytes it read.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("CVPENV\x01\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkHeader(t, b)
		// The checksum stops almost every mutation early. Fix it (and the
		// length field) up, so that the parser behind it is fuzzed too.
		if len(b) >= 11+32 && len(b) <= 64<<10 && bytes.HasPrefix(b, []byte("CVPENV\x01")) {
			b = bytes.Clone(b)
			binary.BigEndian.PutUint32(b[7:], uint32(len(b)))
			sum := sha256.Sum256(b[:len(b)-32])
			copy(b[len(b)-32:], sum[:])
			checkHeader(t, b)
		}
	})
}

func checkHeader(t *testing.T, b []byte) {
	r := bytes.NewReader(b)
	h, err := envelope.ReadHeader(r)
	if err != nil {
		requireOneOf(t, err)
		return
	}
	read := len(b) - r.Len()
	require.EqualValues(t, read, h.Size())
	require.LessOrEqual(t, read, 64<<10)
	raw, err := h.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, b[:read], raw)
	require.GreaterOrEqual(t, h.ChunkSize(), envelope.MinChunkSize)
	require.LessOrEqual(t, h.ChunkSize(), envelope.MaxChunkSize)
	require.NotEmpty(t, h.KEKIDs())
	if size, err := envelope.PlaintextSize(int64(len(b)), h); err == nil {
		require.GreaterOrEqual(t, size, int64(0))
	}
}

// FuzzDecrypt: decrypting anything never panics, fails only with the
// package's errors, and returns only authentic plaintext: a prefix of the
// seeds' pattern. (Mutations cannot forge chunks, so this checks that no
// unauthenticated byte escapes.) An envelope that decrypts fully agrees
// with PlaintextSize and with a range read.
func FuzzDecrypt(f *testing.F) {
	kek := fuzzKEK()
	f.Fuzz(func(t *testing.T, ct []byte) {
		got, _, err := decrypt(ct, []envelope.KEK{kek})
		require.True(t, bytes.Equal(pattern(len(got)), got), "returned bytes that are not authentic: %q", got)
		if err != nil {
			requireOneOf(t, err)
			return
		}
		h := header(t, ct)
		size, err := envelope.PlaintextSize(int64(len(ct)), h)
		require.NoError(t, err)
		require.EqualValues(t, len(got), size)
		whole, err := readRange(t, h, []envelope.KEK{kek}, ct, 0, -1)
		require.NoError(t, err)
		require.Equal(t, got, whole)
	})
}

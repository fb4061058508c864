package envelope_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/secrets/envelope"
)

// sentinels are the package's errors; a bad envelope must match exactly one.
var sentinels = []error{
	envelope.ErrNotEnvelope, envelope.ErrUnsupportedVersion, envelope.ErrTruncated,
	envelope.ErrReordered, envelope.ErrTampered, envelope.ErrWrongKey, envelope.ErrKeyUnavailable,
}

// requireSentinel checks that err matches want and no other sentinel.
func requireSentinel(t testing.TB, err, want error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, want, msgAndArgs...)
	for _, s := range sentinels {
		if s != want {
			require.NotErrorIs(t, err, s, msgAndArgs...)
		}
	}
}

func newKEK(t testing.TB, id string) envelope.KEK {
	t.Helper()
	key, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	k := localsecrets.NewKeeper(key)
	t.Cleanup(func() { k.Close() })
	return envelope.KEK{ID: id, Keeper: k}
}

// plaintext returns n deterministic pseudo-random bytes.
func plaintext(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// encrypt seals pt, writing it in uneven pieces.
func encrypt(t testing.TB, pt []byte, keks []envelope.KEK, chunkSize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.NewEncrypter(context.Background(), &buf, keks, &envelope.Options{ChunkSize: chunkSize})
	require.NoError(t, err)
	step := 1
	for p := pt; len(p) > 0; {
		n := min(len(p), step)
		m, err := w.Write(p[:n])
		require.NoError(t, err)
		require.Equal(t, n, m)
		p = p[n:]
		step = step*7%99_991 + 1
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// decrypt returns what a Decrypter yields from ct, even on error.
func decrypt(ct []byte, keks []envelope.KEK) ([]byte, string, error) {
	d, err := envelope.NewDecrypter(context.Background(), bytes.NewReader(ct), keks)
	if err != nil {
		return nil, "", err
	}
	pt, err := io.ReadAll(d)
	return pt, d.KEKUsed(), err
}

func header(t testing.TB, ct []byte) *envelope.Header {
	t.Helper()
	h, err := envelope.ReadHeader(bytes.NewReader(ct))
	require.NoError(t, err)
	return h
}

// frames splits an envelope into header, chunks and end marker.
func frames(t testing.TB, ct []byte) (hdr []byte, chunks [][]byte, marker []byte) {
	t.Helper()
	h := header(t, ct)
	f := h.ChunkSize() + envelope.ChunkOverhead
	body := ct[h.Size() : len(ct)-8]
	for len(body) > f {
		chunks = append(chunks, body[:f])
		body = body[f:]
	}
	return ct[:h.Size()], append(chunks, body), ct[len(ct)-8:]
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestRoundTrip(t *testing.T) {
	kek := newKEK(t, "local")
	c := envelope.DefaultChunkSize
	for _, n := range []int{0, 1, c - 1, c, c + 1, 2 * c, 3*c + 7, 5<<20 + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := plaintext(n, uint64(n))
			ct := encrypt(t, pt, []envelope.KEK{kek}, 0)
			h := header(t, ct)
			assert.Equal(t, c, h.ChunkSize())
			assert.Equal(t, 1, h.Version())
			chunks := max(1, (n+c-1)/c)
			assert.Equal(t, int(h.Size())+n+chunks*envelope.ChunkOverhead+8, len(ct), "ciphertext size")
			size, err := envelope.PlaintextSize(int64(len(ct)), h)
			require.NoError(t, err)
			assert.Equal(t, int64(n), size)

			d, err := envelope.NewDecrypter(context.Background(), bytes.NewReader(ct), []envelope.KEK{kek})
			require.NoError(t, err)
			assert.Equal(t, "local", d.KEKUsed())
			// TestReader also checks reads of every size and io.EOF after the end.
			require.NoError(t, iotest.TestReader(d, pt))
		})
	}
}

func TestRoundTripSmallChunks(t *testing.T) {
	kek := newKEK(t, "local")
	for _, c := range []int{envelope.MinChunkSize, 100} {
		for n := range 5*c + 2 {
			pt := plaintext(n, 1)
			ct := encrypt(t, pt, []envelope.KEK{kek}, c)
			got, _, err := decrypt(ct, []envelope.KEK{kek})
			require.NoError(t, err, "chunk %d, size %d", c, n)
			require.Equal(t, pt, got)
			size, err := envelope.PlaintextSize(int64(len(ct)), header(t, ct))
			require.NoError(t, err)
			require.Equal(t, int64(n), size)
		}
	}
}

// TestLargeStream pushes 112 MiB through an encrypter, an io.Pipe and a
// decrypter, and checks that the heap allocated along the way is a few
// chunks, not the stream.
func TestLargeStream(t *testing.T) {
	if testing.Short() {
		t.Skip("112 MiB stream; skipped with -short")
	}
	const size = 112 << 20
	kek := newKEK(t, "local")
	pr, pw := io.Pipe()
	want := sha256.New()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() {
		w, err := envelope.NewEncrypter(context.Background(), pw, []envelope.KEK{kek}, nil)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		src := rand.NewChaCha8([32]byte{42})
		buf := make([]byte, 100_000) // not a multiple of the chunk size
		for n := 0; n < size; {
			b := buf[:min(len(buf), size-n)]
			src.Read(b)
			want.Write(b)
			if _, err := w.Write(b); err != nil {
				pw.CloseWithError(err)
				return
			}
			n += len(b)
		}
		pw.CloseWithError(w.Close())
	}()
	d, err := envelope.NewDecrypter(context.Background(), pr, []envelope.KEK{kek})
	require.NoError(t, err)
	got := sha256.New()
	n, err := io.CopyBuffer(got, d, make([]byte, 32<<10))
	require.NoError(t, err)
	runtime.ReadMemStats(&after)

	require.Equal(t, int64(size), n)
	require.Equal(t, want.Sum(nil), got.Sum(nil))
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("heap allocated while streaming %d MiB: %d KiB", size>>20, allocated>>10)
	assert.Less(t, allocated, uint64(4<<20), "the stream seems to be buffered")
}

func TestRing(t *testing.T) {
	aws, gcp, hsm := newKEK(t, "aws-kms/records"), newKEK(t, "gcp-kms/records"), newKEK(t, "hsm/records")
	pt := plaintext(1000, 7)
	ct := encrypt(t, pt, []envelope.KEK{aws, gcp, hsm}, 100)
	assert.Equal(t, []string{"aws-kms/records", "gcp-kms/records", "hsm/records"}, header(t, ct).KEKIDs())

	for _, kek := range []envelope.KEK{aws, gcp, hsm} {
		got, used, err := decrypt(ct, []envelope.KEK{kek})
		require.NoError(t, err, kek.ID)
		assert.Equal(t, pt, got)
		assert.Equal(t, kek.ID, used)
	}
	// The caller's order decides; KEKs the header does not name are skipped.
	_, used, err := decrypt(ct, []envelope.KEK{newKEK(t, "elsewhere"), hsm, aws})
	require.NoError(t, err)
	assert.Equal(t, "hsm/records", used)
	// A KEK that fails (here: the right id, the wrong key) is passed over.
	_, used, err = decrypt(ct, []envelope.KEK{{ID: "aws-kms/records", Keeper: newKEK(t, "x").Keeper}, gcp})
	require.NoError(t, err)
	assert.Equal(t, "gcp-kms/records", used)
}

func TestWrongKey(t *testing.T) {
	kek := newKEK(t, "county-hsm")
	ct := encrypt(t, plaintext(300, 1), []envelope.KEK{kek}, 100)

	// Same id, other key material.
	_, _, err := decrypt(ct, []envelope.KEK{{ID: "county-hsm", Keeper: newKEK(t, "x").Keeper}})
	requireSentinel(t, err, envelope.ErrWrongKey)
	assert.Contains(t, err.Error(), `"county-hsm"`)

	// No KEK the header names.
	_, _, err = decrypt(ct, []envelope.KEK{newKEK(t, "state-kms")})
	requireSentinel(t, err, envelope.ErrWrongKey)
	assert.Contains(t, err.Error(), `["county-hsm"]`)

	_, _, err = decrypt(ct, nil)
	requireSentinel(t, err, envelope.ErrWrongKey)
}

// TestTruncated cuts an envelope at every length: inside the magic, the
// header, each chunk, at each chunk boundary, inside the end marker.
func TestTruncated(t *testing.T) {
	keks := []envelope.KEK{newKEK(t, "a"), newKEK(t, "b")}
	for _, n := range []int{0, 64, 64*3 + 30} { // empty, one full final chunk, a short final chunk
		pt := plaintext(n, 3)
		ct := encrypt(t, pt, keks, 64)
		h := header(t, ct)
		for cut := range len(ct) {
			got, _, err := decrypt(ct[:cut], keks)
			requireSentinel(t, err, envelope.ErrTruncated, "plaintext %d, cut at %d of %d", n, cut, len(ct))
			require.True(t, bytes.HasPrefix(pt, got), "returned bytes that are not the plaintext's prefix")

			// A range read of an object of the cut size, as a blob whose
			// tail was lost, fails the same way.
			if int64(cut) >= h.Size() {
				_, err := readRange(t, h, keks, ct[:cut], 0, -1)
				requireSentinel(t, err, envelope.ErrTruncated, "range read, plaintext %d, cut at %d", n, cut)
			}
		}
	}
}

func TestTruncatedMessages(t *testing.T) {
	kek := newKEK(t, "a")
	ct := encrypt(t, plaintext(64*4+10, 3), []envelope.KEK{kek}, 64)
	hdr, chunks, marker := frames(t, ct)
	for _, tc := range []struct {
		ct   []byte
		want string
	}{
		{ct[:5], "header ends after 5 of 11 bytes"},
		{hdr, "no chunks after the header"},
		{join(hdr, chunks[0], chunks[1]), "ends after chunk 1, which is not the final chunk"},
		{join(hdr, chunks[0], chunks[1][:30]), "ends 30 bytes into chunk 1"},
		{join(hdr, chunks[0], chunks[1], chunks[2][:3]), "ends 3 bytes into chunk 2"},
		// Chunks dropped from the end, but the end marker kept.
		{join(hdr, chunks[0], chunks[1], marker), "ends after chunk 1, which is not the final chunk"},
		{ct[:len(ct)-1], "ends 45 bytes into chunk 4"},
	} {
		_, _, err := decrypt(tc.ct, []envelope.KEK{kek})
		requireSentinel(t, err, envelope.ErrTruncated)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestUnclosedEncrypterIsNotDecryptable(t *testing.T) {
	kek := newKEK(t, "a")
	var buf bytes.Buffer
	w, err := envelope.NewEncrypter(context.Background(), &buf, []envelope.KEK{kek}, &envelope.Options{ChunkSize: 64})
	require.NoError(t, err)
	_, err = w.Write(plaintext(64*5, 1))
	require.NoError(t, err)
	got, _, err := decrypt(buf.Bytes(), []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrTruncated)
	assert.Contains(t, err.Error(), "ends after chunk 3, which is not the final chunk")
	assert.Equal(t, plaintext(64*5, 1)[:len(got)], got)
}

func TestReordered(t *testing.T) {
	kek := newKEK(t, "a")
	for _, n := range []int{64*10 + 20, 64 * 10} { // short final chunk; full final chunk
		pt := plaintext(n, 5)
		ct := encrypt(t, pt, []envelope.KEK{kek}, 64)
		hdr, c, marker := frames(t, ct)
		last := len(c) - 1
		swap := func(i, j int) [][]byte {
			s := append([][]byte(nil), c...)
			s[i], s[j] = s[j], s[i]
			return s
		}
		for _, tc := range []struct {
			name   string
			chunks [][]byte
			at     int
			want   string
		}{
			{"swap", swap(3, 5), 3, "chunk at index 3 belongs at index 5"},
			{"swap neighbours", swap(0, 1), 0, "chunk at index 0 belongs at index 1"},
			{"duplicate", append(append(append([][]byte(nil), c[:4]...), c[2]), c[5:]...), 4, "chunk at index 4 belongs at index 2"},
			{"drop", append(append([][]byte(nil), c[:4]...), c[5:]...), 4, "chunk at index 4 belongs at index 5"},
			{"drop last but one", append(append([][]byte(nil), c[:last-1]...), c[last]), last - 1, fmt.Sprintf("belongs at index %d, the final chunk", last)},
		} {
			t.Run(fmt.Sprintf("%d/%s", n, tc.name), func(t *testing.T) {
				bad := join(hdr, bytes.Join(tc.chunks, nil), marker)
				got, _, err := decrypt(bad, []envelope.KEK{kek})
				requireSentinel(t, err, envelope.ErrReordered)
				assert.Contains(t, err.Error(), tc.want)
				assert.Equal(t, pt[:tc.at*64], got, "only the chunks before the misplaced one are returned")
			})
		}
		if n%64 == 0 {
			// A full final chunk can trade places with any other.
			bad := join(hdr, bytes.Join(swap(2, last), nil), marker)
			_, _, err := decrypt(bad, []envelope.KEK{kek})
			requireSentinel(t, err, envelope.ErrReordered)
			assert.Contains(t, err.Error(), fmt.Sprintf("chunk at index 2 belongs at index %d, the final chunk", last))

			// A range read knows the chunk count and finds it as well.
			h := header(t, bad)
			_, err = readRange(t, h, []envelope.KEK{kek}, bad, 64*2+5, 10)
			requireSentinel(t, err, envelope.ErrReordered)
			assert.Contains(t, err.Error(), fmt.Sprintf("chunk at index 2 belongs at index %d", last))
		}
	}
}

// TestFlippedBit flips one bit in every byte of an envelope encrypted under
// a ring of three KEKs: magic, version, length, chunk size, commitment, each
// wrapped key and id, checksum, each chunk's nonce, ciphertext and tag, the
// end marker. Each must fail with the right error and return no byte that
// was not authenticated.
func TestFlippedBit(t *testing.T) {
	keks := []envelope.KEK{newKEK(t, "aws"), newKEK(t, "gcp"), newKEK(t, "hsm")}
	pt := plaintext(64*3+17, 9)
	ct := encrypt(t, pt, keks, 64)
	hsize := int(header(t, ct).Size())
	f := 64 + envelope.ChunkOverhead
	for pos := range ct {
		for _, bit := range []int{0, pos % 8, 7} {
			bad := bytes.Clone(ct)
			bad[pos] ^= 1 << bit
			want := envelope.ErrTampered
			switch {
			case pos < 6:
				want = envelope.ErrNotEnvelope
			case pos == 6:
				want = envelope.ErrUnsupportedVersion
			}
			// Any one KEK would do; each is tried in turn.
			got, _, err := decrypt(bad, []envelope.KEK{keks[2], keks[1], keks[0]})
			requireSentinel(t, err, want, "bit %d of byte %d (header is %d bytes)", bit, pos, hsize)
			if pos >= hsize {
				chunk := (pos - hsize) / f
				require.Equal(t, pt[:min(len(pt), chunk*64)], got, "byte %d: chunk %d is bad; only chunks before it may be returned", pos, chunk)
			}
		}
	}
}

func TestForeignData(t *testing.T) {
	kek := newKEK(t, "a")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	_, _, err := decrypt(png, []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrNotEnvelope)
	assert.Contains(t, err.Error(), `starts with "\x89PNG\r\n"`)

	for i := range 100 {
		_, _, err := decrypt(plaintext(1+i*37, uint64(i)), []envelope.KEK{kek})
		requireSentinel(t, err, envelope.ErrNotEnvelope)
	}
	_, _, err = decrypt([]byte("Precinct,Ballots\n0001,412\n"), []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrNotEnvelope)

	ct := encrypt(t, []byte("records"), []envelope.KEK{kek}, 0)
	for _, v := range []byte{0, 2, 255} {
		future := bytes.Clone(ct)
		future[6] = v
		_, _, err := decrypt(future, []envelope.KEK{kek})
		requireSentinel(t, err, envelope.ErrUnsupportedVersion)
		assert.Contains(t, err.Error(), fmt.Sprintf("version %d", v))
	}

	// Shorter than the magic: a prefix of it is a cut envelope, else not one.
	_, _, err = decrypt(nil, []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrTruncated)
	_, _, err = decrypt([]byte("CVP"), []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrTruncated)
	_, _, err = decrypt([]byte("CVX"), []envelope.KEK{kek})
	requireSentinel(t, err, envelope.ErrNotEnvelope)
}

// TestHostileHeaderLength checks that ReadHeader refuses a huge length
// before reading or allocating it.
func TestHostileHeaderLength(t *testing.T) {
	for _, n := range []uint32{0, 84, 65537, 1 << 31, 1<<32 - 1} {
		b := binary.BigEndian.AppendUint32([]byte("CVPENV\x01"), n)
		r := iotest.ErrReader(errors.New("must not read past the length field"))
		_, err := envelope.ReadHeader(io.MultiReader(bytes.NewReader(b), r))
		requireSentinel(t, err, envelope.ErrTampered, "length %d", n)
		assert.Contains(t, err.Error(), fmt.Sprintf("header length field says %d bytes", n))
	}
	allocs := testing.AllocsPerRun(10, func() {
		envelope.ReadHeader(bytes.NewReader(binary.BigEndian.AppendUint32([]byte("CVPENV\x01"), 1<<32-1)))
	})
	assert.LessOrEqual(t, allocs, 10.0)
}

func TestHeader(t *testing.T) {
	keks := []envelope.KEK{newKEK(t, "a"), newKEK(t, "b")}
	ct := encrypt(t, plaintext(500, 1), keks, 128)
	r := bytes.NewReader(ct)
	h, err := envelope.ReadHeader(r)
	require.NoError(t, err)
	assert.Equal(t, int64(len(ct))-h.Size(), int64(r.Len()), "ReadHeader reads the header and no more")
	raw, err := h.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, ct[:h.Size()], raw)
	assert.Equal(t, 128, h.ChunkSize())
	assert.Equal(t, []string{"a", "b"}, h.KEKIDs())

	// A DataKey decrypts the body that follows the header.
	k, err := h.Unwrap(context.Background(), keks[1:])
	require.NoError(t, err)
	assert.Equal(t, "b", k.KEKUsed())
	assert.Same(t, h, k.Header())
	got, err := io.ReadAll(k.NewReader(r))
	require.NoError(t, err)
	assert.Equal(t, plaintext(500, 1), got)
}

// readRange reads a range through DataKey.NewRangeReader, fetching from ct.
func readRange(t testing.TB, h *envelope.Header, keks []envelope.KEK, ct []byte, off, n int64) ([]byte, error) {
	t.Helper()
	k, err := h.Unwrap(context.Background(), keks)
	require.NoError(t, err)
	ra := bytes.NewReader(ct)
	r, err := k.NewRangeReader(int64(len(ct)), off, n, func(off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(ra, off, n)), nil
	})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestRangeReader(t *testing.T) {
	const c = 100
	kek := newKEK(t, "a")
	for _, n := range []int{0, 1, c, 10*c + 37} {
		pt := plaintext(n, 11)
		ct := encrypt(t, pt, []envelope.KEK{kek}, c)
		h := header(t, ct)
		k, err := h.Unwrap(context.Background(), []envelope.KEK{kek})
		require.NoError(t, err)
		f := int64(c + envelope.ChunkOverhead)

		offsets := []int64{0, 1, c - 1, c, c + 1, 5*c - 1, 5 * c, int64(n) - 1, int64(n), int64(n) + 1, int64(n) + 1000}
		lengths := []int64{-1, 0, 1, 2, c - 1, c, c + 1, 3*c + 5, int64(n), 1 << 40}
		for _, off := range offsets {
			for _, length := range lengths {
				if off < 0 {
					continue
				}
				var fetched [][2]int64
				r, err := k.NewRangeReader(int64(len(ct)), off, length, func(o, l int64) (io.ReadCloser, error) {
					fetched = append(fetched, [2]int64{o, l})
					return io.NopCloser(bytes.NewReader(ct[o : o+l])), nil
				})
				require.NoError(t, err)
				got, err := io.ReadAll(r)
				require.NoError(t, err, "size %d, range %d+%d", n, off, length)
				require.NoError(t, r.Close())

				lo, hi := min(off, int64(n)), int64(n)
				if length >= 0 {
					hi = min(hi, off+length)
				}
				hi = max(lo, hi)
				require.Equal(t, pt[lo:hi], got, "size %d, range %d+%d", n, off, length)

				// Only the chunks holding the range were fetched, and the
				// final one if the range reaches the end.
				if length == 0 {
					require.Empty(t, fetched)
					continue
				}
				require.Len(t, fetched, 1)
				chunks := max(1, (int64(n)+c-1)/c)
				first, last := min(lo/c, chunks-1), chunks-1
				if hi < int64(n) {
					last = (hi - 1) / c
				}
				assert.Equal(t, h.Size()+first*f, fetched[0][0], "fetch start")
				assert.LessOrEqual(t, fetched[0][1], (last-first+1)*f+9, "fetch length")
			}
		}
	}
	// A range from an io.ReaderAt, as the package doc shows.
	pt := plaintext(5000, 2)
	ct := encrypt(t, pt, []envelope.KEK{kek}, c)
	got, err := readRange(t, header(t, ct), []envelope.KEK{kek}, ct, 1234, 2000)
	require.NoError(t, err)
	assert.Equal(t, pt[1234:3234], got)
}

func TestRangeReaderDetectsDamage(t *testing.T) {
	kek := newKEK(t, "a")
	pt := plaintext(64*8+3, 4)
	ct := encrypt(t, pt, []envelope.KEK{kek}, 64)
	h := header(t, ct)
	hdr, c, marker := frames(t, ct)

	bad := bytes.Clone(ct)
	bad[h.Size()+64*3+envelope.ChunkOverhead*3+20] ^= 1
	_, err := readRange(t, h, []envelope.KEK{kek}, bad, 64*3, 10)
	requireSentinel(t, err, envelope.ErrTampered)
	got, err := readRange(t, h, []envelope.KEK{kek}, bad, 64*4, 10)
	require.NoError(t, err, "a range that does not touch the bad chunk reads fine")
	assert.Equal(t, pt[64*4:64*4+10], got)

	c[2], c[6] = c[6], c[2]
	swapped := join(hdr, bytes.Join(c, nil), marker)
	_, err = readRange(t, h, []envelope.KEK{kek}, swapped, 64*6+1, 1)
	requireSentinel(t, err, envelope.ErrReordered)
	assert.Contains(t, err.Error(), "chunk at index 6 belongs at index 2")

	_, err = readRange(t, h, []envelope.KEK{kek}, bad, -1, 10)
	require.Error(t, err)
}

// TestRangeReaderConcurrent reads ranges of one envelope with one DataKey
// from many goroutines (run with -race).
func TestRangeReaderConcurrent(t *testing.T) {
	kek := newKEK(t, "a")
	pt := plaintext(1<<20, 6)
	ct := encrypt(t, pt, []envelope.KEK{kek}, 4096)
	k, err := header(t, ct).Unwrap(context.Background(), []envelope.KEK{kek})
	require.NoError(t, err)
	fetch := func(o, l int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ct[o : o+l])), nil }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				off := int64((g*7919 + i*104729) % len(pt))
				r, err := k.NewRangeReader(int64(len(ct)), off, 10_000, fetch)
				if !assert.NoError(t, err) {
					return
				}
				got, err := io.ReadAll(r)
				assert.NoError(t, err)
				assert.Equal(t, pt[off:min(int64(len(pt)), off+10_000)], got)
			}
		})
	}
	wg.Wait()
}

func TestPlaintextSizeOfImpossibleSizes(t *testing.T) {
	kek := newKEK(t, "a")
	ct := encrypt(t, nil, []envelope.KEK{kek}, 64)
	h := header(t, ct)
	f := int64(64 + envelope.ChunkOverhead)
	for _, size := range []int64{-1, 0, h.Size(), h.Size() + 8 + 27, h.Size() + 8 + f + 1, h.Size() + 8 + f + 28} {
		_, err := envelope.PlaintextSize(size, h)
		requireSentinel(t, err, envelope.ErrTruncated, "size %d", size)
	}
	for body, want := range map[int64]int64{28: 0, 29: 1, f: 64, f + 29: 65, 3*f + 28 + 64: 4 * 64} {
		got, err := envelope.PlaintextSize(h.Size()+body+8, h)
		require.NoError(t, err)
		assert.Equal(t, want, got, "body %d", body)
	}
}

func TestRewrap(t *testing.T) {
	ctx := context.Background()
	aws, gcp, hsm := newKEK(t, "aws"), newKEK(t, "gcp"), newKEK(t, "hsm")
	pt := plaintext(64*5+9, 8)
	ct := encrypt(t, pt, []envelope.KEK{aws, gcp}, 64)
	h := header(t, ct)
	body := ct[h.Size():]

	// Leave AWS for an on-prem HSM, unwrapping with Google's key.
	h2, err := envelope.Rewrap(ctx, h, []envelope.KEK{gcp}, []envelope.KEK{hsm}, []string{"aws"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gcp", "hsm"}, h2.KEKIDs())
	assert.Equal(t, []string{"aws", "gcp"}, h.KEKIDs(), "the old header is unchanged")
	raw, err := h2.MarshalBinary()
	require.NoError(t, err)
	ct2 := join(raw, body)

	for _, kek := range []envelope.KEK{gcp, hsm} {
		got, used, err := decrypt(ct2, []envelope.KEK{kek})
		require.NoError(t, err)
		assert.Equal(t, pt, got)
		assert.Equal(t, kek.ID, used)
	}
	_, _, err = decrypt(ct2, []envelope.KEK{aws})
	requireSentinel(t, err, envelope.ErrWrongKey)
	got, _, err := decrypt(ct, []envelope.KEK{aws})
	require.NoError(t, err, "the old envelope still opens with the old key")
	assert.Equal(t, pt, got)
	assert.Equal(t, body, ct2[h2.Size():], "the body is byte-for-byte the same")

	// Running it again is harmless: aws is gone already, hsm is re-wrapped.
	h3, err := envelope.Rewrap(ctx, h2, []envelope.KEK{gcp}, []envelope.KEK{hsm}, []string{"aws"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gcp", "hsm"}, h3.KEKIDs())
	raw3, err := h3.MarshalBinary()
	require.NoError(t, err)
	got, _, err = decrypt(join(raw3, body), []envelope.KEK{hsm})
	require.NoError(t, err)
	assert.Equal(t, pt, got)

	// Failures.
	_, err = envelope.Rewrap(ctx, h, []envelope.KEK{hsm}, []envelope.KEK{aws}, nil)
	requireSentinel(t, err, envelope.ErrWrongKey)
	_, err = envelope.Rewrap(ctx, h, []envelope.KEK{aws}, nil, []string{"aws", "gcp"})
	assert.ErrorContains(t, err, "no KEK")
	_, err = envelope.Rewrap(ctx, h, []envelope.KEK{aws}, []envelope.KEK{{ID: "", Keeper: hsm.Keeper}}, nil)
	assert.ErrorContains(t, err, "empty KEK id")
}

// TestForgedCommitment: someone who can use a KEK swaps in a wrapped key
// for another data key (and fixes the checksum); the commitment refuses it.
func TestForgedCommitment(t *testing.T) {
	ctx := context.Background()
	aws, hsm := newKEK(t, "aws"), newKEK(t, "hsm")
	ct := encrypt(t, plaintext(100, 1), []envelope.KEK{aws, hsm}, 64)
	h := header(t, ct)
	// Rewrapping another envelope's header gives a well-formed wrapped key
	// of a different data key under hsm.
	other := header(t, encrypt(t, nil, []envelope.KEK{hsm}, 64))
	otherRaw, _ := other.MarshalBinary()
	raw, _ := h.MarshalBinary()
	forged := spliceWrappedKey(t, raw, otherRaw, "hsm")
	h2, err := envelope.ReadHeader(bytes.NewReader(forged))
	require.NoError(t, err)
	_, err = h2.Unwrap(ctx, []envelope.KEK{hsm})
	requireSentinel(t, err, envelope.ErrTampered)
	assert.Contains(t, err.Error(), "key commitment")
	// The intact entry still works.
	k, err := h2.Unwrap(ctx, []envelope.KEK{hsm, aws})
	require.NoError(t, err)
	assert.Equal(t, "aws", k.KEKUsed())
}

// spliceWrappedKey returns dst with the wrapped key of id replaced by src's,
// and the length and checksum fixed: what an attacker could do.
func spliceWrappedKey(t testing.TB, dst, src []byte, id string) []byte {
	find := func(b []byte) (int, int) {
		p := 48
		for range int(b[47]) {
			l := int(b[p])
			name := string(b[p+1 : p+1+l])
			w := int(binary.BigEndian.Uint16(b[p+1+l:]))
			if name == id {
				return p + 1 + l, 2 + w
			}
			p += 1 + l + 2 + w
		}
		t.Fatalf("no entry %q", id)
		return 0, 0
	}
	do, dn := find(dst)
	so, sn := find(src)
	out := join(dst[:do], src[so:so+sn], dst[do+dn:len(dst)-32])
	binary.BigEndian.PutUint32(out[7:], uint32(len(out)+32))
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

func TestContextCanceled(t *testing.T) {
	kek := newKEK(t, "a")
	ct := encrypt(t, []byte("x"), []envelope.KEK{kek}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := envelope.NewEncrypter(ctx, io.Discard, []envelope.KEK{kek}, nil)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = envelope.NewDecrypter(ctx, bytes.NewReader(ct), []envelope.KEK{kek})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, envelope.ErrWrongKey)
	_, err = envelope.Rewrap(ctx, header(t, ct), []envelope.KEK{kek}, nil, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestEncrypterArguments(t *testing.T) {
	ctx := context.Background()
	a := newKEK(t, "a")
	for _, tc := range []struct {
		keks []envelope.KEK
		opts *envelope.Options
		want string
	}{
		{nil, nil, "at least one KEK"},
		{[]envelope.KEK{a}, &envelope.Options{ChunkSize: 15}, "chunk size 15"},
		{[]envelope.KEK{a}, &envelope.Options{ChunkSize: 16<<20 + 1}, "chunk size"},
		{[]envelope.KEK{a, a}, nil, `"a" given twice`},
		{[]envelope.KEK{{ID: "b"}}, nil, `"b" has no keeper`},
		{[]envelope.KEK{{ID: "", Keeper: a.Keeper}}, nil, "empty KEK id"},
		{[]envelope.KEK{{ID: string(make([]byte, 256)), Keeper: a.Keeper}}, nil, "256 bytes"},
		{[]envelope.KEK{{ID: "line\nbreak", Keeper: a.Keeper}}, nil, "control characters"},
	} {
		_, err := envelope.NewEncrypter(ctx, io.Discard, tc.keks, tc.opts)
		assert.ErrorContains(t, err, tc.want)
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestEncrypterWriteErrors(t *testing.T) {
	kek := newKEK(t, "a")
	_, err := envelope.NewEncrypter(context.Background(), &failingWriter{}, []envelope.KEK{kek}, nil)
	assert.ErrorContains(t, err, "disk full")

	w, err := envelope.NewEncrypter(context.Background(), &failingWriter{after: 1000}, []envelope.KEK{kek}, &envelope.Options{ChunkSize: 100})
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 10_000))
	assert.ErrorContains(t, err, "disk full")
	_, err = w.Write([]byte("x"))
	assert.ErrorContains(t, err, "disk full", "errors are sticky")
	assert.ErrorContains(t, w.Close(), "disk full")

	var buf bytes.Buffer
	w, err = envelope.NewEncrypter(context.Background(), &buf, []envelope.KEK{kek}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "a second Close is a no-op")
	_, err = w.Write([]byte("x"))
	assert.ErrorContains(t, err, "closed")
}

// TestFIPSOnly runs an envelope round trip; under GODEBUG=fips140=only it
// also checks that the mode is on (caller-chosen GCM nonces are refused).
func TestFIPSOnly(t *testing.T) {
	if fips140.Enforced() {
		block, err := aes.NewCipher(make([]byte, 32))
		require.NoError(t, err)
		_, err = cipher.NewGCM(block)
		require.Error(t, err, "fips140=only should refuse caller-chosen nonces")
		t.Log("FIPS 140-only mode is enforced")
	}
	kek := newKEK(t, "a")
	pt := plaintext(200_000, 1)
	got, _, err := decrypt(encrypt(t, pt, []envelope.KEK{kek}, 0), []envelope.KEK{kek})
	require.NoError(t, err)
	require.Equal(t, pt, got)
}

func benchmarkSize() int { return 16 << 20 }

func BenchmarkEncrypt(b *testing.B) {
	kek := newKEK(b, "a")
	pt := plaintext(benchmarkSize(), 1)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		w, err := envelope.NewEncrypter(context.Background(), io.Discard, []envelope.KEK{kek}, nil)
		require.NoError(b, err)
		for p := pt; len(p) > 0; p = p[min(len(p), 32<<10):] {
			w.Write(p[:min(len(p), 32<<10)])
		}
		require.NoError(b, w.Close())
	}
}

func BenchmarkDecrypt(b *testing.B) {
	kek := newKEK(b, "a")
	ct := encrypt(b, plaintext(benchmarkSize(), 1), []envelope.KEK{kek}, 0)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(benchmarkSize()))
	for b.Loop() {
		d, err := envelope.NewDecrypter(context.Background(), bytes.NewReader(ct), []envelope.KEK{kek})
		require.NoError(b, err)
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{d}, buf)
		require.NoError(b, err)
	}
}

// BenchmarkRangeRead reads 4 KiB at a random place in a 16 MiB envelope
// with an unwrapped DataKey: one 64 KiB chunk is decrypted.
func BenchmarkRangeRead(b *testing.B) {
	kek := newKEK(b, "a")
	ct := encrypt(b, plaintext(benchmarkSize(), 1), []envelope.KEK{kek}, 0)
	k, err := header(b, ct).Unwrap(context.Background(), []envelope.KEK{kek})
	require.NoError(b, err)
	fetch := func(o, l int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ct[o : o+l])), nil }
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		r, err := k.NewRangeReader(int64(len(ct)), rng.Int64N(int64(benchmarkSize())-4096), 4096, fetch)
		require.NoError(b, err)
		_, err = io.Copy(io.Discard, r)
		require.NoError(b, err)
	}
}

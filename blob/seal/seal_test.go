package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets/localsecrets"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/secrets/envelope"
)

func newKEK(t testing.TB, id string) envelope.KEK {
	k, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	keeper := localsecrets.NewKeeper(k)
	t.Cleanup(func() { keeper.Close() })
	return envelope.KEK{ID: id, Keeper: keeper}
}

// pattern returns n bytes of recognisable, non-repeating text.
func pattern(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "ballot %07d precinct 42 candidate Q; ", i)
	}
	return b.Bytes()[:n]
}

// fileBuckets returns a sealed bucket over a directory, and the directory's
// raw bucket (both left open for the test's life).
func fileBuckets(t *testing.T, keks []envelope.KEK, opts *seal.Options) (sealed, raw *blob.Bucket, dir string) {
	dir = t.TempDir()
	open := func() *blob.Bucket {
		b, err := fileblob.OpenBucket(dir, nil)
		require.NoError(t, err)
		return b
	}
	sealed, raw = mustSeal(t, open(), keks, opts), open()
	t.Cleanup(func() { sealed.Close(); raw.Close() })
	return sealed, raw, dir
}

// sealDir opens another sealed bucket over dir, closed when the test ends.
func sealDir(t *testing.T, dir string, keks []envelope.KEK) *blob.Bucket {
	fb, err := fileblob.OpenBucket(dir, nil)
	require.NoError(t, err)
	b := mustSeal(t, fb, keks, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	kek := newKEK(t, "local/one")
	for _, cs := range []int{0, 64} {
		b := mustSeal(t, memblob.OpenBucket(nil), []envelope.KEK{kek}, &seal.Options{ChunkSize: cs})
		defer b.Close()
		chunk := cs
		if chunk == 0 {
			chunk = envelope.DefaultChunkSize
		}
		for _, n := range []int{0, 1, chunk - 30, chunk - 1, chunk, chunk + 1, 3*chunk + 5, 200 << 10} {
			key := fmt.Sprintf("cs%d/obj-%d", cs, n)
			data := pattern(n)
			md := map[string]string{"precinct": "42", "civicport-sha256": "kept as given"}
			require.NoError(t, b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "text/csv", Metadata: md, CacheControl: "no-store"}))
			got, err := b.ReadAll(ctx, key)
			require.NoError(t, err, key)
			assert.True(t, bytes.Equal(data, got), key)
			a, err := b.Attributes(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, int64(n), a.Size, key)
			assert.Equal(t, "text/csv", a.ContentType)
			assert.Equal(t, "no-store", a.CacheControl)
			assert.Equal(t, md, a.Metadata, "seal's own metadata is hidden")
			assert.Nil(t, a.MD5)
			r, err := b.NewReader(ctx, key, nil)
			require.NoError(t, err)
			assert.Equal(t, int64(n), r.Size())
			assert.Equal(t, "text/csv", r.ContentType())
			r.Close()
		}
		it := b.List(&blob.ListOptions{Prefix: fmt.Sprintf("cs%d/", cs)})
		for {
			o, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			var n int
			fmt.Sscanf(o.Key[strings.Index(o.Key, "obj-")+4:], "%d", &n)
			assert.Equal(t, int64(n), o.Size, "listed size of %s", o.Key)
			assert.Nil(t, o.MD5)
		}
	}
}

func TestReservedMetadataRefused(t *testing.T) {
	b := mustSeal(t, memblob.OpenBucket(nil), []envelope.KEK{newKEK(t, "k")}, nil)
	defer b.Close()
	err := b.WriteAll(context.Background(), "x", []byte("x"), &blob.WriterOptions{Metadata: map[string]string{"civicport-seal-chunk-size": "16"}})
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err), "%v", err)

}

// Wrap refuses what could never seal or open an object, naming it, and
// leaves the bucket to the caller.
func TestWrapRefusesBadKEKs(t *testing.T) {
	k := newKEK(t, "same")
	for _, c := range []struct {
		keks []envelope.KEK
		opts *seal.Options
		want string
	}{
		{nil, nil, "seal: envelope: at least one KEK is needed to wrap the data key"},
		{[]envelope.KEK{k, k}, nil, `seal: envelope: KEK id "same" given twice`},
		{[]envelope.KEK{{ID: "hsm"}}, nil, `seal: envelope: KEK "hsm" has no keeper`},
		{[]envelope.KEK{k}, &seal.Options{Decrypt: []envelope.KEK{{ID: "retired"}}}, `seal: Decrypt KEK "retired" has no keeper`},
		{[]envelope.KEK{k}, &seal.Options{ChunkSize: 15}, "seal: envelope: chunk size 15 outside 16..16777216"},
	} {
		inner := memblob.OpenBucket(nil)
		b, err := seal.Wrap(inner, c.keks, c.opts)
		assert.Nil(t, b)
		assert.EqualError(t, err, c.want)
		assert.NoError(t, inner.WriteAll(context.Background(), "x", []byte("x"), nil), "Wrap closed the bucket it refused")
		inner.Close()
	}
}

// The provider stores ciphertext only: no run of 16 plaintext bytes appears
// in any file under the bucket's directory (data or attributes).
func TestCiphertextHoldsNoPlaintext(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, []envelope.KEK{newKEK(t, "k")}, nil)
	data := pattern(300 << 10)
	require.NoError(t, b.WriteAll(ctx, "records/ballots.txt", data, &blob.WriterOptions{ContentType: "text/plain"}))
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		for off := 0; off+16 <= len(data); off += 4096 {
			if bytes.Contains(raw, data[off:off+16]) {
				t.Errorf("%s contains plaintext bytes %q (offset %d)", p, data[off:off+16], off)
				return nil
			}
		}
		assert.NotContains(t, string(raw), "ballot 0000001")
		return nil
	}))
	assert.Equal(t, 2, files, "the object and fileblob's attributes file")
}

func TestFlippedByte(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, []envelope.KEK{newKEK(t, "k")}, &seal.Options{ChunkSize: 1024})
	data := pattern(10 << 10)
	require.NoError(t, b.WriteAll(ctx, "obj", data, nil))
	path := filepath.Join(dir, "obj")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, at := range []int{len(raw) / 2, len(raw) - 20} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			bad := bytes.Clone(raw)
			bad[at] ^= 0x01
			require.NoError(t, os.WriteFile(path, bad, 0o600))
			_, err := b.ReadAll(ctx, "obj")
			require.Error(t, err)
			assert.ErrorIs(t, err, envelope.ErrTampered)
			assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
			// A range read of the damaged chunk fails too.
			chunk := int64(at-200) / (1024 + envelope.ChunkOverhead)
			r, err := b.NewRangeReader(ctx, "obj", chunk*1024, 1500, nil)
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			assert.ErrorIs(t, err, envelope.ErrTampered)
		})
	}
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	got, err := b.ReadAll(ctx, "obj")
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestTruncated(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, []envelope.KEK{newKEK(t, "k")}, &seal.Options{ChunkSize: 1024})
	require.NoError(t, b.WriteAll(ctx, "obj", pattern(5000), nil))
	path := filepath.Join(dir, "obj")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, cut := range []int{1, 8, 9, 1024 + 28 + 8, 3000} {
		require.NoError(t, os.WriteFile(path, raw[:len(raw)-cut], 0o600))
		_, err := b.ReadAll(ctx, "obj")
		assert.ErrorIs(t, err, envelope.ErrTruncated, "cut %d bytes: %v", cut, err)
		r, err := b.NewRangeReader(ctx, "obj", 4000, -1, nil)
		if err == nil {
			_, err = io.ReadAll(r)
			r.Close()
		}
		assert.ErrorIs(t, err, envelope.ErrTruncated, "range read to the end after a cut of %d bytes", cut)
	}
}

// Swapped objects: the sealed bytes of one object copied over another's
// file (behind Seal's back) must not be read as the other's content. The
// envelope alone would accept them, which the last assertions show: the key
// record is the safeguard.
func TestSwappedObjects(t *testing.T) {
	ctx := context.Background()
	kek := newKEK(t, "k")
	b, _, dir := fileBuckets(t, []envelope.KEK{kek}, nil)
	a := []byte("precinct 1: 100 votes for A")
	c := []byte("precinct 2: 100 votes for B")
	require.NoError(t, b.WriteAll(ctx, "results/p1", a, nil))
	require.NoError(t, b.WriteAll(ctx, "results/p2", c, nil))
	p1, err := os.ReadFile(filepath.Join(dir, "results", "p1"))
	require.NoError(t, err)
	p2, err := os.ReadFile(filepath.Join(dir, "results", "p2"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "results", "p1"), p2, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "results", "p2"), p1, 0o600))

	for _, k := range []string{"results/p1", "results/p2"} {
		_, err := b.ReadAll(ctx, k)
		assert.ErrorIs(t, err, seal.ErrWrongObject, k)
		assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
		assert.Contains(t, fmt.Sprint(err), "sealed content of")
		r, err := b.NewRangeReader(ctx, k, 5, 5, nil)
		if err == nil {
			r.Close()
		}
		assert.ErrorIs(t, err, seal.ErrWrongObject, "range read of %s", k)
	}
	// Without the key record, the envelope of p2 decrypts fine under p1's
	// name: the swap is only caught by Seal's check.
	d, err := envelope.NewDecrypter(ctx, bytes.NewReader(p2), []envelope.KEK{kek})
	require.NoError(t, err)
	plain, err := io.ReadAll(d)
	require.NoError(t, err)
	assert.True(t, bytes.HasSuffix(plain, c))
}

func TestWrongKeeper(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, []envelope.KEK{newKEK(t, "k")}, nil)
	require.NoError(t, b.WriteAll(ctx, "obj", []byte("secret"), nil))
	other := sealDir(t, dir, []envelope.KEK{newKEK(t, "k")}) // same id, other key
	_, err := other.ReadAll(ctx, "obj")
	assert.ErrorIs(t, err, envelope.ErrWrongKey)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err))
	third := sealDir(t, dir, []envelope.KEK{newKEK(t, "other-id")})
	_, err = third.ReadAll(ctx, "obj")
	assert.ErrorIs(t, err, envelope.ErrWrongKey)
	r, err := third.NewRangeReader(ctx, "obj", 1, 2, nil)
	if err == nil {
		r.Close()
	}
	assert.ErrorIs(t, err, envelope.ErrWrongKey)
}

func TestNotSealed(t *testing.T) {
	ctx := context.Background()
	mem := memblob.OpenBucket(nil)
	require.NoError(t, mem.WriteAll(ctx, "plain", []byte("not sealed"), nil))
	b := mustSeal(t, mem, []envelope.KEK{newKEK(t, "k")}, nil)
	defer b.Close()
	_, err := b.ReadAll(ctx, "plain")
	assert.ErrorIs(t, err, envelope.ErrNotEnvelope)
	_, err = b.Attributes(ctx, "plain")
	assert.ErrorIs(t, err, seal.ErrNotSealed)
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, nil)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, int64(10), objs[0].Size, "listed with its stored size")
}

func TestRangeReadsEqualSlicing(t *testing.T) {
	ctx := context.Background()
	for _, cs := range []int{16, 100, 0} {
		b := mustSeal(t, memblob.OpenBucket(nil), []envelope.KEK{newKEK(t, "k")}, &seal.Options{ChunkSize: cs})
		defer b.Close()
		for _, size := range []int{0, 1, 99, 100, 101, 1000, 150 << 10} {
			data := pattern(size)
			key := fmt.Sprintf("k/%d", size)
			require.NoError(t, b.WriteAll(ctx, key, data, nil))
			offs := []int{0, 1, size / 3, size / 2, max(0, size-1), size, size + 10}
			lens := []int{-1, 0, 1, 15, 16, 17, 99, 100, 101, size, size + 1}
			for _, off := range offs {
				for _, n := range lens {
					r, err := b.NewRangeReader(ctx, key, int64(off), int64(n), nil)
					require.NoError(t, err, "cs %d size %d off %d len %d", cs, size, off, n)
					got, err := io.ReadAll(r)
					r.Close()
					require.NoError(t, err, "cs %d size %d off %d len %d", cs, size, off, n)
					lo := min(off, size)
					hi := size
					if n >= 0 {
						hi = min(size, lo+n)
					}
					if !bytes.Equal(data[lo:hi], got) {
						t.Fatalf("cs %d size %d off %d len %d: got %d bytes, want %d", cs, size, off, n, len(got), hi-lo)
					}
					assert.Equal(t, int64(size), r.Size())
				}
			}
		}
	}
}

func TestCopyAndSignedURL(t *testing.T) {
	ctx := context.Background()
	b, _, _ := fileBuckets(t, []envelope.KEK{newKEK(t, "k")}, nil)
	data := pattern(70 << 10)
	require.NoError(t, b.WriteAll(ctx, "src", data, &blob.WriterOptions{ContentType: "application/x-ballot", Metadata: map[string]string{"a": "b"}}))
	require.NoError(t, b.Copy(ctx, "dst/copy", "src", nil))
	got, err := b.ReadAll(ctx, "dst/copy")
	require.NoError(t, err)
	assert.Equal(t, data, got)
	a, err := b.Attributes(ctx, "dst/copy")
	require.NoError(t, err)
	assert.Equal(t, "application/x-ballot", a.ContentType)
	assert.Equal(t, map[string]string{"a": "b"}, a.Metadata)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(b.Copy(ctx, "x", "missing", nil)))

	_, err = b.SignedURL(ctx, "src", nil)
	assert.Equal(t, gcerrors.Unimplemented, gcerrors.Code(err))
}

func TestCancelledWriteCommitsNothing(t *testing.T) {
	mem := memblob.OpenBucket(nil)
	b := mustSeal(t, mem, []envelope.KEK{newKEK(t, "k")}, nil)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, "partial", &blob.WriterOptions{ContentType: "text/plain"})
	require.NoError(t, err)
	_, err = w.Write(pattern(200 << 10))
	require.NoError(t, err)
	cancel()
	require.Error(t, w.Close())
	ok, err := mem.Exists(context.Background(), "partial")
	require.NoError(t, err)
	assert.False(t, ok)

	// A wrong ContentMD5 (of the plaintext) aborts the write too.
	err = b.WriteAll(context.Background(), "md5", []byte("data"), &blob.WriterOptions{ContentMD5: bytes.Repeat([]byte{1}, 16)})
	require.Error(t, err)
	ok, _ = mem.Exists(context.Background(), "md5")
	assert.False(t, ok)
}

// body returns the stored bytes after the envelope header.
func body(t *testing.T, raw *blob.Bucket, key string) ([]byte, *envelope.Header) {
	data, err := raw.ReadAll(context.Background(), key)
	require.NoError(t, err)
	h, err := envelope.ReadHeader(bytes.NewReader(data))
	require.NoError(t, err)
	return data[h.Size():], h
}

func TestRewrap(t *testing.T) {
	ctx := context.Background()
	oldK, newK := newKEK(t, "old"), newKEK(t, "new")
	b, raw, dir := fileBuckets(t, []envelope.KEK{oldK}, &seal.Options{ChunkSize: 4096})
	keys := []string{"a", "b/c", "d e", "big"}
	content := map[string][]byte{}
	bodies := map[string][]byte{}
	for i, k := range keys {
		content[k] = pattern(100 + i*50000)
		require.NoError(t, b.WriteAll(ctx, k, content[k], &blob.WriterOptions{ContentType: "text/x-" + fmt.Sprint(i), Metadata: map[string]string{"n": fmt.Sprint(i)}}))
		bodies[k], _ = body(t, raw, k)
	}
	require.NoError(t, raw.WriteAll(ctx, "plain", []byte("not sealed"), nil))

	sum, err := seal.Rewrap(ctx, raw, []envelope.KEK{oldK}, []envelope.KEK{newK}, []string{"old"}, nil)
	require.NoError(t, err)
	assert.Equal(t, &seal.RewrapSummary{Objects: 5, Rewrapped: 4, NotSealed: 1, Bytes: sum.Bytes}, sum)
	for _, k := range keys {
		bd, h := body(t, raw, k)
		assert.Equal(t, bodies[k], bd, "body of %s unchanged byte for byte", k)
		assert.Equal(t, []string{"new"}, h.KEKIDs())
	}
	// The old keeper can no longer open anything; the new one can, with
	// content type, metadata and sizes intact.
	_, err = b.ReadAll(ctx, "a")
	assert.ErrorIs(t, err, envelope.ErrWrongKey)
	newB := sealDir(t, dir, []envelope.KEK{newK})
	for i, k := range keys {
		got, err := newB.ReadAll(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, content[k], got)
		a, err := newB.Attributes(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(len(content[k])), a.Size)
		assert.Equal(t, "text/x-"+fmt.Sprint(i), a.ContentType)
		assert.Equal(t, map[string]string{"n": fmt.Sprint(i)}, a.Metadata)
	}
	// Resumable: a second run finds everything done.
	sum, err = seal.Rewrap(ctx, raw, []envelope.KEK{oldK, newK}, []envelope.KEK{newK}, []string{"old"}, nil)
	require.NoError(t, err)
	assert.Equal(t, &seal.RewrapSummary{Objects: 5, Skipped: 4, NotSealed: 1}, sum)
	// Rewrapping with a KEK that cannot unwrap fails per object, and says so.
	sum, err = seal.Rewrap(ctx, raw, []envelope.KEK{oldK}, []envelope.KEK{newKEK(t, "third")}, nil, &seal.RewrapOptions{Prefix: "b/"})
	require.Error(t, err)
	assert.Equal(t, int64(1), sum.Failed)
	assert.Contains(t, sum.Failures[0].Err, "no key-encryption key")
}

func TestErrorsNameTheKey(t *testing.T) {
	b := mustSeal(t, memblob.OpenBucket(nil), []envelope.KEK{newKEK(t, "k")}, nil)
	defer b.Close()
	_, err := b.ReadAll(context.Background(), "missing/object")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	assert.True(t, errors.Is(err, gcerrors.ErrNotFound) || strings.Contains(err.Error(), "missing/object"))
}

// A rewrapped object can be migrated again: migrate.Run records the SHA-256
// of the stored bytes, which the new header changes, so Rewrap must not
// carry the old one over (the next migration would refuse the object as
// corrupt).
func TestRewrapThenMigrateAgain(t *testing.T) {
	ctx := context.Background()
	oldK, newK := newKEK(t, "old"), newKEK(t, "new")
	a, err := cpblob.Open(ctx, "mem://")
	require.NoError(t, err)
	defer a.Close()
	sealedA := mustSeal(t, a, []envelope.KEK{oldK}, nil)
	require.NoError(t, sealedA.WriteAll(ctx, "results/precinct-1.json", []byte(`{"votes":12}`), nil))
	b := memblob.OpenBucket(nil)
	defer b.Close()
	sum, err := migrate.Run(ctx, a, b, nil)
	require.NoError(t, err)
	require.Equal(t, 1, int(sum.Copied))
	attrs, err := b.Attributes(ctx, "results/precinct-1.json")
	require.NoError(t, err)
	require.NotEmpty(t, attrs.Metadata[digest.MetadataKey], "migrate recorded the stored bytes' SHA-256")

	_, err = seal.Rewrap(ctx, b, []envelope.KEK{oldK}, []envelope.KEK{newK}, []string{"old"}, nil)
	require.NoError(t, err)
	attrs, err = b.Attributes(ctx, "results/precinct-1.json")
	require.NoError(t, err)
	assert.NotContains(t, attrs.Metadata, digest.MetadataKey, "a stale stored-bytes hash survived the rewrap")

	c := memblob.OpenBucket(nil)
	defer c.Close()
	sum, err = migrate.Run(ctx, b, c, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, int(sum.Copied), "%s", sum)
	vr, err := migrate.Verify(ctx, b, c, nil)
	require.NoError(t, err)
	assert.True(t, vr.OK(), "%s", vr)
}

// mustSeal is seal.Wrap with KEKs and options known to be good.
func mustSeal(t testing.TB, b *blob.Bucket, keks []envelope.KEK, opts *seal.Options) *blob.Bucket {
	t.Helper()
	sealed, err := seal.Wrap(b, keks, opts)
	require.NoError(t, err)
	return sealed
}

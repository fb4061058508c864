package digest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/digest"
)

func pattern(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "ballot %07d precinct 42; ", i)
	}
	return b.Bytes()[:n]
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func fileBuckets(t *testing.T, opts *digest.Options) (wrapped, raw *blob.Bucket, dir string) {
	dir = t.TempDir()
	open := func() *blob.Bucket {
		b, err := fileblob.OpenBucket(dir, nil)
		require.NoError(t, err)
		return b
	}
	wrapped, raw = digest.Wrap(open(), opts), open()
	t.Cleanup(func() { wrapped.Close(); raw.Close() })
	return wrapped, raw, dir
}

func TestRecordsHash(t *testing.T) {
	ctx := context.Background()
	for _, limit := range []int64{0, 100, -1} { // default (memory), spool beyond 100 bytes, always spool
		b, raw, _ := fileBuckets(t, &digest.Options{BufferLimit: limit, SpoolDir: t.TempDir()})
		for _, n := range []int{0, 1, 99, 100, 101, 3 << 20} {
			data := pattern(n)
			key := fmt.Sprintf("obj-%d", n)
			w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "text/plain", Metadata: map[string]string{"m": "v"}})
			require.NoError(t, err)
			for p := data; len(p) > 0; p = p[min(len(p), 7777):] { // several writes
				_, err := w.Write(p[:min(len(p), 7777)])
				require.NoError(t, err)
			}
			require.NoError(t, w.Close())
			a, err := raw.Attributes(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, sum(data), a.Metadata[digest.MetadataKey], "limit %d size %d", limit, n)
			assert.Equal(t, "v", a.Metadata["m"])
			assert.Equal(t, "text/plain", a.ContentType)
			got, err := b.ReadAll(ctx, key)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		}
	}
}

func TestSuppliedHashStreamsAndIsChecked(t *testing.T) {
	ctx := context.Background()
	mem := memblob.OpenBucket(nil)
	b := digest.Wrap(mem, nil)
	defer b.Close()
	data := pattern(1 << 20)
	require.NoError(t, b.WriteAll(ctx, "good", data, &blob.WriterOptions{Metadata: map[string]string{digest.MetadataKey: sum(data)}}))
	got, err := b.ReadAll(ctx, "good")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	err = b.WriteAll(ctx, "bad", data, &blob.WriterOptions{Metadata: map[string]string{digest.MetadataKey: sum([]byte("other"))}})
	require.Error(t, err)
	assert.ErrorIs(t, err, digest.ErrMismatch)
	var me *digest.MismatchError
	require.True(t, errors.As(err, &me))
	assert.Equal(t, "bad", me.Key)
	assert.Equal(t, sum(data), me.Computed)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	ok, err := mem.Exists(ctx, "bad")
	require.NoError(t, err)
	assert.False(t, ok, "a write refused for a wrong hash commits nothing")

	// Overwriting a good object with a refused write leaves it as it was.
	require.Error(t, b.WriteAll(ctx, "good", []byte("forged"), &blob.WriterOptions{Metadata: map[string]string{digest.MetadataKey: sum(data)}}))
	got, err = b.ReadAll(ctx, "good")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	err = b.WriteAll(ctx, "x", data, &blob.WriterOptions{Metadata: map[string]string{digest.MetadataKey: "not hex"}})
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
}

func TestFlippedByteOnDisk(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, nil)
	data := pattern(100 << 10)
	require.NoError(t, b.WriteAll(ctx, "records/obj", data, nil))
	path := filepath.Join(dir, "records", "obj")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	raw[len(raw)/3] ^= 0x10
	require.NoError(t, os.WriteFile(path, raw, 0o600))

	_, err = b.ReadAll(ctx, "records/obj")
	require.Error(t, err)
	assert.ErrorIs(t, err, digest.ErrMismatch)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	assert.Contains(t, err.Error(), sum(data))
	assert.Contains(t, err.Error(), sum(raw))
	assert.Contains(t, err.Error(), "records/obj")

	// A range read of the whole object is checked too; a part is not.
	r, err := b.NewRangeReader(ctx, "records/obj", 0, int64(len(data)), nil)
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	r.Close()
	assert.ErrorIs(t, err, digest.ErrMismatch)
	r, err = b.NewRangeReader(ctx, "records/obj", 10, 100, nil)
	require.NoError(t, err)
	part, err := io.ReadAll(r)
	r.Close()
	require.NoError(t, err)
	assert.Equal(t, raw[10:110], part)
}

// Swapping the files of two objects (content and attributes both) is not
// caught: each object's bytes still match its own record. Swapping only
// the content, or overwriting one object's content with another's, is.
func TestSwappedObjects(t *testing.T) {
	ctx := context.Background()
	b, _, dir := fileBuckets(t, nil)
	a, c := []byte("precinct 1: 100 votes"), []byte("precinct 2: 900 votes")
	require.NoError(t, b.WriteAll(ctx, "p1", a, nil))
	require.NoError(t, b.WriteAll(ctx, "p2", c, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p1"), c, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p2"), a, 0o600))
	for _, k := range []string{"p1", "p2"} {
		_, err := b.ReadAll(ctx, k)
		assert.ErrorIs(t, err, digest.ErrMismatch, k)
	}

	// The limit: swap the attribute files as well and each object is
	// self-consistent again. A hash in metadata does not bind the key;
	// seal's key record (or a signed manifest) does.
	attrs := func(k string) string { return filepath.Join(dir, k+".attrs") }
	a1, err := os.ReadFile(attrs("p1"))
	require.NoError(t, err)
	a2, err := os.ReadFile(attrs("p2"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(attrs("p1"), a2, 0o600))
	require.NoError(t, os.WriteFile(attrs("p2"), a1, 0o600))
	got, err := b.ReadAll(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, c, got, "a full swap (content and metadata) is not Digest's to detect")
}

func TestMissingRecord(t *testing.T) {
	ctx := context.Background()
	mem := memblob.OpenBucket(nil)
	require.NoError(t, mem.WriteAll(ctx, "legacy", []byte("old"), nil))
	lenient := digest.Wrap(mem, nil)
	got, err := lenient.ReadAll(ctx, "legacy")
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))

	mem2 := memblob.OpenBucket(nil)
	require.NoError(t, mem2.WriteAll(ctx, "legacy", []byte("old"), nil))
	strict := digest.Wrap(mem2, &digest.Options{Require: true})
	defer strict.Close()
	_, err = strict.ReadAll(ctx, "legacy")
	assert.ErrorIs(t, err, digest.ErrNoDigest)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	// Partial reads are not checked, even under Require.
	r, err := strict.NewRangeReader(ctx, "legacy", 1, 1, nil)
	require.NoError(t, err)
	r.Close()
}

func TestCancelledWriteCommitsNothing(t *testing.T) {
	for _, supplied := range []bool{false, true} {
		mem := memblob.OpenBucket(nil)
		b := digest.Wrap(mem, &digest.Options{BufferLimit: 10})
		ctx, cancel := context.WithCancel(context.Background())
		data := pattern(1000)
		var md map[string]string
		if supplied {
			md = map[string]string{digest.MetadataKey: sum(data)}
		}
		w, err := b.NewWriter(ctx, "partial", &blob.WriterOptions{ContentType: "text/plain", Metadata: md})
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		cancel()
		require.Error(t, w.Close())
		ok, err := mem.Exists(context.Background(), "partial")
		require.NoError(t, err)
		assert.False(t, ok, "supplied %v", supplied)
		b.Close()
	}
}

func TestCopyKeepsRecord(t *testing.T) {
	ctx := context.Background()
	b := digest.Wrap(memblob.OpenBucket(nil), nil)
	defer b.Close()
	require.NoError(t, b.WriteAll(ctx, "src", []byte("data"), nil))
	require.NoError(t, b.Copy(ctx, "dst", "src", nil))
	a, err := b.Attributes(ctx, "dst")
	require.NoError(t, err)
	assert.Equal(t, sum([]byte("data")), a.Metadata[digest.MetadataKey])
	got, err := b.ReadAll(ctx, "dst")
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
}

// The pipelined hashing (off by default) gives the same verdicts.
func TestPipelined(t *testing.T) {
	old := digest.SetPipelined(true)
	defer digest.SetPipelined(old)
	t.Run("flipped", TestFlippedByteOnDisk)
	t.Run("supplied", TestSuppliedHashStreamsAndIsChecked)
	t.Run("records", TestRecordsHash)
	t.Run("cancelled", TestCancelledWriteCommitsNothing)
}

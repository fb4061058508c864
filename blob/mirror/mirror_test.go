package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/mirror"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// fileCopies makes n file:// buckets and returns them with their directories.
func fileCopies(t *testing.T, n int) ([]*gcblob.Bucket, []string) {
	t.Helper()
	var bs []*gcblob.Bucket
	var dirs []string
	for range n {
		d := t.TempDir()
		b, err := blob.Open(context.Background(), "file://"+d)
		require.NoError(t, err)
		bs = append(bs, b)
		dirs = append(dirs, d)
	}
	return bs, dirs
}

func TestWriteEverywhereReadFailsOver(t *testing.T) {
	ctx := testenv.Context(t)
	copies, dirs := fileCopies(t, 3)
	m, err := mirror.New(copies, nil)
	require.NoError(t, err)
	defer m.Close()
	body := bytes.Repeat([]byte("precinct 7: 412 ballots\n"), 1000)
	require.NoError(t, m.WriteAll(ctx, "results/p7.txt", body, &gcblob.WriterOptions{ContentType: "text/plain", Metadata: map[string]string{"county": "Adams"}}))
	for _, d := range dirs {
		got, err := os.ReadFile(filepath.Join(d, "results", "p7.txt"))
		require.NoError(t, err)
		assert.Equal(t, body, got)
	}

	// Copy 0 is corrupted behind the mirror's back, copy 1 lost the file.
	p0 := filepath.Join(dirs[0], "results", "p7.txt")
	bad := bytes.Clone(body)
	bad[100] ^= 1
	require.NoError(t, os.WriteFile(p0, bad, 0o600))
	require.NoError(t, os.Remove(filepath.Join(dirs[1], "results", "p7.txt")))
	got, err := m.ReadAll(ctx, "results/p7.txt")
	require.NoError(t, err)
	assert.Equal(t, body, got, "served from the one intact copy")

	// With every copy bad, the read fails rather than hand out bad bytes.
	require.NoError(t, os.WriteFile(filepath.Join(dirs[2], "results", "p7.txt"), bad, 0o600))
	_, err = m.ReadAll(ctx, "results/p7.txt")
	require.Error(t, err)
	assert.True(t, errors.Is(err, mirror.ErrCorrupt), err)
}

func TestLargeObjectsSpool(t *testing.T) {
	ctx := testenv.Context(t)
	copies, dirs := fileCopies(t, 2)
	m, err := mirror.New(copies, &mirror.Options{BufferLimit: 1 << 10})
	require.NoError(t, err)
	defer m.Close()
	body := bytes.Repeat([]byte{1, 2, 3, 4}, 1<<16)
	require.NoError(t, m.WriteAll(ctx, "scan.tif", body, nil))
	bad := bytes.Clone(body)
	bad[len(bad)-1] ^= 0x80
	require.NoError(t, os.WriteFile(filepath.Join(dirs[0], "scan.tif"), bad, 0o600))
	got, err := m.ReadAll(ctx, "scan.tif")
	require.NoError(t, err)
	assert.Equal(t, body, got)
}

func TestNewRejectsBadOptions(t *testing.T) {
	copies, _ := fileCopies(t, 2)
	_, err := mirror.New(copies[:1], nil)
	assert.ErrorContains(t, err, "need at least 2 copies, got 1")
	_, err = mirror.New(copies, &mirror.Options{WriteQuorum: 3})
	assert.ErrorContains(t, err, "write quorum 3 out of range 1..2")
	_, err = mirror.New(copies, &mirror.Options{Names: []string{"a"}})
	assert.ErrorContains(t, err, "1 names for 2 copies")
}

// A MinIO server dies mid-run: writes keep their quorum on the other copies,
// reads fail over, and Scrub rebuilds a replacement copy.
func TestServerKilledMidRun(t *testing.T) {
	ctx := testenv.Context(t)
	srv := testenv.StartMinIO(t)
	s3, err := blob.Open(ctx, srv.S3URL(srv.NewBucket(t)))
	require.NoError(t, err)
	files, _ := fileCopies(t, 2)
	names := []string{"minio", "file-a", "file-b"}
	m, err := mirror.New([]*gcblob.Bucket{s3, files[0], files[1]}, &mirror.Options{WriteQuorum: 2, Names: names})
	require.NoError(t, err)
	defer m.Close()

	for i := range 10 {
		require.NoError(t, m.WriteAll(ctx, fmt.Sprintf("before/%d", i), []byte(fmt.Sprint("record ", i)), nil))
	}
	srv.Kill()
	// Each call to the dead server waits out the AWS SDK's retries, so few.
	for i := range 3 {
		require.NoError(t, m.WriteAll(ctx, fmt.Sprintf("after/%d", i), []byte(fmt.Sprint("record ", i)), nil), "2 of 3 copies meet the quorum")
	}
	for _, k := range []string{"before/2", "after/2"} {
		got, err := m.ReadAll(ctx, k)
		require.NoError(t, err, k)
		assert.Equal(t, "record 2", string(got))
	}

	// Quorum 3 cannot be met with the server down; the error names it.
	strict, err := mirror.New([]*gcblob.Bucket{s3, files[0], files[1]}, &mirror.Options{Names: names})
	require.NoError(t, err)
	err = strict.WriteAll(ctx, "strict", []byte("x"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reached 2 of 3 copies, quorum 3")
	assert.Contains(t, err.Error(), "minio:")

	// Replace the dead copy with a new one and scrub: it is filled in.
	fresh, _ := fileCopies(t, 1)
	rep, err := mirror.Scrub(ctx, []*gcblob.Bucket{fresh[0], files[0], files[1]}, &mirror.ScrubOptions{Names: []string{"new", "file-a", "file-b"}})
	require.NoError(t, err)
	// 10 + 3 objects, and "strict": a write that missed its quorum still
	// reached the two live copies (documented), so scrub carries it too.
	assert.Equal(t, int64(14), rep.Objects)
	assert.Len(t, rep.Repairs, 14)
	assert.True(t, rep.OK(), rep)
	got, err := fresh[0].ReadAll(ctx, "after/2")
	require.NoError(t, err)
	assert.Equal(t, "record 2", string(got))
}

func TestScrubRepairs(t *testing.T) {
	ctx := testenv.Context(t)
	copies, dirs := fileCopies(t, 3)
	m, err := mirror.New(copies, nil)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, m.WriteAll(ctx, fmt.Sprintf("rolls/shard-%d.csv", i), bytes.Repeat([]byte{byte('a' + i)}, 5000), nil))
	}
	// Damage: a flipped byte on copy 0, a missing object on copy 2.
	p := filepath.Join(dirs[0], "rolls", "shard-1.csv")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[10] ^= 1
	require.NoError(t, os.WriteFile(p, data, 0o600))
	require.NoError(t, os.Remove(filepath.Join(dirs[2], "rolls", "shard-3.csv")))

	rep, err := mirror.Scrub(ctx, copies, &mirror.ScrubOptions{DryRun: true})
	require.NoError(t, err)
	require.Len(t, rep.Repairs, 2)
	assert.Equal(t, "copy 0", rep.Repairs[0].Copy)
	assert.Contains(t, rep.Repairs[0].Reason, "content sha256")
	assert.Equal(t, mirror.Repair{Key: "rolls/shard-3.csv", Copy: "copy 2", Reason: "missing", From: "copy 0"}, rep.Repairs[1])
	data2, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, data, data2, "a dry run changes nothing")

	rep, err = mirror.Scrub(ctx, copies, nil)
	require.NoError(t, err)
	assert.Len(t, rep.Repairs, 2)
	assert.True(t, rep.OK())
	assert.Equal(t, int64(3), rep.Healthy)

	rep, err = mirror.Scrub(ctx, copies, nil)
	require.NoError(t, err)
	assert.Empty(t, rep.Repairs, "all whole after the repair")
	assert.Equal(t, int64(5), rep.Healthy)
}

func TestScrubWithoutRecordedHashes(t *testing.T) {
	ctx := testenv.Context(t)
	copies, _ := fileCopies(t, 3)
	for i, c := range copies {
		v := "agreed"
		if i == 2 {
			v = "odd one out"
		}
		require.NoError(t, c.WriteAll(ctx, "k", []byte(v), nil))
		require.NoError(t, c.WriteAll(ctx, "tie", []byte(fmt.Sprint("different ", i)), nil))
	}
	rep, err := mirror.Scrub(ctx, copies, nil)
	require.NoError(t, err)
	require.Len(t, rep.Repairs, 1)
	assert.Equal(t, "copy 2", rep.Repairs[0].Copy)
	require.Len(t, rep.Unresolved, 1)
	assert.Equal(t, "tie", rep.Unresolved[0].Key)
	assert.Contains(t, rep.Unresolved[0].Reason, "no majority")
	assert.False(t, rep.OK())
	got, err := copies[2].ReadAll(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "agreed", string(got))
}

func TestConformance(t *testing.T) {
	res := blobtest.Test(t, func(ctx context.Context) (*gcblob.Bucket, error) {
		a, err := blob.Open(ctx, "mem://")
		if err != nil {
			return nil, err
		}
		b, err := blob.Open(ctx, "mem://")
		if err != nil {
			return nil, err
		}
		return mirror.New([]*gcblob.Bucket{a, b}, nil)
	}, &blobtest.Options{LargeObjectSize: 16 << 20})
	// A mirror of two mem buckets keeps every promise mem keeps.
	for _, r := range res {
		switch r.Capability {
		case conformance.BlobVersioning, conformance.BlobSignedURL:
			assert.Equal(t, conformance.Unsupported, r.Status, r.Capability)
		case conformance.BlobRetentionGovernance, conformance.BlobRetentionCompliance, conformance.BlobLegalHold:
		default:
			assert.Equal(t, conformance.Pass, r.Status, "%s: %s", r.Capability, r.Detail)
		}
	}
}

package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// flaky fails the first n writes with a transient (Unknown) error.
type flaky struct {
	driver.Bucket
	fails atomic.Int32
}

func (f *flaky) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	if f.fails.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	return f.Bucket.NewTypedWriter(ctx, key, ct, o)
}

func (f *flaky) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Unknown }

func TestMigrateRetriesTransientErrors(t *testing.T) {
	ctx := testenv.Context(t)
	src := open(t, "mem://")
	objs := seed(t, src)
	f := &flaky{Bucket: driveradapter.Bucket(memblob.OpenBucket(nil))}
	f.fails.Store(3)
	dst := gcblob.NewBucket(f)
	defer dst.Close()
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Workers: 1, RetryBackoff: 1})
	require.NoError(t, err)
	assert.Zero(t, sum.Failed, sum.Failures)
	assert.Equal(t, int64(len(objs)), sum.Copied)

	f.fails.Store(100)
	require.NoError(t, src.WriteAll(ctx, "late.txt", []byte("x"), nil))
	sum, err = migrate.Run(ctx, src, dst, &migrate.Options{Retries: 2, RetryBackoff: 1})
	require.NoError(t, err)
	require.Equal(t, int64(1), sum.Failed, "gives up after the retries")
	assert.Equal(t, "late.txt", sum.Failures[0].Key)
	assert.Contains(t, sum.Failures[0].Err, "connection reset by peer")
}

func TestMigrateDryRunWritesNothing(t *testing.T) {
	ctx := testenv.Context(t)
	src, dst := open(t, "mem://"), open(t, "mem://")
	objs := seed(t, src)
	long := strings.Repeat("k", 1100)
	require.NoError(t, src.WriteAll(ctx, long, []byte("x"), nil))
	require.NoError(t, src.WriteAll(ctx, "fat-metadata", []byte("x"), &gcblob.WriterOptions{
		Metadata: map[string]string{"notes": strings.Repeat("n", 3000)}}))
	_, err := migrate.Run(ctx, src, dst, &migrate.Options{Prefix: "results/"})
	require.NoError(t, err)

	var manifest bytes.Buffer
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{DryRun: true, Manifest: &manifest, Limits: migrate.LimitsFor("s3")})
	require.NoError(t, err)
	assert.Equal(t, int64(1), sum.Skipped, "results/ is already there")
	assert.Equal(t, int64(len(objs)-1), sum.Copied, "would copy")
	require.Equal(t, int64(2), sum.Failed)
	assert.Equal(t, "fat-metadata", sum.Failures[0].Key)
	assert.Contains(t, sum.Failures[0].Err, "metadata is 3085 bytes with civicport-sha256, the limit is 2048")
	assert.Contains(t, sum.Failures[1].Err, "key is 1100 bytes, the limit is 1024")
	assert.Zero(t, manifest.Len(), "a dry run writes no manifest")
	var n int
	for _, err := range listAll(ctx, dst) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 1, n, "a dry run writes nothing")
}

func listAll(ctx context.Context, b *gcblob.Bucket) func(func(string, error) bool) {
	return func(yield func(string, error) bool) {
		it := b.List(nil)
		for {
			o, err := it.Next(ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					yield("", err)
				}
				return
			}
			if !yield(o.Key, nil) {
				return
			}
		}
	}
}

func TestResumeManifest(t *testing.T) {
	ctx := testenv.Context(t)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dst"), 0o755))
	src, dst := open(t, "mem://"), open(t, "file://"+filepath.Join(dir, "dst"))
	objs := seed(t, src)
	path := filepath.Join(dir, "manifest.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = migrate.Run(ctx, src, dst, &migrate.Options{Manifest: f, Prefix: "r"})
	require.NoError(t, err)
	// A crash while writing the next line leaves half of it.
	_, err = f.WriteString(`{"key":"ballots/scan+0001.tif","si`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	f, done, err := migrate.ResumeManifest(path)
	require.NoError(t, err)
	assert.Len(t, done, 2, "registration/ and results/ were recorded")
	sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: f, Done: done})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, int64(len(objs)-2), sum.Copied)
	assert.Equal(t, int64(2), sum.Skipped)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	entries, err := migrate.ReadManifest(bytes.NewReader(data))
	require.NoError(t, err, "every key once, no cut line left")
	assert.Len(t, entries, len(objs))
	rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)

	// A recorded object that was damaged since is copied again.
	require.NoError(t, dst.WriteAll(ctx, "results/precinct 0001.json", []byte("tampered"), nil))
	sum, err = migrate.Run(ctx, src, dst, &migrate.Options{Done: done})
	require.NoError(t, err)
	assert.Equal(t, int64(1), sum.Copied)

	require.NoError(t, os.WriteFile(path, []byte("garbage\n"), 0o600))
	_, _, err = migrate.ResumeManifest(path)
	assert.ErrorContains(t, err, "manifest line 1")
}

// DataInFlight counts, per worker, the larger of an object read whole and
// the parts of a streamed one, after defaults.
func TestDataInFlight(t *testing.T) {
	const mib = 1 << 20
	// Defaults: 4 workers x max(8 MiB, (2+1) x 5 MiB).
	assert.EqualValues(t, 4*15*mib, (*migrate.Options)(nil).DataInFlight())
	assert.EqualValues(t, 4*15*mib, (&migrate.Options{}).DataInFlight())
	assert.EqualValues(t, 8*15*mib, (&migrate.Options{Workers: 8}).DataInFlight())
	assert.EqualValues(t, 2*64*mib, (&migrate.Options{Workers: 2, BufferLimit: 64 * mib}).DataInFlight())
	assert.EqualValues(t, 3*5*16*mib, (&migrate.Options{Workers: 3, PartWorkers: 4, PartSize: 16 * mib}).DataInFlight())
}

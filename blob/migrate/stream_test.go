package migrate_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// countingBucket counts the content reads of each key.
type countingBucket struct {
	driver.Bucket
	reads map[string]*atomic.Int64
}

func (b countingBucket) NewRangeReader(ctx context.Context, key string, off, n int64, o *driver.ReaderOptions) (driver.Reader, error) {
	if c, ok := b.reads[key]; ok {
		c.Add(1)
	}
	return b.Bucket.NewRangeReader(ctx, key, off, n, o)
}

// noSetter hides the destination's writecheck.MetadataSetter, or offers
// one that fails (a crash between the upload and recording its SHA-256).
type noSetter struct {
	driver.Bucket
	failing bool
}

func (b noSetter) As(i any) bool {
	if p, ok := i.(*writecheck.MetadataSetter); ok {
		if b.failing {
			*p = failingSetter{}
		}
		return b.failing
	}
	return b.Bucket.As(i)
}

type failingSetter struct{}

func (failingSetter) SetMetadata(context.Context, string, map[string]string, string) error {
	return errors.New("killed before the metadata was recorded")
}

func hexSum(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }

// An object larger than BufferLimit, with no SHA-256 recorded at the
// source, streams through: nothing is spooled to local disk, the source is
// read once where the destination can record the SHA-256 afterwards (twice
// where it cannot), the destination's metadata gets the SHA-256, and the
// manifest says what the server verified.
func TestStreamsWithoutSpool(t *testing.T) {
	s := testenv.MinIO(t)
	for _, tc := range []struct {
		name               string
		url                func() string
		readsOfLarge       int64
		smallChk, largeChk string
	}{
		// The adapter streams an object of known size up to its
		// StreamLimit as one PUT, whose whole SHA-256 the server checks.
		{"minio adapter", func() string { return s.MinioURL(s.NewBucket(t)) }, 1, writecheck.SHA256, writecheck.SHA256},
		{"s3blob", func() string { return s.S3URL(s.NewBucket(t)) }, 1, writecheck.SHA256, writecheck.SHA256Parts},
		{"file", func() string { return "file://" + t.TempDir() }, 2, writecheck.Reread, writecheck.Reread},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testenv.Context(t)
			dst := open(t, tc.url())
			spool := t.TempDir()
			t.Setenv("TMPDIR", spool)
			mem := open(t, "mem://")
			small, large := make([]byte, 10<<10), make([]byte, 11<<20) // large: 3 parts of 5 MiB on s3://
			_, _ = rand.Read(small)
			_, _ = rand.Read(large)
			require.NoError(t, mem.WriteAll(ctx, "small", small, &gcblob.WriterOptions{ContentType: "image/tiff"}))
			require.NoError(t, mem.WriteAll(ctx, "large", large, &gcblob.WriterOptions{ContentType: "image/tiff", Metadata: map[string]string{"precinct": "7"}}))
			reads := map[string]*atomic.Int64{"small": {}, "large": {}}
			src := gcblob.NewBucket(countingBucket{driveradapter.Bucket(mem), reads})

			var m bytes.Buffer
			sum, err := migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &m, BufferLimit: 1 << 20})
			require.NoError(t, err)
			require.NoError(t, sum.Err(), sum.String())
			assert.Equal(t, int64(2), sum.Copied)
			assert.Equal(t, tc.readsOfLarge, reads["large"].Load(), "reads of the large object")
			assert.Equal(t, int64(1), reads["small"].Load())
			left, err := os.ReadDir(spool)
			require.NoError(t, err)
			assert.Empty(t, left, "nothing spooled to the temporary directory")

			entries, err := migrate.ReadManifest(&m)
			require.NoError(t, err)
			require.Len(t, entries, 2)
			checks := map[string]string{}
			for _, e := range entries {
				checks[e.Key] = e.ServerCheck
			}
			assert.Equal(t, map[string]string{"small": tc.smallChk, "large": tc.largeChk}, checks)
			for k, p := range map[string][]byte{"small": small, "large": large} {
				a, err := dst.Attributes(ctx, k)
				require.NoError(t, err)
				assert.Equal(t, hexSum(p), a.Metadata[digest.MetadataKey], k)
				assert.Equal(t, "image/tiff", a.ContentType, k)
			}
			a, err := dst.Attributes(ctx, "large")
			require.NoError(t, err)
			assert.Equal(t, "7", a.Metadata["precinct"])
			rep, err := migrate.VerifyManifest(ctx, dst, entries, nil)
			require.NoError(t, err)
			assert.True(t, rep.OK(), "%+v", rep)

			// A second run finds both identical by their recorded SHA-256.
			sum, err = migrate.Run(ctx, src, dst, nil)
			require.NoError(t, err)
			assert.Equal(t, int64(2), sum.Skipped, sum.String())
		})
	}
}

// The crash between the upload of a streamed object and the recording of
// its SHA-256: the object fails, no manifest line claims it, and the next
// run copies it again (a destination copy without its SHA-256 is never
// taken as identical).
func TestStreamedObjectUnrecordedIsCopiedAgain(t *testing.T) {
	ctx := testenv.Context(t)
	s := testenv.MinIO(t)
	src := open(t, "mem://")
	large := make([]byte, 2<<20)
	_, _ = rand.Read(large)
	require.NoError(t, src.WriteAll(ctx, "large", large, nil))
	dst := open(t, s.MinioURL(s.NewBucket(t)))
	broken := gcblob.NewBucket(noSetter{driveradapter.Bucket(dst), true})

	var m bytes.Buffer
	sum, err := migrate.Run(ctx, src, broken, &migrate.Options{Manifest: &m, BufferLimit: 1 << 20, Retries: 1, RetryBackoff: 1})
	require.NoError(t, err)
	require.Equal(t, int64(1), sum.Failed, sum.String())
	assert.Contains(t, sum.Failures[0].Err, "record "+digest.MetadataKey+" after the upload")
	assert.Zero(t, m.Len(), "no manifest line for an object whose SHA-256 was not recorded")
	a, err := dst.Attributes(ctx, "large")
	require.NoError(t, err, "the upload itself was committed")
	assert.Empty(t, a.Metadata[digest.MetadataKey])

	sum, err = migrate.Run(ctx, src, dst, &migrate.Options{Manifest: &m, BufferLimit: 1 << 20})
	require.NoError(t, err)
	assert.Equal(t, int64(1), sum.Copied, sum.String())
	a, err = dst.Attributes(ctx, "large")
	require.NoError(t, err)
	assert.Equal(t, hexSum(large), a.Metadata[digest.MetadataKey])
}

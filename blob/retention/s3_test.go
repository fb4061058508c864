package retention

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// lockedBackend opens buckets with object lock on one server, through one
// driver.
type lockedBackend struct {
	name string
	open func(t *testing.T, lock bool) *blob.Bucket
	// reopen opens the last bucket open made again.
	reopen func(t *testing.T) *blob.Bucket
}

func s3Backends() []lockedBackend {
	mk := func(name string, server func(testing.TB) testenv.S3, url func(testenv.S3, string) string) lockedBackend {
		var last string
		be := lockedBackend{name: name}
		be.reopen = func(t *testing.T) *blob.Bucket {
			b, err := cpblob.Open(t.Context(), last)
			require.NoError(t, err)
			return b
		}
		be.open = func(t *testing.T, lock bool) *blob.Bucket {
			s := server(t)
			var opts []testenv.BucketOption
			if lock {
				opts = append(opts, testenv.WithObjectLock())
			}
			t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
			t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
			last = url(s, s.NewBucket(t, opts...))
			b, err := cpblob.Open(t.Context(), last)
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			return b
		}
		return be
	}
	return []lockedBackend{
		mk("minio-adapter-on-MinIO", testenv.MinIO, testenv.S3.MinioURL),
		mk("s3blob-on-MinIO", testenv.MinIO, testenv.S3.S3URL),
		mk("s3blob-on-versitygw", testenv.Versitygw, testenv.S3.S3URL),
	}
}

// readVersion reads one version of key through the driver's BeforeRead.
func readVersion(ctx context.Context, b *blob.Bucket, key, version string) ([]byte, error) {
	r, err := b.NewReader(ctx, key, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		var mo *minio.GetObjectOptions
		var so *s3.GetObjectInput
		var gh **storage.ObjectHandle
		switch {
		case as(&mo):
			mo.VersionID = version
		case as(&so):
			so.VersionId = &version
		case as(&gh):
			gen, err := strconv.ParseInt(version, 10, 64)
			if err != nil {
				return err
			}
			*gh = (*gh).Generation(gen)
		default:
			return fmt.Errorf("cannot select a version")
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// write writes content at key and returns its version id.
func write(t *testing.T, b *blob.Bucket, key string, content []byte) string {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, b.WriteAll(ctx, key, content, nil))
	v, err := CurrentVersion(ctx, b, key)
	require.NoError(t, err)
	require.NotEmpty(t, v)
	return v
}

// assertRefused checks err is a refusal by the server of op, naming key.
func assertRefused(t *testing.T, err error, key, what string) {
	t.Helper()
	if !assert.Error(t, err, "%s: want a refusal", what) {
		return
	}
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%s: %v", what, err)
	assert.Contains(t, err.Error(), strconv.Quote(key), "%s: the error names the key", what)
}

func assertIntact(t *testing.T, b *blob.Bucket, key, version string, content []byte) {
	t.Helper()
	got, err := readVersion(t.Context(), b, key, version)
	require.NoError(t, err, "the retained version %s must still be readable", version)
	assert.Equal(t, string(content), string(got), "the retained version %s must be unaltered", version)
}

// assertGone checks version of key no longer exists. (s3blob reports S3's
// NoSuchVersion with code Unknown.)
func assertGone(t *testing.T, b *blob.Bucket, key, version, what string) {
	t.Helper()
	_, err := readVersion(t.Context(), b, key, version)
	if gcerrors.Code(err) != gcerrors.NotFound {
		assert.ErrorContains(t, err, "NoSuchVersion", "%s: version %s must be gone", what, version)
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, be lockedBackend)) {
	for _, be := range s3Backends() {
		t.Run(be.name, func(t *testing.T) { f(t, be) })
	}
}

func TestGovernance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, true)
		require.NoError(t, Supported(ctx, b))
		const key = "precinct-7/cvr-001.json"
		content := []byte(`{"contest":"mayor","choice":"A"}`)
		v := write(t, b, key, content)

		r, err := Get(ctx, b, key)
		require.NoError(t, err)
		assert.True(t, r.IsZero(), "a new object has no retention: %v", r)

		// Control: without retention, Delete removes the version for good;
		// so a refusal below is the retention's doing.
		const free = "precinct-7/unretained.json"
		fv := write(t, b, free, []byte("x"))
		require.NoError(t, Delete(ctx, b, free, VersionID(fv)))
		assertGone(t, b, free, fv, "deleted version")

		until := time.Now().Add(time.Hour)
		require.NoError(t, Set(ctx, b, key, Retention{Mode: Governance, Until: until}, VersionID(v)))
		r, err = Get(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.Equal(t, Governance, r.Mode)
		assert.WithinDuration(t, until, r.Until, time.Second)

		// Tamper: delete the retained version, with and without naming it.
		assertRefused(t, Delete(ctx, b, key, VersionID(v)), key, "delete of a governance-retained version")
		assertRefused(t, Delete(ctx, b, key), key, "delete of the current, retained version")
		assertIntact(t, b, key, v, content)

		// Tamper: shorten without the bypass.
		err = Set(ctx, b, key, Retention{Mode: Governance, Until: time.Now().Add(time.Minute)}, VersionID(v))
		assertRefused(t, err, key, "shortening governance without bypass")
		r, err = Get(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.WithinDuration(t, until, r.Until, time.Second, "retention unchanged")

		// Overwrite adds a version; the retained one stays.
		require.NoError(t, b.WriteAll(ctx, key, []byte("tampered"), nil))
		assertIntact(t, b, key, v, content)
		// A plain Delete adds a delete marker; the retained version stays.
		require.NoError(t, b.Delete(ctx, key))
		assertIntact(t, b, key, v, content)
		assertRefused(t, Delete(ctx, b, key, VersionID(v)), key, "delete of the retained version behind a delete marker")

		// With the explicit bypass: shorten, then delete.
		require.NoError(t, Set(ctx, b, key, Retention{Mode: Governance, Until: time.Now().Add(time.Minute)}, VersionID(v), BypassGovernance()))
		require.NoError(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()))
		assertGone(t, b, key, v, "bypassed delete")
	})
}

// complianceFor is how long compliance tests retain: the bucket cannot be
// removed before, so the tests wait for it.
const complianceFor = 4 * time.Second

func TestCompliance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, true)
		const key = "precinct-7/poll-book.csv"
		content := []byte("voter,signed\n1,yes\n")
		v := write(t, b, key, content)
		until := time.Now().Add(complianceFor)
		require.NoError(t, Set(ctx, b, key, Retention{Mode: Compliance, Until: until}))
		r, err := Get(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.Equal(t, Compliance, r.Mode)
		assert.WithinDuration(t, until, r.Until, time.Second)

		assertRefused(t, Delete(ctx, b, key, VersionID(v)), key, "delete of a compliance-retained version")
		assertRefused(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()), key, "bypassed delete of a compliance-retained version")
		short := Retention{Mode: Compliance, Until: time.Now().Add(complianceFor / 2)}
		assertRefused(t, Set(ctx, b, key, short, VersionID(v), BypassGovernance()), key, "shortening compliance")
		gov := Retention{Mode: Governance, Until: r.Until.Add(time.Second)}
		assertRefused(t, Set(ctx, b, key, gov, VersionID(v), BypassGovernance()), key, "compliance to governance")
		require.NoError(t, b.WriteAll(ctx, key, []byte("tampered"), nil))
		assertIntact(t, b, key, v, content)
		r2, err := Get(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.Equal(t, r, r2, "compliance retention unchanged")
		require.True(t, time.Now().Before(r.Until), "the refusals must have happened before the date")

		// Control: after the date the same delete succeeds (and the bucket
		// can be removed).
		time.Sleep(time.Until(r.Until) + 1500*time.Millisecond)
		require.NoError(t, Delete(ctx, b, key, VersionID(v)))
		assertGone(t, b, key, v, "deleted after the date")
	})
}

func TestLegalHold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, true)
		require.NoError(t, LegalHoldSupported(ctx, b))
		const key = "county/ballot-images/0001.tif"
		content := []byte("image bytes")
		v := write(t, b, key, content)
		on, err := LegalHold(ctx, b, key)
		require.NoError(t, err)
		assert.False(t, on)

		require.NoError(t, SetLegalHold(ctx, b, key, true, VersionID(v)))
		on, err = LegalHold(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.True(t, on)
		assertRefused(t, Delete(ctx, b, key, VersionID(v)), key, "delete of a held version")
		assertRefused(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()), key, "bypassed delete of a held version")
		require.NoError(t, b.WriteAll(ctx, key, []byte("tampered"), nil))
		assertIntact(t, b, key, v, content)

		// Released, the same delete succeeds.
		require.NoError(t, SetLegalHold(ctx, b, key, false, VersionID(v)))
		on, err = LegalHold(ctx, b, key, VersionID(v))
		require.NoError(t, err)
		assert.False(t, on)
		require.NoError(t, Delete(ctx, b, key, VersionID(v)))
		assertGone(t, b, key, v, "deleted after release")
	})
}

// A hold and a governance retention together: the bypass lifts the
// retention but not the hold.
func TestLegalHoldOverridesBypass(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, true)
		const key = "hold+governance"
		v := write(t, b, key, []byte("x"))
		require.NoError(t, Set(ctx, b, key, Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}))
		require.NoError(t, SetLegalHold(ctx, b, key, true))
		assertRefused(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()), key, "bypassed delete of a held version")
		require.NoError(t, SetLegalHold(ctx, b, key, false))
		require.NoError(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()))
	})
}

// Buckets created without object lock: Supported says so, and so does a
// Set, with FailedPrecondition and ErrNotEnabled.
func TestNotEnabled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, false)
		err := Supported(ctx, b)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrNotEnabled)
		assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
		t.Logf("Supported: %v", err)

		require.NoError(t, b.WriteAll(ctx, "k", []byte("x"), nil))
		err = Set(ctx, b, "k", Retention{Mode: Governance, Until: time.Now().Add(time.Hour)})
		require.Error(t, err)
		t.Logf("Set: %v", err)
		err = SetLegalHold(ctx, b, "k", true)
		require.Error(t, err)
		t.Logf("SetLegalHold: %v", err)
	})
}

// Keys are named as the driver stores them: escaped, and with the prefix
// of a blob.PrefixedBucket.
func TestEscapedAndPrefixedKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		outer := be.open(t, true)
		b := blob.PrefixedBucket(be.reopen(t), "county-9/")
		defer b.Close()
		key := "precinct 7/ballot+1.json"
		v := write(t, b, key, []byte("x"))
		require.NoError(t, Set(ctx, b, key, Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}))
		// Seen from the unprefixed bucket, the same version is retained.
		r, err := Get(ctx, outer, "county-9/"+key, VersionID(v))
		require.NoError(t, err)
		assert.Equal(t, Governance, r.Mode)
		assertRefused(t, Delete(ctx, outer, "county-9/"+key, VersionID(v)), "county-9/"+key, "delete through the outer bucket")
		require.NoError(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()))
	})
}

func TestNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be lockedBackend) {
		ctx := t.Context()
		b := be.open(t, true)
		_, err := Get(ctx, b, "missing")
		assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
		err = Set(ctx, b, "missing", Retention{Mode: Governance, Until: time.Now().Add(time.Hour)})
		assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
		err = Delete(ctx, b, "missing")
		assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	})
}

// versitygw enforces object lock through minio-go too, but minio-go cannot
// parse its GetObjectRetention reply; this pins that down (through s3blob,
// Get works: TestGovernance).
func TestMinioAdapterVersitygwRetentionReply(t *testing.T) {
	s := testenv.Versitygw(t)
	t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
	t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
	ctx := t.Context()
	b, err := cpblob.Open(ctx, s.MinioURL(s.NewBucket(t, testenv.WithObjectLock())))
	require.NoError(t, err)
	defer b.Close()
	const key = "k"
	v := write(t, b, key, []byte("x"))
	require.NoError(t, Set(ctx, b, key, Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}, VersionID(v)))
	_, err = Get(ctx, b, key, VersionID(v))
	assert.ErrorContains(t, err, "expected element type <Retention> but have <ObjectLockRetention>")
	assertRefused(t, Delete(ctx, b, key, VersionID(v)), key, "delete of a retained version on versitygw")
	require.NoError(t, Delete(ctx, b, key, VersionID(v), BypassGovernance()))
}

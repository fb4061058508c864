// Package retentiontest is the test suite of civicport's S3 Object Lock
// retention drivers (adapters/retention/s3 and .../minio), run against the
// test servers (MinIO, versitygw) through civicport's blob.Open, and the
// helpers the driver tests share. Every test skips when its server is down
// (see internal/testing/testenv).
package retentiontest

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// Backend opens buckets with object lock on one server, through one
// driver.
type Backend struct {
	Name string
	open func(t *testing.T, lock bool) *blob.Bucket
	// reopen opens the last bucket open made again.
	reopen func(t *testing.T) *blob.Bucket
	// selectVersion makes a read (BeforeRead's as) read version.
	selectVersion func(as func(any) bool, version string) error
}

// S3Backend is server (testenv.MinIO, testenv.Versitygw) opened with
// cpblob.Open at url (testenv.S3.S3URL or MinioURL); selectVersion sets
// the version to read in the driver's BeforeRead request.
func S3Backend(name string, server func(testing.TB) testenv.S3, url func(testenv.S3, string) string, selectVersion func(as func(any) bool, version string) error) Backend {
	var last string
	be := Backend{Name: name, selectVersion: selectVersion}
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

// Run runs the suite on each backend: governance and compliance retention,
// legal holds, buckets without object lock, escaped and prefixed keys,
// missing keys.
func Run(t *testing.T, backends ...Backend) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Backend)
	}{
		{"Governance", testGovernance},
		{"Compliance", testCompliance},
		{"LegalHold", testLegalHold},
		{"LegalHoldOverridesBypass", testLegalHoldOverridesBypass},
		{"NotEnabled", testNotEnabled},
		{"EscapedAndPrefixedKeys", testEscapedAndPrefixedKeys},
		{"NotFound", testNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, be := range backends {
				t.Run(be.Name, func(t *testing.T) { tc.f(t, be) })
			}
		})
	}
}

// readVersion reads one version of key through the driver's BeforeRead.
func (be Backend) readVersion(ctx context.Context, b *blob.Bucket, key, version string) ([]byte, error) {
	r, err := b.NewReader(ctx, key, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		return be.selectVersion(as, version)
	}})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Write writes content at key and returns its version id.
func Write(t *testing.T, b *blob.Bucket, key string, content []byte) string {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, blobcopy.Put(ctx, b, key, content, nil))
	v, err := retention.CurrentVersion(ctx, b, key)
	require.NoError(t, err)
	require.NotEmpty(t, v)
	return v
}

// AssertRefused checks err is a refusal by the server of op, naming key.
func AssertRefused(t *testing.T, err error, key, what string) {
	t.Helper()
	if !assert.Error(t, err, "%s: want a refusal", what) {
		return
	}
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%s: %v", what, err)
	assert.Contains(t, err.Error(), strconv.Quote(key), "%s: the error names the key", what)
}

func (be Backend) assertIntact(t *testing.T, b *blob.Bucket, key, version string, content []byte) {
	t.Helper()
	got, err := be.readVersion(t.Context(), b, key, version)
	require.NoError(t, err, "the retained version %s must still be readable", version)
	assert.Equal(t, string(content), string(got), "the retained version %s must be unaltered", version)
}

// assertGone checks version of key no longer exists. (s3blob reports S3's
// NoSuchVersion with code Unknown.)
func (be Backend) assertGone(t *testing.T, b *blob.Bucket, key, version, what string) {
	t.Helper()
	_, err := be.readVersion(t.Context(), b, key, version)
	if gcerrors.Code(err) != gcerrors.NotFound {
		assert.ErrorContains(t, err, "NoSuchVersion", "%s: version %s must be gone", what, version)
	}
}

func testGovernance(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, true)
	require.NoError(t, retention.Supported(ctx, b))
	const key = "precinct-7/cvr-001.json"
	content := []byte(`{"contest":"mayor","choice":"A"}`)
	v := Write(t, b, key, content)

	r, err := retention.Get(ctx, b, key)
	require.NoError(t, err)
	assert.True(t, r.IsZero(), "a new object has no retention: %v", r)

	// Control: without retention, Delete removes the version for good;
	// so a refusal below is the retention's doing.
	const free = "precinct-7/unretained.json"
	fv := Write(t, b, free, []byte("x"))
	require.NoError(t, retention.Delete(ctx, b, free, retention.VersionID(fv)))
	be.assertGone(t, b, free, fv, "deleted version")

	until := time.Now().Add(time.Hour)
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: until}, retention.VersionID(v)))
	r, err = retention.Get(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.Equal(t, retention.Governance, r.Mode)
	assert.WithinDuration(t, until, r.Until, time.Second)

	// Tamper: delete the retained version, with and without naming it.
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v)), key, "delete of a governance-retained version")
	AssertRefused(t, retention.Delete(ctx, b, key), key, "delete of the current, retained version")
	be.assertIntact(t, b, key, v, content)

	// Tamper: shorten without the bypass.
	err = retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Minute)}, retention.VersionID(v))
	AssertRefused(t, err, key, "shortening governance without bypass")
	r, err = retention.Get(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.WithinDuration(t, until, r.Until, time.Second, "retention unchanged")

	// Overwrite adds a version; the retained one stays.
	require.NoError(t, blobcopy.Put(ctx, b, key, []byte("tampered"), nil))
	be.assertIntact(t, b, key, v, content)
	// A plain Delete adds a delete marker; the retained version stays.
	require.NoError(t, b.Delete(ctx, key))
	be.assertIntact(t, b, key, v, content)
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v)), key, "delete of the retained version behind a delete marker")

	// With the explicit bypass: shorten, then delete.
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Minute)}, retention.VersionID(v), retention.BypassGovernance()))
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()))
	be.assertGone(t, b, key, v, "bypassed delete")
}

// complianceFor is how long compliance tests retain: the bucket cannot be
// removed before, so the tests wait for it.
const complianceFor = 4 * time.Second

func testCompliance(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, true)
	const key = "precinct-7/poll-book.csv"
	content := []byte("voter,signed\n1,yes\n")
	v := Write(t, b, key, content)
	until := time.Now().Add(complianceFor)
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Compliance, Until: until}))
	r, err := retention.Get(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.Equal(t, retention.Compliance, r.Mode)
	assert.WithinDuration(t, until, r.Until, time.Second)

	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v)), key, "delete of a compliance-retained version")
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()), key, "bypassed delete of a compliance-retained version")
	short := retention.Retention{Mode: retention.Compliance, Until: time.Now().Add(complianceFor / 2)}
	AssertRefused(t, retention.Set(ctx, b, key, short, retention.VersionID(v), retention.BypassGovernance()), key, "shortening compliance")
	gov := retention.Retention{Mode: retention.Governance, Until: r.Until.Add(time.Second)}
	AssertRefused(t, retention.Set(ctx, b, key, gov, retention.VersionID(v), retention.BypassGovernance()), key, "compliance to governance")
	require.NoError(t, blobcopy.Put(ctx, b, key, []byte("tampered"), nil))
	be.assertIntact(t, b, key, v, content)
	r2, err := retention.Get(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.Equal(t, r, r2, "compliance retention unchanged")
	require.True(t, time.Now().Before(r.Until), "the refusals must have happened before the date")

	// Control: after the date the same delete succeeds (and the bucket
	// can be removed).
	time.Sleep(time.Until(r.Until) + 1500*time.Millisecond)
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v)))
	be.assertGone(t, b, key, v, "deleted after the date")
}

func testLegalHold(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, true)
	require.NoError(t, retention.LegalHoldSupported(ctx, b))
	const key = "county/ballot-images/0001.tif"
	content := []byte("image bytes")
	v := Write(t, b, key, content)
	on, err := retention.LegalHold(ctx, b, key)
	require.NoError(t, err)
	assert.False(t, on)

	require.NoError(t, retention.SetLegalHold(ctx, b, key, true, retention.VersionID(v)))
	on, err = retention.LegalHold(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.True(t, on)
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v)), key, "delete of a held version")
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()), key, "bypassed delete of a held version")
	require.NoError(t, blobcopy.Put(ctx, b, key, []byte("tampered"), nil))
	be.assertIntact(t, b, key, v, content)

	// Released, the same delete succeeds.
	require.NoError(t, retention.SetLegalHold(ctx, b, key, false, retention.VersionID(v)))
	on, err = retention.LegalHold(ctx, b, key, retention.VersionID(v))
	require.NoError(t, err)
	assert.False(t, on)
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v)))
	be.assertGone(t, b, key, v, "deleted after release")
}

// A hold and a governance retention together: the bypass lifts the
// retention but not the hold.
func testLegalHoldOverridesBypass(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, true)
	const key = "hold+governance"
	v := Write(t, b, key, []byte("x"))
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)}))
	require.NoError(t, retention.SetLegalHold(ctx, b, key, true))
	AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()), key, "bypassed delete of a held version")
	require.NoError(t, retention.SetLegalHold(ctx, b, key, false))
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()))
}

// Buckets created without object lock: Supported says so, and so does a
// Set, with FailedPrecondition and ErrNotEnabled.
func testNotEnabled(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, false)
	err := retention.Supported(ctx, b)
	require.Error(t, err)
	assert.ErrorIs(t, err, retention.ErrNotEnabled)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
	t.Logf("Supported: %v", err)

	require.NoError(t, blobcopy.Put(ctx, b, "k", []byte("x"), nil))
	err = retention.Set(ctx, b, "k", retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)})
	require.Error(t, err)
	t.Logf("Set: %v", err)
	err = retention.SetLegalHold(ctx, b, "k", true)
	require.Error(t, err)
	t.Logf("SetLegalHold: %v", err)
}

// Keys are named as the driver stores them: escaped, and with the prefix
// of a blob.PrefixedBucket.
func testEscapedAndPrefixedKeys(t *testing.T, be Backend) {
	ctx := t.Context()
	outer := be.open(t, true)
	b := blob.PrefixedBucket(be.reopen(t), "county-9/")
	defer b.Close()
	key := "precinct 7/ballot+1.json"
	v := Write(t, b, key, []byte("x"))
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)}))
	// Seen from the unprefixed bucket, the same version is retained.
	r, err := retention.Get(ctx, outer, "county-9/"+key, retention.VersionID(v))
	require.NoError(t, err)
	assert.Equal(t, retention.Governance, r.Mode)
	AssertRefused(t, retention.Delete(ctx, outer, "county-9/"+key, retention.VersionID(v)), "county-9/"+key, "delete through the outer bucket")
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()))
}

func testNotFound(t *testing.T, be Backend) {
	ctx := t.Context()
	b := be.open(t, true)
	_, err := retention.Get(ctx, b, "missing")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	err = retention.Set(ctx, b, "missing", retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)})
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
	err = retention.Delete(ctx, b, "missing")
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
}

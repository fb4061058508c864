package minio

import (
	"context"
	"testing"
	"time"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Object lock, retention, legal hold and versioning are reached through the
// bucket's own *minio.Client (Client, BucketName, ObjectName), without a
// second connection.
func TestGovernanceRetentionThroughAs(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := context.Background()
	b, err := OpenBucket(ctx, s.Client(t), s.NewBucket(t, testenv.WithObjectLock()), nil)
	require.NoError(t, err)
	defer b.Close()

	const key = "precinct-7//ballot-001.json" // "//" is escaped: use ObjectName
	content := []byte(`{"choice":"A"}`)
	require.NoError(t, b.WriteAll(ctx, key, content, nil))

	c, ok := Client(b)
	require.True(t, ok)
	bucket, ok := BucketName(b)
	require.True(t, ok)
	object := ObjectName(key)

	v, err := c.GetBucketVersioning(ctx, bucket)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", v.Status, "object lock implies versioning")

	attrs, err := b.Attributes(ctx, key)
	require.NoError(t, err)
	var info minio.ObjectInfo
	require.True(t, attrs.As(&info))
	version := info.VersionID
	require.NotEmpty(t, version)

	mode := minio.Governance
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	require.NoError(t, c.PutObjectRetention(ctx, bucket, object, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: version,
	}))
	gotMode, gotUntil, err := c.GetObjectRetention(ctx, bucket, object, version)
	require.NoError(t, err)
	assert.Equal(t, minio.Governance, *gotMode)
	assert.True(t, until.Equal(*gotUntil), "retain until %v, want %v", gotUntil, until)

	// Deleting the retained version is refused, through the portable API
	// (BeforeDelete names the version) ...
	deleteVersion := &blob.DeleteOptions{BeforeDelete: func(as func(any) bool) error {
		var o *minio.RemoveObjectOptions
		require.True(t, as(&o))
		o.VersionID = version
		return nil
	}}
	err = b.DeleteWithOptions(ctx, key, deleteVersion)
	require.Error(t, err)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)
	var er minio.ErrorResponse
	require.True(t, b.ErrorAs(err, &er))
	assert.Equal(t, "Object is WORM protected and cannot be overwritten", er.Message)
	// ... and through the raw client.
	err = c.RemoveObject(ctx, bucket, object, minio.RemoveObjectOptions{VersionID: version})
	assert.Equal(t, gcerrors.PermissionDenied, errorCode(err), "%v", err)

	// A plain Delete only adds a delete marker: the key is gone, the
	// retained version is not.
	require.NoError(t, b.Delete(ctx, key))
	_, err = b.ReadAll(ctx, key)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	r, err := b.NewReader(ctx, key, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		var o *minio.GetObjectOptions
		require.True(t, as(&o))
		o.VersionID = version
		return nil
	}})
	require.NoError(t, err)
	got := make([]byte, len(content)+1)
	n, _ := r.Read(got)
	require.NoError(t, r.Close())
	assert.Equal(t, content, got[:n])

	// A legal hold blocks the delete even with a governance bypass.
	on, off := minio.LegalHoldEnabled, minio.LegalHoldDisabled
	require.NoError(t, c.PutObjectLegalHold(ctx, bucket, object, minio.PutObjectLegalHoldOptions{VersionID: version, Status: &on}))
	err = c.RemoveObject(ctx, bucket, object, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: true})
	assert.Equal(t, gcerrors.PermissionDenied, errorCode(err), "%v", err)
	require.NoError(t, c.PutObjectLegalHold(ctx, bucket, object, minio.PutObjectLegalHoldOptions{VersionID: version, Status: &off}))
	// Governance mode lets a privileged caller bypass it (the test cleanup
	// relies on that).
	require.NoError(t, c.RemoveObject(ctx, bucket, object, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: true}))
}

// Retention and legal hold can be set with the write itself, through
// BeforeWrite, for single-PUT and multipart writes alike.
func TestRetentionAtWrite(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := context.Background()
	c := s.Client(t)
	bucket := s.NewBucket(t, testenv.WithObjectLock())
	b, err := OpenBucket(ctx, c, bucket, &Options{PartSize: MinPartSize})
	require.NoError(t, err)
	defer b.Close()

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	lock := func(as func(any) bool) error {
		var o *minio.PutObjectOptions
		require.True(t, as(&o))
		o.Mode = minio.Governance
		o.RetainUntilDate = until
		o.LegalHold = minio.LegalHoldEnabled
		return nil
	}
	for _, size := range []int{100, MinPartSize + 100} {
		key := "locked-" + sizeName(size)
		require.NoError(t, b.WriteAll(ctx, key, randomBytes(t, size), &blob.WriterOptions{BeforeWrite: lock}))
		mode, gotUntil, err := c.GetObjectRetention(ctx, bucket, ObjectName(key), "")
		require.NoError(t, err, key)
		assert.Equal(t, minio.Governance, *mode, key)
		assert.True(t, until.Equal(*gotUntil), key)
		hold, err := c.GetObjectLegalHold(ctx, bucket, ObjectName(key), minio.GetObjectLegalHoldOptions{})
		require.NoError(t, err, key)
		assert.Equal(t, minio.LegalHoldEnabled, *hold, key)
		// Release the hold so that the test cleanup can remove the object.
		off := minio.LegalHoldDisabled
		require.NoError(t, c.PutObjectLegalHold(ctx, bucket, ObjectName(key), minio.PutObjectLegalHoldOptions{Status: &off}))
	}
}

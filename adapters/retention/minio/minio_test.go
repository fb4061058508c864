package minio_test

import (
	"errors"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/retention/internal/retentiontest"
	_ "github.com/civicport/civicport/adapters/retention/minio"
	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// selectVersion reads version through the minio adapter's
// *minio.GetObjectOptions.
func selectVersion(as func(any) bool, version string) error {
	var o *minio.GetObjectOptions
	if !as(&o) {
		return errors.New("the minio adapter did not expose *minio.GetObjectOptions")
	}
	o.VersionID = version
	return nil
}

// S3 Object Lock through the minio adapter, on MinIO.
func TestObjectLock(t *testing.T) {
	retentiontest.Run(t, retentiontest.S3Backend("minio-adapter-on-MinIO", testenv.MinIO, testenv.S3.MinioURL, selectVersion))
}

// versitygw enforces object lock through minio-go too, but minio-go cannot
// parse its GetObjectRetention reply; this pins that down (through s3blob,
// Get works: adapters/retention/s3's TestObjectLock).
func TestVersitygwRetentionReply(t *testing.T) {
	s := testenv.Versitygw(t)
	t.Setenv("MINIO_ACCESS_KEY", testenv.DefaultAccessKey)
	t.Setenv("MINIO_SECRET_KEY", testenv.DefaultSecretKey)
	ctx := t.Context()
	b, err := cpblob.Open(ctx, s.MinioURL(s.NewBucket(t, testenv.WithObjectLock())))
	require.NoError(t, err)
	defer b.Close()
	const key = "k"
	v := retentiontest.Write(t, b, key, []byte("x"))
	require.NoError(t, retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)}, retention.VersionID(v)))
	_, err = retention.Get(ctx, b, key, retention.VersionID(v))
	assert.ErrorContains(t, err, "expected element type <Retention> but have <ObjectLockRetention>")
	retentiontest.AssertRefused(t, retention.Delete(ctx, b, key, retention.VersionID(v)), key, "delete of a retained version on versitygw")
	require.NoError(t, retention.Delete(ctx, b, key, retention.VersionID(v), retention.BypassGovernance()))
}

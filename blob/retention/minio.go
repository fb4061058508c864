package retention

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
	"gocloud.dev/blob"
)

// minioBackend is S3 Object Lock through civicport's minio adapter.
type minioBackend struct {
	b      *blob.Bucket
	c      *minio.Client
	bucket string
}

func (m *minioBackend) name() string { return "the civicport minio adapter" }

// object returns the stored object name of key (escaped, with any prefix of
// a wrapping blob.PrefixedBucket) from a zero-length read of version (or of
// the current version): one HEAD request.
func (m *minioBackend) object(ctx context.Context, key, version string) (string, error) {
	r, err := m.b.NewRangeReader(ctx, key, 0, 0, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		var o *minio.GetObjectOptions
		if !as(&o) {
			return errors.New("the minio adapter did not expose *minio.GetObjectOptions")
		}
		o.VersionID = version
		return nil
	}})
	if err != nil {
		return "", err
	}
	defer r.Close()
	var info minio.ObjectInfo
	if !r.As(&info) || info.Key == "" {
		return "", errors.New("the minio adapter did not report the object name (minio.ObjectInfo.Key)")
	}
	return info.Key, nil
}

func (m *minioBackend) supported(ctx context.Context, _ bool) error {
	status, _, _, _, err := m.c.GetObjectLockConfig(ctx, m.bucket)
	if err != nil {
		return notEnabled(err, fmt.Sprintf("bucket %q has no object lock configuration", m.bucket))
	}
	if status != "Enabled" {
		return fmt.Errorf("%w: object lock on bucket %q is %q", ErrNotEnabled, m.bucket, status)
	}
	return nil
}

func (m *minioBackend) setRetention(ctx context.Context, key, version string, r Retention, bypass bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	mode := minio.RetentionMode(r.Mode)
	err = m.c.PutObjectRetention(ctx, m.bucket, name, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &r.Until, VersionID: version, GovernanceBypass: bypass,
	})
	return notEnabled(err, "bucket "+m.bucket)
}

func (m *minioBackend) getRetention(ctx context.Context, key, version string) (Retention, error) {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return Retention{}, err
	}
	mode, until, err := m.c.GetObjectRetention(ctx, m.bucket, name, version)
	if err != nil {
		if noLockConfig(err) {
			return Retention{}, nil
		}
		return Retention{}, notEnabled(err, "bucket "+m.bucket)
	}
	var r Retention
	if mode != nil {
		r.Mode = Mode(*mode)
	}
	if until != nil {
		r.Until = until.UTC()
	}
	return r, nil
}

func (m *minioBackend) setHold(ctx context.Context, key, version string, on bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	err = m.c.PutObjectLegalHold(ctx, m.bucket, name, minio.PutObjectLegalHoldOptions{VersionID: version, Status: &st})
	return notEnabled(err, "bucket "+m.bucket)
}

func (m *minioBackend) getHold(ctx context.Context, key, version string) (bool, error) {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return false, err
	}
	st, err := m.c.GetObjectLegalHold(ctx, m.bucket, name, minio.GetObjectLegalHoldOptions{VersionID: version})
	if err != nil {
		if noLockConfig(err) {
			return false, nil
		}
		return false, notEnabled(err, "bucket "+m.bucket)
	}
	return st != nil && *st == minio.LegalHoldEnabled, nil
}

func (m *minioBackend) deleteVersion(ctx context.Context, key, version string, bypass bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	return m.c.RemoveObject(ctx, m.bucket, name, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: bypass})
}

// noLockConfig reports S3's answer for a version without retention or
// legal hold in a bucket with object lock.
func noLockConfig(err error) bool {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code == "NoSuchObjectLockConfiguration"
	}
	var ae s3APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchObjectLockConfiguration"
}

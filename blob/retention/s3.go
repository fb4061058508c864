package retention

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
)

// s3Backend is S3 Object Lock through gocloud's s3blob and its *s3.Client.
type s3Backend struct {
	b *blob.Bucket
	c *s3.Client
}

func (s *s3Backend) name() string { return "s3blob" }

// errTarget stops a read once BeforeRead has seen where it would go.
var errTarget = errors.New("retention: target found (no request sent)")

// target returns the bucket and the stored object name of key, as s3blob
// would send them (escaped, with the prefix of a wrapping
// blob.PrefixedBucket). s3blob does not expose its bucket name; its read
// request does. BeforeRead returns errTarget, so nothing is sent.
func (s *s3Backend) target(ctx context.Context, key string) (bucket, object string, err error) {
	_, err = s.b.NewRangeReader(ctx, key, 0, 0, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		var in *s3.GetObjectInput
		if !as(&in) || in == nil || in.Bucket == nil || in.Key == nil {
			return errors.New("s3blob did not expose its *s3.GetObjectInput")
		}
		bucket, object = *in.Bucket, *in.Key
		return errTarget
	}})
	if errors.Is(err, errTarget) {
		return bucket, object, nil
	}
	if err == nil {
		err = errors.New("s3blob read without calling BeforeRead")
	}
	return "", "", err
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *s3Backend) supported(ctx context.Context, _ bool) error {
	bucket, _, err := s.target(ctx, "retention-probe")
	if err != nil {
		return err
	}
	out, err := s.c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &bucket})
	if err != nil {
		return notEnabled(err, fmt.Sprintf("bucket %q has no object lock configuration", bucket))
	}
	if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return fmt.Errorf("%w: object lock is not enabled on bucket %q", ErrNotEnabled, bucket)
	}
	return nil
}

func (s *s3Backend) setRetention(ctx context.Context, key, version string, r Retention, bypass bool) error {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return err
	}
	until := r.Until
	in := &s3.PutObjectRetentionInput{
		Bucket:    &bucket,
		Key:       &object,
		VersionId: optString(version),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionMode(r.Mode), RetainUntilDate: &until},
	}
	if bypass {
		t := true
		in.BypassGovernanceRetention = &t
	}
	_, err = s.c.PutObjectRetention(ctx, in)
	return notEnabled(err, "bucket "+bucket)
}

func (s *s3Backend) getRetention(ctx context.Context, key, version string) (Retention, error) {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return Retention{}, err
	}
	out, err := s.c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &bucket, Key: &object, VersionId: optString(version)})
	if err != nil {
		if noLockConfig(err) {
			return Retention{}, nil
		}
		return Retention{}, notEnabled(err, "bucket "+bucket)
	}
	var r Retention
	if out.Retention != nil {
		r.Mode = Mode(out.Retention.Mode)
		if out.Retention.RetainUntilDate != nil {
			r.Until = out.Retention.RetainUntilDate.UTC()
		}
	}
	return r, nil
}

func (s *s3Backend) setHold(ctx context.Context, key, version string, on bool) error {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return err
	}
	st := types.ObjectLockLegalHoldStatusOff
	if on {
		st = types.ObjectLockLegalHoldStatusOn
	}
	_, err = s.c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
		Bucket: &bucket, Key: &object, VersionId: optString(version),
		LegalHold: &types.ObjectLockLegalHold{Status: st},
	})
	return notEnabled(err, "bucket "+bucket)
}

func (s *s3Backend) getHold(ctx context.Context, key, version string) (bool, error) {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return false, err
	}
	out, err := s.c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &bucket, Key: &object, VersionId: optString(version)})
	if err != nil {
		if noLockConfig(err) {
			return false, nil
		}
		return false, notEnabled(err, "bucket "+bucket)
	}
	return out.LegalHold != nil && out.LegalHold.Status == types.ObjectLockLegalHoldStatusOn, nil
}

func (s *s3Backend) deleteVersion(ctx context.Context, key, version string, bypass bool) error {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return err
	}
	// S3 answers 204 for a version that does not exist; HEAD it first so
	// that a wrong version id is NotFound, as for the other backends.
	if _, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &object, VersionId: &version}); err != nil {
		return err
	}
	in := &s3.DeleteObjectInput{Bucket: &bucket, Key: &object, VersionId: &version}
	if bypass {
		t := true
		in.BypassGovernanceRetention = &t
	}
	_, err = s.c.DeleteObject(ctx, in)
	return err
}

// Package s3 is the blob/retention driver for gocloud's s3blob: S3 Object
// Lock (retention in GOVERNANCE and COMPLIANCE mode, legal holds) through
// the *s3.Client of an s3blob bucket, on AWS and on S3-compatible servers
// (MinIO, versitygw, ...).
//
// # Usage
//
// Importing the package registers the driver with blob/retention:
//
//	import _ "github.com/civicport/civicport/adapters/retention/s3"
//
// civicport's blob.Open imports it already; a program that opens s3blob
// buckets with gocloud's openers (blob.OpenBucket("s3://..."),
// s3blob.OpenBucket) imports it itself. Then the functions of
// blob/retention work on those buckets, also when wrapped (e.g. by
// blob.PrefixedBucket, or a decorator that forwards As).
//
// # The bucket
//
// S3 enables Object Lock only when a bucket is created (the bucket is then
// versioned); on any other bucket retention.Supported and the other
// functions report retention.ErrNotEnabled (gcerrors.FailedPrecondition).
// retention.BypassGovernance needs the permission
// s3:BypassGovernanceRetention.
//
// # As
//
// The driver reaches through the bucket's As:
//   - Bucket: *s3.Client, the client s3blob sends with;
//   - ReaderOptions.BeforeRead: *s3.GetObjectInput, the bucket name and the
//     escaped key (prefix included) of a zero-length read, which the
//     driver stops before it is sent (s3blob does not expose its bucket
//     name otherwise);
//   - Attributes: s3.HeadObjectOutput, its VersionId (CurrentVersion);
//   - errors: smithy's APIError (code and message) and the HTTP status, to
//     classify S3's replies.
//
// # Limits
//
// Delete HEADs the version first, since S3 answers 204 for a version that
// does not exist; a wrong version id is then NotFound. Tested against
// MinIO and versitygw (see the package tests), which enforce every rule of
// blob/retention; not against AWS itself.
package s3 // import "github.com/civicport/civicport/adapters/retention/s3"

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/adapters/retention/internal/driverkit"
	"github.com/civicport/civicport/blob/retention"
)

// Name is the name the driver registers with retention.Register.
const Name = "s3blob"

func init() {
	retention.Register(Name, func(b *blob.Bucket) (retention.Driver, bool, error) {
		var c *s3.Client
		if !b.As(&c) || c == nil {
			return nil, false, nil
		}
		return &driver{b: b, c: c}, true, nil
	})
}

// driver is S3 Object Lock through gocloud's s3blob and its *s3.Client.
type driver struct {
	b *blob.Bucket
	c *s3.Client
}

func (s *driver) Name() string { return Name }

// target returns the bucket and the stored object name of key, as s3blob
// would send them (escaped, with the prefix of a wrapping
// blob.PrefixedBucket).
func (s *driver) target(ctx context.Context, key string) (bucket, object string, err error) {
	in, err := driverkit.Request(ctx, s.b, key, "s3blob", func(as func(any) bool) (*s3.GetObjectInput, error) {
		var in *s3.GetObjectInput
		if !as(&in) || in == nil || in.Bucket == nil || in.Key == nil {
			return nil, errors.New("s3blob did not expose its *s3.GetObjectInput")
		}
		return in, nil
	})
	if err != nil {
		return "", "", err
	}
	return *in.Bucket, *in.Key, nil
}

// optString is nil for "" (no version: the current one).
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *driver) notEnabled(err error, what string) error {
	return driverkit.NotEnabled(err, s.ErrorCode, what)
}

func (s *driver) Supported(ctx context.Context, _ bool) error {
	bucket, _, err := s.target(ctx, "retention-probe")
	if err != nil {
		return err
	}
	out, err := s.c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &bucket})
	if err != nil {
		return s.notEnabled(err, fmt.Sprintf("bucket %q has no object lock configuration", bucket))
	}
	if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return fmt.Errorf("%w: object lock is not enabled on bucket %q", retention.ErrNotEnabled, bucket)
	}
	return nil
}

func (s *driver) SetRetention(ctx context.Context, key, version string, r retention.Retention, bypass bool) error {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return err
	}
	in := &s3.PutObjectRetentionInput{
		Bucket:    &bucket,
		Key:       &object,
		VersionId: optString(version),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionMode(r.Mode), RetainUntilDate: aws.Time(r.Until)},
	}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err = s.c.PutObjectRetention(ctx, in)
	return s.notEnabled(err, "bucket "+bucket)
}

func (s *driver) GetRetention(ctx context.Context, key, version string) (retention.Retention, error) {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return retention.Retention{}, err
	}
	out, err := s.c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &bucket, Key: &object, VersionId: optString(version)})
	if err != nil {
		if noLockConfig(err) {
			return retention.Retention{}, nil
		}
		return retention.Retention{}, s.notEnabled(err, "bucket "+bucket)
	}
	var r retention.Retention
	if out.Retention != nil {
		r.Mode = retention.Mode(out.Retention.Mode)
		if out.Retention.RetainUntilDate != nil {
			r.Until = out.Retention.RetainUntilDate.UTC()
		}
	}
	return r, nil
}

func (s *driver) SetLegalHold(ctx context.Context, key, version string, on bool) error {
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
	return s.notEnabled(err, "bucket "+bucket)
}

func (s *driver) LegalHold(ctx context.Context, key, version string) (bool, error) {
	bucket, object, err := s.target(ctx, key)
	if err != nil {
		return false, err
	}
	out, err := s.c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: &bucket, Key: &object, VersionId: optString(version)})
	if err != nil {
		if noLockConfig(err) {
			return false, nil
		}
		return false, s.notEnabled(err, "bucket "+bucket)
	}
	return out.LegalHold != nil && out.LegalHold.Status == types.ObjectLockLegalHoldStatusOn, nil
}

func (s *driver) DeleteVersion(ctx context.Context, key, version string, bypass bool) error {
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
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err = s.c.DeleteObject(ctx, in)
	return err
}

func (s *driver) VersionOf(a *blob.Attributes) (string, bool) {
	var h s3.HeadObjectOutput
	if !a.As(&h) {
		return "", false
	}
	return aws.ToString(h.VersionId), true
}

// apiError is what smithy's APIError (aws-sdk-go-v2) provides.
type apiError interface {
	ErrorCode() string
	ErrorMessage() string
}

// httpStatus is what aws-sdk-go-v2's ResponseError provides.
type httpStatus interface{ HTTPStatusCode() int }

// ErrorCode classifies S3's error replies (see driverkit.S3Code).
func (s *driver) ErrorCode(err error) gcerrors.ErrorCode {
	var ae apiError
	if !errors.As(err, &ae) {
		return gcerrors.Unknown
	}
	status := 0
	var hs httpStatus
	if errors.As(err, &hs) {
		status = hs.HTTPStatusCode()
	}
	return driverkit.S3Code(ae.ErrorCode(), ae.ErrorMessage(), status)
}

// noLockConfig reports S3's answer for a version without retention or
// legal hold in a bucket with object lock.
func noLockConfig(err error) bool {
	var ae apiError
	return errors.As(err, &ae) && ae.ErrorCode() == driverkit.NoLockConfiguration
}

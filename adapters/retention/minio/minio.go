// Package minio is the blob/retention driver for civicport's minio adapter
// (adapters/minio, minio://): S3 Object Lock (retention in GOVERNANCE and
// COMPLIANCE mode, legal holds) through the adapter's own *minio.Client.
//
// # Usage
//
// Importing the package registers the driver with blob/retention:
//
//	import _ "github.com/civicport/civicport/adapters/retention/minio"
//
// civicport's blob.Open imports it already; a program that opens buckets
// with the adapter directly (adapters/minio.OpenBucket, or
// blob.OpenBucket("minio://...")) imports it itself. Then the functions of
// blob/retention work on those buckets, also when wrapped (e.g. by
// blob.PrefixedBucket, or a decorator that forwards As).
//
// # The bucket
//
// S3 enables Object Lock only when a bucket is created (the bucket is then
// versioned); on any other bucket retention.Supported and the other
// functions report retention.ErrNotEnabled (gcerrors.FailedPrecondition).
//
// # As
//
// The driver reaches through the bucket's As:
//   - Bucket: *minio.Client, and the bucket name (adapters/minio.BucketName);
//   - ReaderOptions.BeforeRead: *minio.GetObjectOptions, to read the
//     version asked for, and Reader: minio.ObjectInfo, whose Key is the
//     stored object name (escaped, prefix included): finding it costs one
//     HEAD request per call;
//   - Attributes: minio.ObjectInfo, its VersionID (CurrentVersion);
//   - errors: minio.ErrorResponse, to classify S3's replies.
//
// # Limits
//
// Tested against MinIO and versitygw (see the package tests), which both
// enforce every rule of blob/retention. On versitygw retention.Get fails:
// minio-go cannot parse its GetObjectRetention reply (root element
// <ObjectLockRetention>); through gocloud's s3blob and the
// adapters/retention/s3 driver it works.
package minio // import "github.com/civicport/civicport/adapters/retention/minio"

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	cpminio "github.com/civicport/civicport/adapters/minio"
	"github.com/civicport/civicport/adapters/retention/internal/driverkit"
	"github.com/civicport/civicport/blob/retention"
)

// Name is the name the driver registers with retention.Register.
const Name = "minio"

func init() {
	retention.Register(Name, func(b *blob.Bucket) (retention.Driver, bool, error) {
		c, ok := cpminio.Client(b)
		if !ok || c == nil {
			return nil, false, nil
		}
		name, ok := cpminio.BucketName(b)
		if !ok {
			return nil, true, fmt.Errorf("%w: the bucket exposes a *minio.Client but not its bucket name", retention.ErrUnsupported)
		}
		return &driver{b: b, c: c, bucket: name}, true, nil
	})
}

// driver is S3 Object Lock through civicport's minio adapter.
type driver struct {
	b      *blob.Bucket
	c      *minio.Client
	bucket string
}

func (m *driver) Name() string { return "the civicport minio adapter" }

// object returns the stored object name of key (escaped, with any prefix of
// a wrapping blob.PrefixedBucket) from a zero-length read of version (or of
// the current version): one HEAD request.
func (m *driver) object(ctx context.Context, key, version string) (string, error) {
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

func (m *driver) notEnabled(err error) error {
	return driverkit.NotEnabled(err, m.ErrorCode, "bucket "+m.bucket)
}

func (m *driver) Supported(ctx context.Context, _ bool) error {
	status, _, _, _, err := m.c.GetObjectLockConfig(ctx, m.bucket)
	if err != nil {
		return driverkit.NotEnabled(err, m.ErrorCode, fmt.Sprintf("bucket %q has no object lock configuration", m.bucket))
	}
	if status != "Enabled" {
		return fmt.Errorf("%w: object lock on bucket %q is %q", retention.ErrNotEnabled, m.bucket, status)
	}
	return nil
}

func (m *driver) SetRetention(ctx context.Context, key, version string, r retention.Retention, bypass bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	mode := minio.RetentionMode(r.Mode)
	err = m.c.PutObjectRetention(ctx, m.bucket, name, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &r.Until, VersionID: version, GovernanceBypass: bypass,
	})
	return m.notEnabled(err)
}

func (m *driver) GetRetention(ctx context.Context, key, version string) (retention.Retention, error) {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return retention.Retention{}, err
	}
	mode, until, err := m.c.GetObjectRetention(ctx, m.bucket, name, version)
	if err != nil {
		if noLockConfig(err) {
			return retention.Retention{}, nil
		}
		return retention.Retention{}, m.notEnabled(err)
	}
	var r retention.Retention
	if mode != nil {
		r.Mode = retention.Mode(*mode)
	}
	if until != nil {
		r.Until = until.UTC()
	}
	return r, nil
}

func (m *driver) SetLegalHold(ctx context.Context, key, version string, on bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	err = m.c.PutObjectLegalHold(ctx, m.bucket, name, minio.PutObjectLegalHoldOptions{VersionID: version, Status: &st})
	return m.notEnabled(err)
}

func (m *driver) LegalHold(ctx context.Context, key, version string) (bool, error) {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return false, err
	}
	st, err := m.c.GetObjectLegalHold(ctx, m.bucket, name, minio.GetObjectLegalHoldOptions{VersionID: version})
	if err != nil {
		if noLockConfig(err) {
			return false, nil
		}
		return false, m.notEnabled(err)
	}
	return st != nil && *st == minio.LegalHoldEnabled, nil
}

func (m *driver) DeleteVersion(ctx context.Context, key, version string, bypass bool) error {
	name, err := m.object(ctx, key, version)
	if err != nil {
		return err
	}
	return m.c.RemoveObject(ctx, m.bucket, name, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: bypass})
}

func (m *driver) VersionOf(a *blob.Attributes) (string, bool) {
	var info minio.ObjectInfo
	if !a.As(&info) {
		return "", false
	}
	return info.VersionID, true
}

// ErrorCode classifies S3's error replies (see driverkit.S3Code).
func (m *driver) ErrorCode(err error) gcerrors.ErrorCode {
	var re minio.ErrorResponse
	if !errors.As(err, &re) {
		return gcerrors.Unknown
	}
	return driverkit.S3Code(re.Code, re.Message, re.StatusCode)
}

// noLockConfig reports S3's answer for a version without retention or
// legal hold in a bucket with object lock.
func noLockConfig(err error) bool {
	var re minio.ErrorResponse
	return errors.As(err, &re) && re.Code == driverkit.NoLockConfiguration
}

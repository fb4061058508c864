// Package driverkit is what civicport's retention drivers
// (adapters/retention/...) share: reading a blob driver's request without
// sending it, the classification of S3 error replies (minio-go and the AWS
// SDK carry the same codes) and the marking of "not enabled" replies with
// retention.ErrNotEnabled.
package driverkit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/internal/httpcode"
)

// errTarget stops a read once BeforeRead has seen where it would go.
var errTarget = errors.New("retention: target found (no request sent)")

// Request returns what see finds in the request the blob driver of b
// builds to read key (escaped, with the prefix of a wrapping
// blob.PrefixedBucket), e.g. the bucket and object name, which gocloud's
// s3blob and gcsblob do not expose otherwise. A zero-length NewRangeReader
// calls see from BeforeRead, then stops, so no request is ever sent. what
// names the blob driver for errors.
func Request[T any](ctx context.Context, b *blob.Bucket, key, what string, see func(as func(any) bool) (T, error)) (T, error) {
	var found T
	_, err := b.NewRangeReader(ctx, key, 0, 0, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		v, err := see(as)
		if err != nil {
			return err
		}
		found = v
		return errTarget
	}})
	if errors.Is(err, errTarget) {
		return found, nil
	}
	if err == nil {
		err = fmt.Errorf("%s read without calling BeforeRead", what)
	}
	var zero T
	return zero, err
}

// NoLockConfiguration is S3's error code for a version without retention
// or legal hold in a bucket with object lock: GetObjectRetention and
// GetObjectLegalHold then mean "none".
const NoLockConfiguration = "NoSuchObjectLockConfiguration"

// S3Code maps an S3 error reply (its code, message and HTTP status). AWS
// refuses to delete a locked version with AccessDenied; MinIO with
// InvalidRequest "Object is WORM protected".
func S3Code(code, msg string, status int) gcerrors.ErrorCode {
	switch code {
	case "NoSuchBucket", "NoSuchKey", "NoSuchVersion", "NotFound":
		return gcerrors.NotFound
	case "AccessDenied", "Forbidden", "ObjectLocked":
		return gcerrors.PermissionDenied
	case "ObjectLockConfigurationNotFoundError":
		return gcerrors.FailedPrecondition
	case "NotImplemented":
		return gcerrors.Unimplemented
	case "InvalidRequest", "InvalidArgument":
		l := strings.ToLower(msg)
		switch {
		case strings.Contains(l, "worm"), strings.Contains(l, "locked"), strings.Contains(l, "protected"):
			return gcerrors.PermissionDenied
		case strings.Contains(l, "object lock"), strings.Contains(l, "objectlock"):
			return gcerrors.FailedPrecondition
		}
		return gcerrors.InvalidArgument
	}
	return httpcode.Code(status)
}

// NotEnabled marks err as retention.ErrNotEnabled when code, the driver's
// ErrorCode, says the server found the bucket without object lock or
// object retention (FailedPrecondition); what says which bucket.
func NotEnabled(err error, code func(error) gcerrors.ErrorCode, what string) error {
	if err == nil || errors.Is(err, retention.ErrNotEnabled) {
		return err
	}
	if code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%w (%s): %w", retention.ErrNotEnabled, what, err)
	}
	return err
}

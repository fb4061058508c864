package minio

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/retention"
)

func TestErrorCode(t *testing.T) {
	d := &driver{bucket: "b"}
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Object is WORM protected and cannot be overwritten", StatusCode: http.StatusBadRequest}, gcerrors.PermissionDenied},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Bucket is missing ObjectLockConfiguration", StatusCode: http.StatusBadRequest}, gcerrors.FailedPrecondition},
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: http.StatusNotFound}, gcerrors.NotFound},
		{minio.ErrorResponse{Code: "Teapot", StatusCode: http.StatusForbidden}, gcerrors.PermissionDenied},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "AccessDenied"}), gcerrors.PermissionDenied},
		{errors.New("no reply"), gcerrors.Unknown},
	} {
		assert.Equal(t, tc.want, d.ErrorCode(tc.err), "%v", tc.err)
	}
	assert.True(t, noLockConfig(minio.ErrorResponse{Code: "NoSuchObjectLockConfiguration"}))

	// A reply saying the bucket has no object lock is ErrNotEnabled.
	err := d.notEnabled(minio.ErrorResponse{Code: "InvalidRequest", Message: "Bucket is missing ObjectLockConfiguration"})
	assert.ErrorIs(t, err, retention.ErrNotEnabled)
	assert.ErrorContains(t, err, `bucket b`)
	other := minio.ErrorResponse{Code: "NoSuchKey"}
	assert.Equal(t, error(other), d.notEnabled(other))
}

package s3

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"gocloud.dev/gcerrors"
)

// apiErr is what the AWS SDK returns for an S3 error reply: smithy's
// APIError, with the status of the response.
type apiErr struct {
	code, msg string
	status    int
}

func (e *apiErr) Error() string        { return e.code + ": " + e.msg }
func (e *apiErr) ErrorCode() string    { return e.code }
func (e *apiErr) ErrorMessage() string { return e.msg }
func (e *apiErr) HTTPStatusCode() int  { return e.status }

func TestErrorCode(t *testing.T) {
	d := &driver{}
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{&apiErr{"AccessDenied", "Access Denied because object protected by object lock.", http.StatusForbidden}, gcerrors.PermissionDenied},
		{&apiErr{"InvalidRequest", "Object is WORM protected and cannot be overwritten", http.StatusBadRequest}, gcerrors.PermissionDenied},
		{&apiErr{"InvalidRequest", "Bucket is missing Object Lock Configuration", http.StatusBadRequest}, gcerrors.FailedPrecondition},
		{&apiErr{"InvalidRequest", "something else", http.StatusBadRequest}, gcerrors.InvalidArgument},
		{&apiErr{"ObjectLockConfigurationNotFoundError", "", http.StatusNotFound}, gcerrors.FailedPrecondition},
		{&apiErr{"NoSuchVersion", "", http.StatusNotFound}, gcerrors.NotFound},
		{&apiErr{"SlowDown", "", http.StatusServiceUnavailable}, gcerrors.ResourceExhausted},
		{fmt.Errorf("operation error S3: PutObjectRetention: %w", &apiErr{"NotImplemented", "", http.StatusNotImplemented}), gcerrors.Unimplemented},
		{errors.New("no reply"), gcerrors.Unknown},
	} {
		assert.Equal(t, tc.want, d.ErrorCode(tc.err), "%v", tc.err)
	}
	assert.True(t, noLockConfig(fmt.Errorf("wrapped: %w", &apiErr{code: "NoSuchObjectLockConfiguration"})))
	assert.False(t, noLockConfig(&apiErr{code: "NoSuchKey"}))
}

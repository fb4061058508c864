package gcs

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

func TestErrorCode(t *testing.T) {
	d := &driver{}
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{&googleapi.Error{Code: http.StatusBadRequest, Message: "Object retention is not enabled for this bucket."}, gcerrors.FailedPrecondition},
		{&googleapi.Error{Code: http.StatusBadRequest, Message: "Object is under a Locked retention"}, gcerrors.PermissionDenied},
		{&googleapi.Error{Code: http.StatusBadRequest, Message: "Object has an active temporary hold"}, gcerrors.PermissionDenied},
		{&googleapi.Error{Code: http.StatusBadRequest, Message: "bad"}, gcerrors.InvalidArgument},
		{fmt.Errorf("storage: object doesn't exist: %w", &googleapi.Error{Code: http.StatusNotFound}), gcerrors.NotFound},
		{&googleapi.Error{Code: http.StatusPreconditionFailed}, gcerrors.FailedPrecondition},
		{&invalidVersionError{"x"}, gcerrors.InvalidArgument},
		{errors.New("no reply"), gcerrors.Unknown},
	} {
		assert.Equal(t, tc.want, d.ErrorCode(tc.err), "%v", tc.err)
	}
}

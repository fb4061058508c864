// Package httpcode maps HTTP status codes of cloud error replies to
// gocloud's gcerrors codes, for code that classifies errors a gocloud
// driver does not (blob/retention and its drivers, the minio adapter).
package httpcode

import (
	"net/http"

	"gocloud.dev/gcerrors"
)

// Code returns the gcerrors code of an HTTP error status; Unknown for a
// status it does not map, and for 0 (no status).
func Code(status int) gcerrors.ErrorCode {
	switch status {
	case http.StatusNotFound:
		return gcerrors.NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return gcerrors.PermissionDenied
	case http.StatusBadRequest:
		return gcerrors.InvalidArgument
	case http.StatusConflict, http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case http.StatusNotImplemented:
		return gcerrors.Unimplemented
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return gcerrors.ResourceExhausted
	}
	return gcerrors.Unknown
}

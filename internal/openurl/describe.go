package openurl

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"

	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/redact"
)

// Describe says in words what kind of failure err is (cancelled, not
// found, no credentials, unreachable server, access denied) followed by the
// backend's message, with credentials from urlstr removed. notFound is the
// words for a NotFound error, e.g. "not found (does the bucket exist?)".
func Describe(err error, urlstr, notFound string) string {
	msg := redact.String(err.Error(), urlstr)
	if kind := kindOf(err, msg, notFound); kind != "" {
		return kind + ": " + msg
	}
	return msg
}

func kindOf(err error, msg, notFound string) string {
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled or timed out"
	case gcerrors.Code(err) == gcerrors.NotFound, errors.Is(err, fs.ErrNotExist):
		return notFound
	case containsAny(msg, noCredentials):
		// Before "unreachable": the AWS SDK's search for credentials ends at
		// the instance metadata endpoint, whose failure reads like a
		// network error.
		return "no credentials found (AWS: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE; Google Cloud: set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login)"
	case errors.As(err, &oe), containsAny(msg, unreachable):
		return "server unreachable"
	case gcerrors.Code(err) == gcerrors.PermissionDenied, containsAny(msg, denied):
		return "access denied (check the credentials)"
	}
	return ""
}

var (
	// What the AWS SDK and Google's auth library say when they find no
	// credentials at all.
	noCredentials = []string{"failed to refresh cached credentials", "no EC2 IMDS role found", "could not find default credentials"}
	unreachable   = []string{"connection refused", "no such host", "no servers available"}
	// Some S3 servers answer bad credentials with codes gocloud does not map.
	denied = []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

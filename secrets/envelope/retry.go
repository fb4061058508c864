package envelope

import (
	"context"
	"errors"
	"net"
	"time"

	"gocloud.dev/gcerrors"
)

// A keeper whose key service cannot be reached (a network error: refused,
// reset, timed out; or a gocloud DeadlineExceeded or ResourceExhausted
// code) is asked again, keeperAttempts times in all, waiting keeperBackoff, then twice as
// long, in between. Any other error is final at once: a wrong key does not
// become right by asking again. (gocloud maps gRPC's Unavailable to
// Unknown, so a gcpkms:// service that is down is not recognised here; the
// Google client retries Unavailable itself.)
var (
	keeperAttempts = 3
	keeperBackoff  = 200 * time.Millisecond
)

// unreachable reports whether err says the key service could not be
// reached or could not answer now, rather than refusing the key.
func unreachable(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted:
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// withRetry calls op until it succeeds, fails for another reason than an
// unreachable service, keeperAttempts calls were made, or ctx is done.
func withRetry(ctx context.Context, op func() ([]byte, error)) ([]byte, error) {
	wait := keeperBackoff
	for attempt := 1; ; attempt++ {
		out, err := op()
		if err == nil || !unreachable(err) || attempt >= keeperAttempts || ctx.Err() != nil {
			return out, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}

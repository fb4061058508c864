package driveradapter

import (
	"errors"

	"gocloud.dev/gcerrors"
)

// portableError carries an error returned by a portable type through a
// driver: its code and As targets stay reachable (it unwraps to the portable
// error), while its text is the backend's own message, so that the outer
// portable layer does not print gocloud's prefix twice.
type portableError struct{ err error }

func (e *portableError) Error() string {
	// A gocloud error unwraps to the driver's error followed by a sentinel
	// for its code; the driver's error is the message worth keeping.
	if u, ok := e.err.(interface{ Unwrap() []error }); ok {
		if errs := u.Unwrap(); len(errs) > 0 && errs[0] != nil {
			return errs[0].Error()
		}
	}
	return e.err.Error()
}

func (e *portableError) Unwrap() error { return e.err }

// wrap returns nil for nil and wraps errors from the portable layer as a
// portableError; anything else (io.EOF from a reader, say) is left as is.
func wrap(err error) error {
	if err == nil || (gcerrors.Code(err) == gcerrors.Unknown && !errors.Is(err, gcerrors.ErrUnknown)) {
		return err
	}
	return &portableError{err: err}
}

// unwrapPortable returns the portable error a portableError carries, so a
// driver's ErrorAs can hand it back to the portable type's own ErrorAs.
func unwrapPortable(err error) error {
	var pe *portableError
	if errors.As(err, &pe) {
		return pe.err
	}
	return err
}

package retention

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/httpcode"
)

var (
	// ErrUnsupported means the bucket's backend has no retention or legal
	// holds that this package can reach (mem://, file://, azblob://, or a
	// blob driver no registered retention Driver knows). Errors wrapping
	// it have gcerrors.Code Unimplemented.
	ErrUnsupported = errors.New("retention and legal holds are not supported by this backend")

	// ErrNotEnabled means the backend supports retention but the bucket
	// was not created for it (S3: object lock; GCS: object retention).
	// Errors wrapping it have gcerrors.Code FailedPrecondition.
	ErrNotEnabled = errors.New("retention is not enabled on this bucket")
)

// Error is the error of every function of this package: what was tried, on
// which key, version and mode, the gcerrors code and the cause.
//
// gcerrors.Code(err) returns Code, and errors.Is(err, gcerrors.ErrXxx)
// matches it, as for gocloud's own errors; errors.Is also finds
// ErrUnsupported, ErrNotEnabled and context errors in Err.
type Error struct {
	Op      string    // e.g. "set retention", "delete"
	Key     string    // the blob key, if any
	Version string    // the version id, if one was named or resolved
	Mode    Mode      // for "set retention"
	Until   time.Time // for "set retention"
	Backend string    // e.g. "s3blob", "" when not found
	Code    gcerrors.ErrorCode
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("retention: ")
	b.WriteString(e.Op)
	if e.Mode != "" {
		fmt.Fprintf(&b, " %s", e.Mode)
	}
	if !e.Until.IsZero() {
		fmt.Fprintf(&b, " until %s", e.Until.UTC().Format(time.RFC3339))
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " of %q", e.Key)
	}
	if e.Version != "" {
		fmt.Fprintf(&b, " (version %q)", e.Version)
	}
	if e.Backend != "" {
		fmt.Fprintf(&b, " on %s", e.Backend)
	}
	fmt.Fprintf(&b, ": %v: %v", e.Code, e.Err)
	return b.String()
}

// Unwrap returns the cause and the gcerrors sentinel of Code.
func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	if s := sentinel(e.Code); s != nil {
		errs = append(errs, s)
	}
	return errs
}

// As lets gcerrors.Code read Code. gcerrors.Code looks for gocloud's
// internal *gcerr.Error with errors.As, a type other packages cannot name
// or build; As fills in one of that type, found by reflection on an error
// of gocloud's memblob, with only its exported Code field set. The package
// tests check this still works (TestErrorCodes), should gocloud change.
func (e *Error) As(target any) bool {
	v := gcerrOf(e.Code)
	if !v.IsValid() {
		return false
	}
	tv := reflect.ValueOf(target)
	if tv.Kind() != reflect.Pointer || tv.IsNil() || tv.Type().Elem() != v.Type() {
		return false
	}
	tv.Elem().Set(v)
	return true
}

// gcerrOf is a new error of gocloud's internal *gcerr.Error type with only
// its Code set to c, or the zero Value when that type cannot be found or
// has no settable int Code field.
func gcerrOf(c gcerrors.ErrorCode) reflect.Value {
	t := gcerrType()
	if t == nil {
		return reflect.Value{}
	}
	v := reflect.New(t.Elem())
	f := v.Elem().FieldByName("Code")
	if !f.IsValid() || !f.CanSet() || f.Kind() != reflect.Int {
		return reflect.Value{}
	}
	f.SetInt(int64(c))
	return v
}

var gcerrTypeOnce = sync.OnceValue(func() reflect.Type {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	_, err := b.Attributes(context.Background(), "no-such-key")
	if err == nil {
		return nil
	}
	t := reflect.TypeOf(err)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	return t
})

func gcerrType() reflect.Type { return gcerrTypeOnce() }

// sentinel is gocloud's sentinel for c (gcerrors.ErrNotFound, ...), nil for
// none: what gocloud's own error of code c unwraps to, so that the table of
// which sentinel goes with which code stays gocloud's.
func sentinel(c gcerrors.ErrorCode) error {
	v := gcerrOf(c)
	if !v.IsValid() {
		return nil
	}
	u, ok := v.Interface().(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	for _, err := range u.Unwrap() {
		if err != nil {
			return err
		}
	}
	return nil
}

// wrap completes e with the cause err (nil: returns nil) and its code,
// classified by d (nil: not found yet).
func (e *Error) wrap(d Driver, err error) error {
	if err == nil {
		return nil
	}
	var inner *Error
	if errors.As(err, &inner) {
		// From CurrentVersion inside Delete: keep the cause, not two prefixes.
		err = inner.Err
		if e.Version == "" {
			e.Version = inner.Version
		}
	}
	if d != nil {
		e.Backend = d.Name()
	}
	e.Err = err
	e.Code = classify(d, err)
	return e
}

// invalid is an InvalidArgument error found before any request.
func (e *Error) invalid(format string, args ...any) error {
	e.Err = fmt.Errorf(format, args...)
	e.Code = gcerrors.InvalidArgument
	return e
}

// httpStatus is what aws-sdk-go-v2's ResponseError provides.
type httpStatus interface{ HTTPStatusCode() int }

// classify maps a cause to a gcerrors code: this package's sentinels,
// context errors, then what the driver d knows (its backend's error
// replies), gocloud errors as they are, and an HTTP status.
func classify(d Driver, err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, ErrUnsupported):
		return gcerrors.Unimplemented
	case errors.Is(err, ErrNotEnabled):
		return gcerrors.FailedPrecondition
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	if d != nil {
		if c := d.ErrorCode(err); c != gcerrors.Unknown {
			return c
		}
	}
	if c := gcerrors.Code(err); c != gcerrors.Unknown {
		return c
	}
	var hs httpStatus
	if errors.As(err, &hs) {
		return httpcode.Code(hs.HTTPStatusCode())
	}
	return gcerrors.Unknown
}

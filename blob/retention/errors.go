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
	t := gcerrType()
	if t == nil {
		return false
	}
	tv := reflect.ValueOf(target)
	if tv.Kind() != reflect.Pointer || tv.IsNil() || tv.Type().Elem() != t {
		return false
	}
	v := reflect.New(t.Elem())
	f := v.Elem().FieldByName("Code")
	if !f.IsValid() || !f.CanSet() || f.Kind() != reflect.Int {
		return false
	}
	f.SetInt(int64(e.Code))
	tv.Elem().Set(v)
	return true
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

func sentinel(c gcerrors.ErrorCode) error {
	switch c {
	case gcerrors.Unknown:
		return gcerrors.ErrUnknown
	case gcerrors.NotFound:
		return gcerrors.ErrNotFound
	case gcerrors.AlreadyExists:
		return gcerrors.ErrAlreadyExists
	case gcerrors.InvalidArgument:
		return gcerrors.ErrInvalidArgument
	case gcerrors.Internal:
		return gcerrors.ErrInternal
	case gcerrors.Unimplemented:
		return gcerrors.ErrUnimplemented
	case gcerrors.FailedPrecondition:
		return gcerrors.ErrFailedPrecondition
	case gcerrors.PermissionDenied:
		return gcerrors.ErrPermissionDenied
	case gcerrors.ResourceExhausted:
		return gcerrors.ErrResourceExhausted
	case gcerrors.Canceled:
		return gcerrors.ErrCanceled
	case gcerrors.DeadlineExceeded:
		return gcerrors.ErrDeadlineExceeded
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

package retention

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Driver is retention on the buckets of one blob driver: what a retention
// driver implements (civicport's are in adapters/retention/...). The
// functions of this package check their arguments, then call one Driver
// method and wrap its error in an *Error.
//
// Methods act on the object version version of key, or on its current
// version when version is "". Keys are the bucket's keys, as the caller
// gave them: the driver escapes them and adds the prefix of a wrapping
// blob.PrefixedBucket as the blob driver does (the bucket's As and
// BeforeRead reach what the blob driver would send).
type Driver interface {
	// Name describes the backend in error messages, e.g. "s3blob".
	Name() string
	// Supported checks that retention (holdOnly: legal holds) can be used
	// on the bucket: nil, or an error wrapping ErrNotEnabled.
	Supported(ctx context.Context, holdOnly bool) error
	// SetRetention sets the retention of a version; r is valid, and
	// r.Until a whole second in the future, in UTC. bypass: see
	// BypassGovernance.
	SetRetention(ctx context.Context, key, version string, r Retention, bypass bool) error
	// GetRetention returns the retention of a version, the zero Retention
	// if it has none.
	GetRetention(ctx context.Context, key, version string) (Retention, error)
	// SetLegalHold places (on) or releases a legal hold on a version.
	SetLegalHold(ctx context.Context, key, version string, on bool) error
	// LegalHold reports whether a version is under a legal hold.
	LegalHold(ctx context.Context, key, version string) (bool, error)
	// DeleteVersion removes version (never "") permanently.
	DeleteVersion(ctx context.Context, key, version string, bypass bool) error
	// VersionOf returns the version id in a (from b.Attributes), through
	// a.As; ok is false if a shows none.
	VersionOf(a *blob.Attributes) (version string, ok bool)
	// ErrorCode returns the gcerrors code of an error a method returned,
	// or Unknown if the driver does not know it (this package then tries
	// gcerrors.Code and an HTTPStatusCode() int method). It is not called
	// for context errors, ErrUnsupported or ErrNotEnabled.
	ErrorCode(err error) gcerrors.ErrorCode
}

// OpenFunc returns the Driver for b, if b is a bucket of the driver's blob
// driver (seen through b.As): ok is false if it is not, err non-nil if it
// is but retention cannot be used on it (wrap ErrUnsupported).
type OpenFunc func(b *blob.Bucket) (d Driver, ok bool, err error)

type registered struct {
	name string
	open OpenFunc
}

var drivers struct {
	mu   sync.RWMutex
	list []registered
}

// Register makes a retention driver available under name. The functions
// of this package find a bucket's Driver by calling the OpenFunc of each
// registered driver in the order they were registered, until one reports
// ok. Drivers call Register from init, so a program enables one by
// importing it (civicport's blob.Open imports all of civicport's). If
// Register is called twice with the same name, or with an empty name or a
// nil open, it panics.
func Register(name string, open OpenFunc) {
	drivers.mu.Lock()
	defer drivers.mu.Unlock()
	if name == "" || open == nil {
		panic("retention: Register needs a name and an OpenFunc")
	}
	for _, r := range drivers.list {
		if r.name == name {
			panic("retention: Register called twice for driver " + name)
		}
	}
	drivers.list = append(drivers.list, registered{name, open})
}

// driverFor finds the Driver behind b, or returns an error wrapping
// ErrUnsupported.
func driverFor(b *blob.Bucket) (Driver, error) {
	if b == nil {
		return nil, errors.New("retention: nil *blob.Bucket")
	}
	drivers.mu.RLock()
	list := drivers.list
	drivers.mu.RUnlock()
	names := make([]string, len(list))
	for i, r := range list {
		d, ok, err := r.open(b)
		if err != nil {
			return nil, err
		}
		if ok {
			return d, nil
		}
		names[i] = r.name
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no retention driver is registered (open buckets with civicport's blob.Open, or import the drivers of adapters/retention)", ErrUnsupported)
	}
	return nil, fmt.Errorf("%w: the bucket's driver is not one retention knows (registered retention drivers: %s)", ErrUnsupported, strings.Join(names, ", "))
}

// Package retention is a portable retention and legal-hold API for WORM
// ("write once, read many") storage of election records, over gocloud's
// *blob.Bucket.
//
// gocloud's portable blob API has no retention: a program that must keep
// ballots, cast-vote records or poll books unaltered for a statutory period
// has to drop to each provider's SDK. Retention drivers do that once, each
// through its blob driver's As escape hatch, so the same calls work on:
//
//   - civicport's minio adapter (minio://): S3 Object Lock through the
//     adapter's own *minio.Client (driver adapters/retention/minio);
//   - gocloud's s3blob, e.g. from civicport's blob.Open (s3:// on AWS,
//     MinIO, versitygw, ...): S3 Object Lock through s3blob's *s3.Client
//     (adapters/retention/s3);
//   - gocloud's gcsblob (gs://): GCS object retention (Governance is an
//     "Unlocked" retention, Compliance a "Locked" one) and temporary holds
//     (the legal hold) (adapters/retention/gcs).
//
// Every other backend (mem://, file://, azblob://, ...) returns an *Error
// that wraps ErrUnsupported and has gcerrors.Code Unimplemented: a retention
// request is never silently ignored.
//
// # Drivers
//
// This package itself imports no cloud SDK. A retention driver implements
// Driver and registers it with Register in its init function, as
// database/sql drivers do; the functions of this package ask the registered
// drivers, in registration order, which of them knows the bucket. Buckets
// opened with civicport's blob.Open need nothing more: that package imports
// the three drivers above. A program that opens buckets with gocloud's own
// openers (blob.OpenBucket, s3blob.OpenBucket, ...) imports the drivers it
// needs for their side effect:
//
//	import _ "github.com/civicport/civicport/adapters/retention/s3"
//
// Without a matching driver a bucket is unsupported (ErrUnsupported, and
// the error lists the registered drivers). Each driver's package doc says
// how it finds the bucket and object, and what was tested against which
// servers.
//
// # Model
//
// A Retention is a Mode and a date. Until that date the retained object
// version cannot be deleted or altered:
//
//   - Governance: a caller with the right permission can shorten or change
//     the retention, or delete the version, but only by asking explicitly
//     (BypassGovernance).
//   - Compliance: nobody can shorten it, change it to Governance, or delete
//     the version before the date, not even the account's root user. It can
//     only be extended. Set it only when that is really meant: on S3 an
//     object under compliance retention, and so its bucket, cannot be
//     removed until the date has passed.
//
// A legal hold (SetLegalHold) blocks deletion of a version until it is
// released, whatever its retention, with or without BypassGovernance.
//
// # Versions
//
// S3 Object Lock protects object versions, not keys. On a versioned bucket
// (every bucket with object lock is one) gocloud's Bucket.Delete "succeeds"
// by adding a delete marker, and an overwrite adds a new version: the key
// then reads differently, but the retained version is still there,
// unaltered, and can be read by its version id. What retention promises is
// that the retained version cannot be deleted or altered. To act on a
// specific version pass VersionID (an S3 version id, or a GCS generation in
// decimal); without it the functions act on the current version.
// Delete always removes a version permanently (never just adds a delete
// marker), which is what retention refuses before its date.
//
// GCS is different: an object under retention or a hold cannot be replaced
// or deleted at all (the overwrite itself is refused).
//
// # Errors
//
// Every function returns nil or an *Error naming the operation, key,
// version and mode, with the backend's own message. gcerrors.Code works on
// it as on gocloud's errors: a delete or change refused by retention or a
// hold is PermissionDenied (AWS answers AccessDenied, MinIO InvalidRequest
// "Object is WORM protected"), a missing key or version NotFound, a bucket
// without object lock FailedPrecondition (errors.Is ErrNotEnabled), a
// backend without retention Unimplemented (errors.Is ErrUnsupported), a
// bad argument InvalidArgument.
//
// # Federal election records
//
// FederalElectionRetention computes the end of the 22-month period of
// 52 U.S.C. 20701. It is a helper: this package never picks a retention
// period on its own.
package retention // import "github.com/civicport/civicport/blob/retention"

import (
	"context"
	"fmt"
	"time"

	"gocloud.dev/blob"
)

// Mode is a retention mode.
type Mode string

const (
	// Governance retention can be shortened, removed or bypassed by a
	// caller that asks for it explicitly (BypassGovernance).
	Governance Mode = "GOVERNANCE"
	// Compliance retention cannot be shortened, removed or bypassed by
	// anyone until its date has passed; it can only be extended.
	Compliance Mode = "COMPLIANCE"
)

func (m Mode) valid() bool { return m == Governance || m == Compliance }

// Retention is the retention of one object version: its Mode and the date
// until which it is kept. The zero Retention means none.
type Retention struct {
	Mode  Mode
	Until time.Time
}

// IsZero reports whether r is no retention.
func (r Retention) IsZero() bool { return r.Mode == "" && r.Until.IsZero() }

func (r Retention) String() string {
	if r.IsZero() {
		return "no retention"
	}
	return fmt.Sprintf("%s until %s", r.Mode, r.Until.UTC().Format(time.RFC3339))
}

// Option changes what a function of this package acts on or allows.
type Option func(*options)

type options struct {
	version string
	bypass  bool
}

// VersionID makes a function act on the object version id (an S3 version
// id, or a GCS generation in decimal) instead of the current version.
func VersionID(id string) Option { return func(o *options) { o.version = id } }

// BypassGovernance allows Set to shorten or change a Governance
// retention, and Delete to delete a version under Governance retention. It
// has no effect on Compliance retention or on legal holds. The caller needs
// the permission for it (S3 s3:BypassGovernanceRetention).
func BypassGovernance() Option { return func(o *options) { o.bypass = true } }

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Supported reports whether retention in both modes can be used on b: nil,
// or an *Error wrapping ErrUnsupported (the backend has no retention, code
// Unimplemented) or ErrNotEnabled (it has, but not this bucket: S3 buckets
// need object lock, GCS buckets object retention, both enabled when the
// bucket is created; code FailedPrecondition). It may send a request.
func Supported(ctx context.Context, b *blob.Bucket) error {
	return supported(ctx, b, false)
}

// LegalHoldSupported is Supported for legal holds. On GCS every bucket
// supports holds; on S3 they need object lock.
func LegalHoldSupported(ctx context.Context, b *blob.Bucket) error {
	return supported(ctx, b, true)
}

func supported(ctx context.Context, b *blob.Bucket, holdOnly bool) error {
	op := "check retention support"
	if holdOnly {
		op = "check legal hold support"
	}
	e := &Error{Op: op}
	if err := ctx.Err(); err != nil {
		return e.wrap(nil, err)
	}
	d, err := driverFor(b)
	if err != nil {
		return e.wrap(nil, err)
	}
	return e.wrap(d, d.Supported(ctx, holdOnly))
}

// Set sets the retention of key's current version (or of VersionID) to r.
// r.Until must be in the future; it is rounded up to a whole second. A
// Governance retention can be shortened or changed only with
// BypassGovernance; a Compliance retention can only be extended. The
// server enforces both: a refused change returns an *Error, typically
// with code PermissionDenied.
func Set(ctx context.Context, b *blob.Bucket, key string, r Retention, opts ...Option) error {
	o := collect(opts)
	e := &Error{Op: "set retention", Key: key, Version: o.version, Mode: r.Mode, Until: r.Until}
	if !r.Mode.valid() {
		return e.invalid("mode %q is not %s or %s", r.Mode, Governance, Compliance)
	}
	if r.Until.IsZero() {
		return e.invalid("no retain-until date")
	}
	if !r.Until.After(time.Now()) {
		return e.invalid("retain-until date %s is not in the future", r.Until.UTC().Format(time.RFC3339))
	}
	r.Until = roundUp(r.Until)
	e.Until = r.Until
	d, err := start(ctx, b)
	if err != nil {
		return e.wrap(d, err)
	}
	return e.wrap(d, d.SetRetention(ctx, key, o.version, r, o.bypass))
}

// roundUp rounds t up to a whole second, in UTC, so that a backend that
// keeps seconds never retains for less than asked.
func roundUp(t time.Time) time.Time {
	t = t.UTC()
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}

// Get returns the retention of key's current version (or of VersionID);
// the zero Retention if it has none.
func Get(ctx context.Context, b *blob.Bucket, key string, opts ...Option) (Retention, error) {
	o := collect(opts)
	e := &Error{Op: "get retention", Key: key, Version: o.version}
	d, err := start(ctx, b)
	if err != nil {
		return Retention{}, e.wrap(d, err)
	}
	r, err := d.GetRetention(ctx, key, o.version)
	if err != nil {
		return Retention{}, e.wrap(d, err)
	}
	return r, nil
}

// SetLegalHold places (on) or releases (!on) a legal hold on key's current
// version (or VersionID). While held, the version cannot be deleted, also
// not with BypassGovernance. On GCS the legal hold is the object's
// temporary hold.
func SetLegalHold(ctx context.Context, b *blob.Bucket, key string, on bool, opts ...Option) error {
	o := collect(opts)
	op := "release legal hold"
	if on {
		op = "place legal hold"
	}
	e := &Error{Op: op, Key: key, Version: o.version}
	d, err := start(ctx, b)
	if err != nil {
		return e.wrap(d, err)
	}
	return e.wrap(d, d.SetLegalHold(ctx, key, o.version, on))
}

// LegalHold reports whether key's current version (or VersionID) is under
// a legal hold.
func LegalHold(ctx context.Context, b *blob.Bucket, key string, opts ...Option) (bool, error) {
	o := collect(opts)
	e := &Error{Op: "get legal hold", Key: key, Version: o.version}
	d, err := start(ctx, b)
	if err != nil {
		return false, e.wrap(d, err)
	}
	on, err := d.LegalHold(ctx, key, o.version)
	if err != nil {
		return false, e.wrap(d, err)
	}
	return on, nil
}

// Delete permanently deletes the version VersionID of key, or, without
// VersionID, its current version (found with CurrentVersion). Unlike
// Bucket.Delete on a versioned bucket it never just adds a delete marker:
// the data is gone, which is what retention and legal holds refuse. With
// BypassGovernance it deletes a version under Governance retention (on
// GCS: it first removes the Unlocked retention, then deletes).
func Delete(ctx context.Context, b *blob.Bucket, key string, opts ...Option) error {
	o := collect(opts)
	e := &Error{Op: "delete", Key: key, Version: o.version}
	d, err := start(ctx, b)
	if err != nil {
		return e.wrap(d, err)
	}
	if o.version == "" {
		v, err := CurrentVersion(ctx, b, key)
		if err != nil {
			return e.wrap(d, err)
		}
		if v == "" {
			return e.wrap(d, fmt.Errorf("%w: the bucket reports no version id for the object", ErrNotEnabled))
		}
		o.version = v
		e.Version = v
	}
	return e.wrap(d, d.DeleteVersion(ctx, key, o.version, o.bypass))
}

// CurrentVersion returns the version id of key's current version (an S3
// version id, or a GCS generation in decimal), read from b.Attributes. An
// S3 bucket without versioning reports "" or "null"; a bucket with object
// lock is always versioned.
func CurrentVersion(ctx context.Context, b *blob.Bucket, key string) (string, error) {
	e := &Error{Op: "get current version", Key: key}
	d, err := start(ctx, b)
	if err != nil {
		return "", e.wrap(d, err)
	}
	a, err := b.Attributes(ctx, key)
	if err != nil {
		return "", e.wrap(d, err)
	}
	if v, ok := d.VersionOf(a); ok {
		return v, nil
	}
	return "", e.wrap(d, fmt.Errorf("%w: no version id visible through Attributes.As", ErrUnsupported))
}

// start checks ctx and finds b's Driver.
func start(ctx context.Context, b *blob.Bucket) (Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return driverFor(b)
}

// Package keyrefusal lets a blob backend say that it refuses a key as
// documented behaviour, not by accident.
//
// Some backends cannot hold every key gocloud's portable API accepts: a
// file system allows at most 255 bytes per name, and cannot hold an object
// "nested" and an object "nested/child" at once (a file cannot also be a
// directory). Such a backend should refuse the key when it is written (a
// write, or the destination of a copy), with an error that names the key
// and says why, and leave nothing behind, rather than store it under
// another name or fail with a raw system error.
//
// A write error that wraps an *Error (errors.As) is such a documented
// refusal. civicport's file:// bucket returns one (see package blob);
// civicport's conformance suite (conformance/blobtest, blob.special_keys
// and blob.unicode_keys) names it in the verdict's detail instead of
// failing the check. Any other refusal, and any key read back or listed
// under another name, still fails.
//
// The package depends on the standard library only, so that both backends
// and the conformance suite can import it.
package keyrefusal

import "fmt"

// Error is a backend's documented refusal of one key.
type Error struct {
	// Backend names the backend in the message, e.g. "file bucket".
	Backend string
	// Key is the key as the caller gave it.
	Key string
	// Reason says why the backend cannot hold the key, in words.
	Reason string
	// Conflict is true when the key clashes with objects already in the
	// bucket (it could be written once they are deleted); false when the
	// backend can never hold it. Drivers report a conflict as
	// gcerrors.FailedPrecondition and any other refusal as
	// gcerrors.InvalidArgument.
	Conflict bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: key %q: %s", e.Backend, e.Key, e.Reason)
}

// Package blobtest is civicport's conformance suite for blob backends: it
// measures, against a live *blob.Bucket, which of the promises of gocloud's
// portable blob API really hold, one conformance.Result per capability
// (conformance.BlobCapabilities).
//
// Why: a program written against *blob.Bucket runs unchanged on S3, GCS,
// MinIO, a directory or memory, but the backends behind it differ in ways
// that matter when an election office switches provider: which keys survive,
// whether an if-not-exists write is honoured, whether an MD5 is reported,
// whether an old version can still be read. gocloud's own drivertest is a
// pass/fail test for driver authors; this suite is a measurement for users.
// It classifies every capability as pass, fail (with evidence: key, want vs
// got), unsupported (the backend honestly says it cannot) or skipped (the
// check could not run), so reports can be compared across backends.
//
// It is used in two ways:
//
//   - from a user's own `go test`, with Test, which runs one subtest per
//     capability (a fail is a test error, unsupported/skipped a t.Skip);
//   - without `go test`, by the `civicport conform` command, with Run.
//
// Both take an Opener that returns a fresh, empty bucket (or an isolated
// prefix of one) on every call. Each check opens its own bucket, writes only
// under a random key prefix of its own, and deletes what it wrote. Large
// objects are streamed from a deterministic generator and verified with
// SHA-256 while streaming; they are never held in memory.
//
// Versioning is read through the As escape hatch, so the suite understands
// the backends civicport ships with: gocloud's s3blob (*s3.HeadObjectOutput,
// **s3.GetObjectInput), gocloud's gcsblob (*storage.ObjectAttrs,
// **storage.ObjectHandle) and civicport's minio adapter (*minio.ObjectInfo,
// **minio.GetObjectOptions). Other backends report versioning as
// unsupported ("not enabled or not exposed").
package blobtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/harness"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

// Opener returns a fresh, empty bucket (or an isolated prefix of one, e.g.
// with blob.PrefixedBucket) on every call. The suite calls it once per
// capability and closes the bucket when the check is done; an Opener that
// creates real buckets should arrange their removal itself (e.g. with
// t.Cleanup).
type Opener func(ctx context.Context) (*blob.Bucket, error)

// Options tune the suite. A nil *Options is the same as the zero value; zero
// fields take the defaults below.
type Options struct {
	// LargeObjectSize is the size of the blob.large_object object, in bytes.
	// Default DefaultLargeObjectSize (100 MiB, which makes S3 uploads
	// multipart). The object is streamed, never held in memory.
	LargeObjectSize int64

	// Capabilities limits the run to these capability names (see
	// conformance.BlobCapabilities), in the suite's order. Nil or empty runs
	// all of them. An unknown name gives a skipped result saying so (and a
	// test error under Test).
	Capabilities []string

	// PaginationKeys is how many keys blob.list_pagination writes and lists.
	// Default DefaultPaginationKeys; values <= 1000 are raised to 1001 so
	// that a page of 1,000 never holds everything.
	PaginationKeys int

	// Workers is how many writes and deletes run at once when a check
	// handles many keys. Default 16.
	Workers int

	// CheckTimeout bounds each capability check, including opening its
	// bucket. A check that runs out of time is a fail (the backend hung).
	// Default 10 minutes. (Deleting what the check wrote gets up to two
	// more minutes, even after ctx ends.)
	CheckTimeout time.Duration

	// KeyPrefixLen is how many bytes the Opener's bucket puts before every
	// key the suite writes (the prefix of a blob.PrefixedBucket, or of a
	// "?prefix=" URL), which the server counts in its key-length limit.
	// Checks that write keys of a given length (blob.special_keys' 1,000-
	// byte key) count it, so that they measure the backend, not the
	// caller's isolation prefix. Default 0.
	KeyPrefixLen int

	// Expect is the backend's expected matrix under Test: each capability
	// it names must have that status (a pass that silently turns
	// unsupported fails the subtest). Run ignores it.
	Expect map[string]conformance.Status

	// HTTPClient is used for blob.signed_url requests. Default: a private
	// client (closed after the check) with a 2-minute timeout.
	HTTPClient *http.Client

	// Logf, if set, receives progress lines (one per check, and cleanup
	// problems). Test sets it to t.Logf when nil; Run discards them.
	Logf func(format string, args ...any)
}

// Defaults for Options.
const (
	DefaultLargeObjectSize = 100 << 20
	DefaultPaginationKeys  = 1100
	DefaultWorkers         = 16
	DefaultCheckTimeout    = 10 * time.Minute
)

func (o *Options) withDefaults() *Options {
	c := harness.Deref(o)
	c.LargeObjectSize = harness.OrDefault(c.LargeObjectSize, DefaultLargeObjectSize)
	c.PaginationKeys = max(harness.OrDefault(c.PaginationKeys, DefaultPaginationKeys), 1001)
	c.Workers = harness.OrDefault(c.Workers, DefaultWorkers)
	c.CheckTimeout = harness.OrDefault(c.CheckTimeout, DefaultCheckTimeout)
	return &c
}

// suite is the suite over open, with opts' defaults applied.
func suite(open Opener, opts *Options) harness.Suite {
	o := opts.withDefaults()
	return harness.Suite{
		Name:         "blobtest",
		Capabilities: conformance.BlobCapabilities(),
		Options:      harness.Options{Capabilities: o.Capabilities, CheckTimeout: o.CheckTimeout, Logf: o.Logf, Expect: o.Expect},
		Check: func(ctx context.Context, capName string, logf harness.Logf) verdict.Outcome {
			co := *o
			co.Logf = logf
			return runCheck(ctx, open, &co, capName)
		},
	}
}

// Run measures every selected capability against buckets from open and
// returns one result per capability, in the order of
// conformance.BlobCapabilities. It never panics (a panicking check or Opener
// is a fail with the panic value as evidence). When ctx ends, the check in
// progress stops and it and all later ones are reported as skipped.
func Run(ctx context.Context, open Opener, opts *Options) []conformance.Result {
	return harness.Run(ctx, suite(open, opts))
}

// Test runs the suite under go test, one subtest per capability (named after
// the capability, e.g. "blob.md5"). A fail is reported with t.Error and its
// evidence; unsupported and skipped capabilities call t.Skip with the reason;
// a pass logs its note, if any. It returns the results of the subtests that
// ran, so a caller can also assert an expected matrix.
func Test(t *testing.T, open Opener, opts *Options) []conformance.Result {
	t.Helper()
	return harness.Test(t, suite(open, opts))
}

// runCheck opens a bucket, runs one check on it, cleans up and closes it,
// turning panics (from the check, the Opener or the driver) into a fail.
func runCheck(ctx context.Context, open Opener, o *Options, capName string) (out verdict.Outcome) {
	if open == nil {
		return verdict.Fail("blobtest: the Opener is nil")
	}
	var e *env
	phase := "the Opener"
	defer func() {
		if p := recover(); p != nil {
			out = verdict.Fail("%s panicked: %v", phase, p)
			if e != nil {
				e.safeCleanup()
			}
		}
		if e != nil {
			if err := e.b.Close(); err != nil {
				o.Logf("%s: closing the bucket: %s", capName, errText(err))
			}
		}
	}()
	b, err := open(ctx)
	if err != nil {
		return verdict.Fail("opening a fresh bucket: %s", errText(err))
	}
	if b == nil {
		return verdict.Fail("the Opener returned a nil bucket and no error")
	}
	e = newEnv(ctx, b, o, capName)
	phase = "the check"
	out = checks[capName](e)
	phase = "cleanup"
	e.cleanup()
	return out
}

// maxEvidence is how many pieces of evidence a fail lists before it counts the rest.
const maxEvidence = 40

package blobtest

import (
	"context"
	"testing"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/conformance"
)

// largeSize is the large-object size for a backend test: the given size, or
// 4 MiB under -short.
func largeSize(n int64) int64 {
	if testing.Short() {
		return 4 << 20
	}
	return n
}

// TestMem runs the suite through Test (one subtest per capability) with the
// default options, so the default 100 MiB large object too.
func TestMem(t *testing.T) {
	var opts *Options
	if testing.Short() {
		opts = &Options{LargeObjectSize: largeSize(0)}
	}
	res := Test(t, func(ctx context.Context) (*blob.Bucket, error) { return blob.OpenBucket(ctx, "mem://") }, opts)
	assertMatrix(t, res, baseline().with(matrix{
		conformance.BlobVersioning: unsupported("no version id visible through Attributes.As"),
		conformance.BlobSignedURL:  unsupported("SignedURL is not implemented", "GET: Unimplemented", "PUT: Unimplemented"),
	}).with(noRetentionAPI()))
}

// TestFile runs the suite on gocloud's fileblob over a temporary directory.
func TestFile(t *testing.T) {
	dir := t.TempDir()
	res := Run(t.Context(), func(ctx context.Context) (*blob.Bucket, error) {
		return blob.OpenBucket(ctx, "file://"+dir)
	}, &Options{LargeObjectSize: largeSize(DefaultLargeObjectSize), Logf: t.Logf})
	logResults(t, res)
	assertMatrix(t, res, baseline().with(matrix{
		// fileblob maps keys to paths on a file system, and the file system
		// shows through: "." and ".." segments are resolved ("single/./dot"
		// is "single/dot"; "..", "dotdot/.." name a directory), a key
		// cannot be both an object and a "directory" of others, a path
		// segment is limited to 255 bytes, and ".attrs" is fileblob's own
		// attribute-file suffix.
		conformance.BlobSpecialKeys: fails(
			"6 of 30 keys did not round-trip",
			`"dotdot/..": write refused`,
			`"..": write refused`,
			`"nested/child": write refused`,
			`"sidecar.attrs": write refused: Unknown: file extension ".attrs" is reserved`,
			`(one 300-byte path segment): write refused`, "file name too long",
			`"single/./dot": read back the content of "single/dot"`,
		),
		conformance.BlobVersioning: unsupported("no version id visible through Attributes.As"),
		conformance.BlobSignedURL:  unsupported("SignedURL is not implemented", "bucket does not have an Options.URLSigner"),
	}).with(noRetentionAPI()))
	// conditional_write passes since gocloud v0.48: fileblob holds one
	// process-wide lock from its existence check to its rename (v0.47.0
	// took a lock per writer, and two concurrent if-not-exists writes both
	// won). Two processes writing the same directory are still not
	// serialised: fileblob's lock is in memory.
}

// Package writecheck holds the types through which a caller asks a blob
// driver to prove what it stored, and to record a digest after a write: the
// light, shared half of a feature whose other half lives in each driver (as
// minio-go keeps shared types in packages that never import its client).
//
// Why: a SHA-256 computed from the bytes read from a source says what was
// sent, not what the destination stored. A server that verifies a checksum
// sent with the upload (S3's x-amz-checksum-*, GCS's crc32c, re-hashing on
// file://) refuses a body damaged on the way, so that a migration can be verified
// without reading every object back. And an object streamed without its
// SHA-256 known up front (metadata goes before the body) can have it
// recorded afterwards by the cheapest means the destination offers.
//
// Both are optional: a driver that knows neither type simply does not
// answer As, and the caller falls back (gocloud.dev/blob's As convention).
//
// # Drivers that answer
//
//	driver                       Check.Verified            MetadataSetter
//	minio:// (adapters/minio)    sha256 / sha256-parts     copy onto itself, metadata replaced
//	s3:// (civicport's s3blob)   sha256 / sha256-parts     copy onto itself, metadata replaced
//	file:// (civicport's)        sha256-reread             no
//	gs:// (civicport's gcsblob)  crc32c / ""               no
//	azblob://                    no                        no
//
// gs:// reports crc32c for an object sent in one request (smaller than the
// upload's chunk size, WriterOptions.BufferSize: 16 MiB by default, migrate's
// PartSize there), whose CRC32C the storage client computes from the bytes
// written and puts in the request; fake-gcs-server refuses a mismatch, as
// Cloud Storage does. A larger object is a resumable upload: the client sends
// its CRC32C with the final request (X-Goog-Hash), which Cloud Storage
// verifies by its documentation
// (https://cloud.google.com/storage/docs/data-validation) but
// fake-gcs-server v1.56.1 ignores, so it is untested and Verified is "".
// Nothing is claimed over gRPC (grpc=true, zonal=true; untested).
//
// azblob:// answers no Check. Azure verifies a CRC64 (x-ms-content-crc64)
// or MD5 (Content-MD5) of each Put Block or Put Blob request
// (https://learn.microsoft.com/rest/api/storageservices/put-block), and the
// azblob SDK's UploadStream, which gocloud's azureblob writes through, can
// send a CRC64 it computes per block (TransferValidationTypeComputeCRC64).
// But Azurite 3.35.0 accepts a wrong CRC64 on both requests and verifies
// only Content-MD5 (TestAzuriteIgnoresCRC64), which the SDK computes for no
// upload and civicport computes for none (FIPS 140-3, see the README), and
// the SDK's structured-message CRC64 is stored by Azurite framing and all as
// the blob's content. So a per-block CRC64 would be untested here and is not
// sent or claimed.
package writecheck

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// ErrChanged is wrapped by SetMetadata's error when the object no longer has
// the ETag given.
var ErrChanged = errors.New("writecheck: object changed since it was written")

// What a server (or driver) verified of a committed write; see Check.
const (
	// SHA256 : the server checked the SHA-256 of the whole object against
	// Check.SHA256 and would have refused the write otherwise (S3
	// x-amz-checksum-sha256 on a single-part upload).
	SHA256 = "sha256"
	// SHA256Parts : the server checked each part's SHA-256 as it arrived
	// (S3 multipart with x-amz-checksum-algorithm SHA256); the whole
	// object's SHA-256 is the caller's own (S3 has no full-object SHA-256
	// for multipart uploads).
	SHA256Parts = "sha256-parts"
	// Reread : the driver read back what it committed and its SHA-256
	// matched Check.SHA256 (file://, where the "server" is the local disk).
	Reread = "sha256-reread"
	// CRC32C : the server checked the CRC32C of the whole object, which the
	// client computed from the bytes written (or the caller gave), and would
	// have refused the write otherwise (GCS, an upload in one request). The
	// whole object's SHA-256 is the caller's own: GCS verifies none.
	CRC32C = "crc32c"
)

// Check is a write's request for, and report of, server-side verification.
// A driver that supports it exposes a *Check through
// gocloud.dev/blob.WriterOptions.BeforeWrite's as function:
//
//	var wc *writecheck.Check
//	opts.BeforeWrite = func(as func(any) bool) error {
//		if as(&wc) {
//			wc.Size = size
//		}
//		return nil
//	}
//
// The caller fills the inputs (SHA256 may be set any time before the
// writer's Close: a driver uses it where its protocol allows, e.g. a
// single-part upload is sent at Close); after a Close that returned nil the
// driver has set the outputs. A mismatch fails the write (Close returns an
// error) and commits nothing, except with Reread, where the object was
// already committed and is left for the caller to overwrite or delete.
type Check struct {
	// SHA256 is the lowercase hex SHA-256 of the whole object, or "".
	SHA256 string
	// Size of the whole object in bytes, or -1 when not known up front.
	Size int64

	// Verified says what was verified (SHA256, SHA256Parts, Reread,
	// CRC32C), or "" when nothing was.
	Verified string
	// ETag is the stored object's ETag when the driver learnt it from the
	// write's response, else "".
	ETag string
}

// Base64SHA256 is SHA256 in the base64 form S3's x-amz-checksum-sha256
// takes; ok is false when SHA256 is not 64 hex digits.
func (c *Check) Base64SHA256() (b64 string, ok bool) {
	sum, err := hex.DecodeString(c.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(sum), true
}

// MetadataSetter replaces the user metadata of a stored object, keeping
// its content and content headers, for a value learnt only after the body
// was written (a SHA-256 computed while streaming). A driver that supports
// it answers gocloud.dev/blob.Bucket.As for a *MetadataSetter.
type MetadataSetter interface {
	// SetMetadata replaces key's user metadata with md. If etag is not
	// "", the object must still have it (else an error wrapping
	// ErrChanged): a concurrent rewrite is not stamped with another
	// content's metadata. Errors are the driver's own (not gcerrors').
	SetMetadata(ctx context.Context, key string, md map[string]string, etag string) error
}

// Package blob opens any bucket civicport supports by URL and returns
// gocloud.dev's portable *blob.Bucket, so that the storage provider of an
// election office is a configuration value rather than a code dependency.
//
// Schemes registered by importing this package:
//
//	s3://BUCKET?region=R                       AWS S3
//	s3://BUCKET?endpoint=http://H:P&use_path_style=true&region=R
//	                                           any S3-compatible server (MinIO, versitygw, ...)
//	gs://BUCKET                                Google Cloud Storage (STORAGE_EMULATOR_HOST honoured)
//	azblob://CONTAINER                         Azure Blob Storage (see below)
//	file:///ABS/DIR                            a local directory
//	mem://                                     a new in-memory bucket per open
//	minio://HOST:PORT/BUCKET?secure=false      MinIO through the native minio-go adapter
//
// For s3:// URLs with an endpoint (that is, not AWS itself) Open asks the AWS
// SDK to send and check checksums only when an operation requires them,
// because many on-prem S3 servers reject the SDK's default CRC trailers;
// an explicit request_checksum_calculation or response_checksum_validation
// parameter wins.
//
// file:// is gocloud's fileblob with three changes. First, a write with
// WriterOptions.IfNotExist commits under an exclusive flock(2) on the
// bucket's directory, so that of several processes writing the same key
// if-not-exist exactly one wins (fileblob alone serialises the writers of
// one process; tested with four processes racing on 500 keys). On systems
// without flock (Windows) it is per process, as in fileblob. Second, keys
// that fileblob would resolve as paths or keep for itself get file names of
// their own: a "." segment ("single/./dot" is the file single/.%/dot, not
// single/dot), a last ".." segment ("dotdot/.." is dotdot/..%), a leading
// "/" ("/a" is %/a, not a) and a last segment ending in ".attrs", the
// suffix of fileblob's attribute files ("x.attrs" is x.attrs%). Such a
// segment followed by "%"s, written literally, gets one "%" more ("a/.%" is
// a/.%%), so no two keys share a file. Every other key keeps the file name
// plain fileblob gives it, so directories written by fileblob or earlier
// civicport versions read as before. Listings are in key order across pages,
// with any delimiter (the bucket walks the directory itself). Third, what a
// file system cannot hold is refused on write (and on Copy to it), before
// anything is written, with a *keyrefusal.Error naming the key and the
// reason: an object under another object's name ("nested/child" next to
// "nested": FailedPrecondition, as is "x.attrs/y" next to "x", whose
// attributes fileblob keeps in x.attrs), a path segment over 255 bytes on
// disk, or a last one over 234 (fileblob writes through a temporary file
// named after it with 21 more bytes), and the empty key (InvalidArgument).
// Reading such a key gives NotFound. Empty directories left by deletes are
// removed when an object of the same name is written.
//
// azblob:// takes its account from the environment, as gocloud's azureblob
// does: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (shared key),
// AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING; with none of
// them, the Azure SDK's default credential chain (managed identity, the az
// CLI's login). A real account is azblob://CONTAINER with only that. The
// Azurite emulator (the test services run it) needs gocloud's emulator form,
// which also allows plain HTTP:
//
//	azblob://CONTAINER?localemu=true&protocol=http&domain=127.0.0.1:10000
//
// with AZURE_STORAGE_ACCOUNT=devstoreaccount1 and Azurite's published key.
// gocloud does not create containers. Reads of a blob stored with
// "Content-Encoding: gzip" return the stored bytes (raw gocloud returns them
// decompressed: Go's HTTP transport under the Azure SDK asks for gzip and
// unpacks it; civicport asks for identity). Measured on Azurite (see
// docs/capabilities.md): a PUT to a signed URL needs an "x-ms-blob-type:
// BlockBlob" header.
//
// Importing this package also registers civicport's retention drivers
// (adapters/retention/s3, .../gcs and .../minio), so blob/retention works
// on the s3://, gs:// and minio:// buckets Open returns. A program that
// opens buckets with gocloud's openers directly (gocloud's blob.OpenBucket,
// s3blob.OpenBucket, ...) instead blank-imports the adapters/retention
// drivers it needs.
//
// Open is lazy, like gocloud.dev: nothing is sent to the server until the
// first operation. Ping checks that a bucket is reachable and usable, and
// turns the usual failures (no such bucket, bad credentials, no server) into
// errors that say which it was.
//
// Credentials never appear in errors returned by this package: URLs are
// redacted (see internal/redact).
package blob

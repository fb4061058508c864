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
// file:// is gocloud's fileblob with one change: a write with
// WriterOptions.IfNotExist commits under an exclusive flock(2) on the
// bucket's directory, so that of several processes writing the same key
// if-not-exist exactly one wins (fileblob alone serialises the writers of
// one process; tested with four processes racing on 500 keys). On systems
// without flock (Windows) it is per process, as in fileblob.
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
// gocloud does not create containers. Measured on Azurite (see
// docs/capabilities.md): reads of a blob stored with "Content-Encoding:
// gzip" come back decompressed (the Azure SDK's transport), and a PUT to a
// signed URL needs an "x-ms-blob-type: BlockBlob" header.
//
// Open is lazy, like gocloud.dev: nothing is sent to the server until the
// first operation. Ping checks that a bucket is reachable and usable, and
// turns the usual failures (no such bucket, bad credentials, no server) into
// errors that say which it was.
//
// Credentials never appear in errors returned by this package: URLs are
// redacted (see internal/redact).
package blob

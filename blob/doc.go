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
//	azblob://CONTAINER                         Azure Blob Storage
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
// Open is lazy, like gocloud.dev: nothing is sent to the server until the
// first operation. Ping checks that a bucket is reachable and usable, and
// turns the usual failures (no such bucket, bad credentials, no server) into
// errors that say which it was.
//
// Credentials never appear in errors returned by this package: URLs are
// redacted (see internal/redact).
package blob

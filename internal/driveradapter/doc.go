// Package driveradapter turns gocloud's portable types back into driver
// interfaces.
//
// gocloud.dev's first-party drivers (s3blob, gcsblob, awskms, ...) do not
// export their driver types, and *blob.Bucket hides the driver it wraps. A
// civicport decorator (Seal, Digest, Mirror, ...) is a driver that wraps
// another driver and is turned back into a portable type with gocloud's
// exported constructors (blob.NewBucket, ...). This package supplies the "other
// driver" for any portable value, so decorators work over every backend and
// gocloud's own drivertest suites can run against s3blob, gcsblob and the rest.
//
// Running the portable layer twice has costs this package absorbs:
//   - content type is decided once by the outer layer and passed through, never
//     sniffed again;
//   - errors keep their gcerrors code and As targets, but their text is the
//     backend's, not "blob (code=...): blob (code=...): ...".
package driveradapter

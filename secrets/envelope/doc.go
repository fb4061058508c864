// Package envelope encrypts election records of any size under keys held by
// one or more providers' key services, so that no provider sees a record and
// losing any one provider loses no record.
//
// NewEncrypter encrypts a stream of any length in constant memory: a fresh
// random 256-bit data key per object, AES-256-GCM over fixed-size chunks that
// each authenticate their position and whether they are the last, and a
// header holding the data key wrapped by one or more key-encryption keys
// (KEKs): gocloud.dev *secrets.Keeper values, typically on different
// providers (civicport/secrets opens them by URL). A keeper only ever
// encrypts the 32-byte data key, never the records, because KMS services cap
// the size of what they encrypt (4 KiB for AWS KMS, 64 KiB for Google Cloud
// KMS), charge per call and would see every byte.
//
// NewDecrypter reads an envelope back with any one of its KEKs that is still
// reachable; DataKey.NewRangeReader decrypts a byte range reading only the
// chunks it needs. Rewrap adds and drops KEKs by rewriting the header alone:
// the encrypted body is unchanged.
//
// Decryption never returns a byte that has not been authenticated, and each
// way an envelope can be wrong has its own error: ErrNotEnvelope,
// ErrUnsupportedVersion, ErrTruncated, ErrReordered, ErrTampered and
// ErrWrongKey (test with errors.Is). A key service that cannot be reached is
// asked again a few times and then reported as ErrKeyUnavailable (try again
// later), never as ErrWrongKey.
//
// Only algorithms of Go's FIPS 140-3 module are used (AES-256-GCM, HKDF and
// SHA-256, crypto/rand), and the package works with GODEBUG=fips140=only.
// The byte layout, for anyone writing an independent decoder, is specified
// at the top of envelope.go. The package imports no provider.
package envelope

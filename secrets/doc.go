// Package secrets keeps election records confidential across cloud providers
// without tying them to any one provider's key service.
//
// Keys stay in gocloud.dev's portable *secrets.Keeper (AWS KMS, Google Cloud
// KMS, an on-prem HSM, a local key): a keeper only ever encrypts a 32-byte
// data key, never the records themselves, because KMS services cap the size
// of what they encrypt (4 KiB for AWS KMS, 64 KiB for Google Cloud KMS),
// charge per call and would see every byte.
//
// # Keepers by URL
//
// Open returns a keeper for any of these URLs (Schemes lists them):
//
//	awskms://KEY-ID-OR-ALIAS?region=R           AWS KMS (endpoint= for a KMS-compatible server)
//	gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K   Google Cloud KMS
//	pkcs11://TOKEN/KEY?module=/usr/lib/.../libsofthsm2.so     an HSM (PIN from PKCS11_PIN or pin_file=)
//	base64key://KEY                             a local key (tests, air-gapped set-ups)
//	ring://?keeper=URL1&keeper=URL2...          several of the above: a ring
//
// A ring wraps a data key under every member, so records stay readable while
// any one member's provider is: DecryptWith says which member worked.
//
// # Envelopes
//
// NewEncrypter encrypts a stream of any length in constant memory: a fresh
// random 256-bit data key per object, AES-256-GCM over fixed-size chunks that
// each authenticate their position and whether they are the last, and a
// header holding the data key wrapped by one or more key-encryption keys
// (KEKs), typically on different providers. NewDecrypter reads it back with
// any one of those KEKs that is still reachable; DataKey.NewRangeReader
// decrypts a byte range reading only the chunks it needs. Rewrap adds and
// drops KEKs by rewriting the header alone: the encrypted body is unchanged.
//
// Decryption never returns a byte that has not been authenticated, and each
// way an envelope can be wrong has its own error: ErrNotEnvelope,
// ErrUnsupportedVersion, ErrTruncated, ErrReordered, ErrTampered and
// ErrWrongKey (test with errors.Is).
//
// Only algorithms of Go's FIPS 140-3 module are used (AES-256-GCM, HKDF and
// SHA-256, crypto/rand), and the package works with GODEBUG=fips140=only.
// The byte layout, for anyone writing an independent decoder, is specified
// at the top of envelope.go.
package secrets

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
// any one member's provider is: ring.DecryptWith says which member worked.
//
// # Envelopes and rings
//
// The keepers Open returns are what civicport/secrets/envelope wraps data
// keys with (streaming AES-256-GCM envelopes of records of any size) and
// what civicport/secrets/ring combines (ring:// is a ring of the keepers
// it lists). Those packages import no provider; this one links every
// provider's SDK so that a URL can name any of them.
package secrets

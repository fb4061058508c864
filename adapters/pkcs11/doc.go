// Package pkcs11 is a gocloud.dev secrets keeper on a PKCS#11 token (an HSM,
// or SoftHSM2 in tests), registered for the scheme pkcs11:// on
// gocloud's secrets.DefaultURLMux.
//
// The key is an AES-256 secret key on the token, found by its label (CKA_LABEL);
// the token is found by its label too (slot ids change when tokens are
// initialised). Encrypt uses CKM_AES_GCM with a 96-bit IV per call and a
// 128-bit tag. The keeper offers the token a random IV from Go's crypto/rand
// (the FIPS 140-3 module's DRBG when Go runs in FIPS mode); a token that
// generates its own IV instead (HSMs in FIPS mode that refuse external GCM
// IVs write theirs back into the mechanism parameters) has its IV recorded.
// SoftHSM2, the token tested here, uses the IV offered. The keeper does not
// use PKCS#11 3.0's message-based encryption (C_MessageEncryptInit with an
// IV generator): an HSM that accepts GCM IVs only that way refuses Encrypt
// (CKR_MECHANISM_PARAM_INVALID), and the keeper reports that error. The
// ciphertext is
//
//	0x01 IV(12) GCM-ciphertext-and-tag
//
// so the key never leaves the token and no state is kept between calls. As
// with any random-IV GCM, keep a key under 2^32 encryptions: wrap data keys
// (see civicport's envelope.NewEncrypter), not records.
//
// # URLs
//
//	pkcs11://TOKENLABEL/KEYLABEL?module=/usr/lib/softhsm/libsofthsm2.so
//
// Parameters:
//   - module: the PKCS#11 library; default $PKCS11_MODULE.
//   - pin_file: a file whose first line is the user PIN; default: the PIN in
//     $PKCS11_PIN. A PIN in the URL itself (pin=) is refused.
//   - create=true: generate the key (AES-256, non-extractable, on the token)
//     if no key has the label.
//
// # As
//
// gocloud's secrets.Keeper has no As for the keeper itself (the token's
// sessions stay the keeper's own). Keeper.ErrorAs reaches the PKCS#11
// return value of a failed call: pkcs11.Error of github.com/miekg/pkcs11.
//
// # Limits
//
// A keeper is safe for concurrent use: it keeps a pool of sessions on the
// token. Keepers in one process share one loaded module per library path;
// closing the last keeper on a module finalizes it.
//
// The package needs cgo (it loads the module with dlopen); built without
// cgo, the scheme is still registered and every open fails saying so.
package pkcs11

// Scheme is the URL scheme this package registers on secrets.DefaultURLMux.
const Scheme = "pkcs11"

// Environment variables read when a URL or Options leave a value out.
const (
	EnvModule = "PKCS11_MODULE"
	EnvPIN    = "PKCS11_PIN"
)

// Options say which key on which token a keeper uses.
type Options struct {
	Module string // PKCS#11 library path; "" means $PKCS11_MODULE
	Token  string // token label
	Key    string // key label
	PIN    string // user PIN; "" means $PKCS11_PIN
	Create bool   // generate the key if no key has the label
}

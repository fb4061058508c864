// Package sign signs the messages of a gocloud.dev topic and checks them on
// the subscription side, quarantining what does not verify: an insider at
// one provider who can publish to a queue must not be able to inject or
// alter a results message.
//
// Wrap signs every message sent through a topic with a Signer (Ed25519, a
// golang.org/x/mod/sumdb/note key, or HMAC-SHA256 with a key wrapped by a
// gocloud.dev secrets keeper); Verify checks every message received with a
// Verifier and moves the forged, altered or unsigned ones to a quarantine
// topic, with meta.QuarantineReason saying why. Signatures cover the body
// and all metadata (meta.CanonicalSHA256). Check is the same check for one
// message, for receivers that handle a refusal themselves (blob/distribute's
// workers record and ack a forged work item). The package imports no
// provider.
//
// Replays: Wrap stamps every message, inside what it signs, with the time
// and a random nonce (meta.Signed). dedup.Wrap over Verify keys a message
// without a meta.ID on that nonce, so a captured message published again is
// dropped as a copy for as long as the dedup store remembers (use
// dedup.NewBucketStore to survive restarts); VerifyOptions.MaxAge refuses
// messages older than a window, which bounds how long the store must
// remember. Verify alone does not stop a replay inside the window.
//
// # As
//
// Verify's subscription supports **VerifyStats; anything else reaches the
// subscription under it (so **dedup.Stats works through
// dedup.Wrap(Verify(...)) and Verify(dedup.Wrap(...)) alike). Wrap's topic
// passes every As to the topic under it.
package sign

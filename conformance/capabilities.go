package conformance

import (
	"fmt"
	"slices"
	"strings"
)

// Blob capabilities measured by conformance/blobtest. The names are a public
// contract (JSON output, `civicport plan`); see the package doc.
//
// Besides the names in the design, blobtest measures five more, split out so
// that one report line says one thing: blob.empty_object and blob.not_found
// (edge cases of read_write), blob.list_pagination (listings of more than
// 1,000 keys), blob.http_headers (Cache-Control, Content-Disposition,
// Content-Encoding, Content-Language: kept apart from blob.metadata, which
// is user metadata only) and blob.special_keys (keys that some backends
// refuse or rewrite; blob.unicode_keys covers scripts and normal forms).
const (
	// BlobReadWrite: write an object, read it back byte for byte, overwrite
	// it, see the new content, delete it.
	BlobReadWrite = "blob.read_write"
	// BlobEmptyObject: a 0-byte object round-trips (read, size, listing).
	BlobEmptyObject = "blob.empty_object"
	// BlobNotFound: reading, stat-ing, copying or deleting a missing key
	// gives gcerrors.NotFound, and Exists says false.
	BlobNotFound = "blob.not_found"
	// BlobRangeRead: NewRangeReader with offset/length, length -1, length 0,
	// offset at and past the end (an empty read or an error are both
	// accepted there; returning bytes is not).
	BlobRangeRead = "blob.range_read"
	// BlobListPrefixDelimiter: List with a prefix, with the "/" delimiter
	// (IsDir entries), lexicographic order, sizes.
	BlobListPrefixDelimiter = "blob.list_prefix_delimiter"
	// BlobListPagination: more than 1,000 keys listed with ListPage in pages
	// of 1,000 and in small pages, and with List: every key exactly once, in
	// order, no page larger than asked.
	BlobListPagination = "blob.list_pagination"
	// BlobMetadata: user metadata round-trips (mixed-case keys, which the
	// portable API lower-cases, and Unicode values).
	BlobMetadata = "blob.metadata"
	// BlobContentType: an explicit Content-Type round-trips (Attributes and
	// Reader), and a sniffed one is stored.
	BlobContentType = "blob.content_type"
	// BlobHTTPHeaders: Cache-Control, Content-Disposition, Content-Encoding
	// and Content-Language round-trip.
	BlobHTTPHeaders = "blob.http_headers"
	// BlobMD5: the MD5 the backend reports equals the MD5 of what was
	// written, and a write whose WriterOptions.ContentMD5 does not match is
	// refused and leaves nothing (or the previous content) behind.
	BlobMD5 = "blob.md5"
	// BlobLargeObject: an object of Options.LargeObjectSize (default
	// 100 MiB, so multipart on S3) streamed up and down, SHA-256 compared.
	BlobLargeObject = "blob.large_object"
	// BlobUnicodeKeys: keys in several scripts and emoji round-trip
	// byte-exactly; NFC and NFD spellings are two distinct keys.
	BlobUnicodeKeys = "blob.unicode_keys"
	// BlobSpecialKeys: keys with spaces, "+", "%", "//", a trailing "/",
	// "..", and a 1,000-byte key round-trip (write, read, list). A key the
	// backend refuses on write with a documented blob/keyrefusal.Error
	// (a file system's 255-byte name limit, a file that cannot also be a
	// directory) is named in the detail, not failed; any other refusal
	// or a key stored under another name fails.
	BlobSpecialKeys = "blob.special_keys"
	// BlobCopyServerSide: Bucket.Copy copies content and attributes,
	// overwrites, and reports NotFound for a missing source.
	BlobCopyServerSide = "blob.copy_server_side"
	// BlobConditionalWrite: WriterOptions.IfNotExist refuses a second write
	// with gcerrors.FailedPrecondition and leaves the content unchanged;
	// of concurrent if-not-exists writers exactly one wins.
	BlobConditionalWrite = "blob.conditional_write"
	// BlobVersioning: after an overwrite (and a delete) the older version is
	// still readable by its version id.
	BlobVersioning = "blob.versioning"
	// BlobRetentionGovernance: S3 Object Lock governance mode / GCS
	// retention, enforced.
	BlobRetentionGovernance = "blob.retention_governance"
	// BlobRetentionCompliance: S3 Object Lock compliance mode, enforced.
	BlobRetentionCompliance = "blob.retention_compliance"
	// BlobLegalHold: legal hold set, enforced, released.
	BlobLegalHold = "blob.legal_hold"
	// BlobSignedURL: signed GET and PUT URLs work through a plain HTTP
	// client.
	BlobSignedURL = "blob.signed_url"
)

// BlobCapabilities lists every blob capability name, in the order suites
// run and reports print them. The returned slice is a fresh copy.
func BlobCapabilities() []string {
	return []string{
		BlobReadWrite,
		BlobEmptyObject,
		BlobNotFound,
		BlobRangeRead,
		BlobListPrefixDelimiter,
		BlobListPagination,
		BlobMetadata,
		BlobContentType,
		BlobHTTPHeaders,
		BlobMD5,
		BlobLargeObject,
		BlobUnicodeKeys,
		BlobSpecialKeys,
		BlobCopyServerSide,
		BlobConditionalWrite,
		BlobVersioning,
		BlobRetentionGovernance,
		BlobRetentionCompliance,
		BlobLegalHold,
		BlobSignedURL,
	}
}

// PubSub capabilities measured by conformance/pubsubtest against a live
// topic and subscription. The names are a public contract, like the blob
// ones.
//
// Besides the six names in the design, pubsubtest measures two more, split
// out of pubsub.nack_redelivery so that one report line says one thing:
// pubsub.ack_deadline (a message left unacked comes back by itself) and
// pubsub.receiver_crash (a receiver that dies without acking does not lose
// the message).
const (
	// PubSubAtLeastOnce: many messages sent concurrently are each received
	// at least once (duplicates are allowed and counted in the detail).
	PubSubAtLeastOnce = "pubsub.at_least_once"
	// PubSubNackRedelivery: a nacked message is delivered again (a backend
	// whose messages cannot be nacked is unsupported).
	PubSubNackRedelivery = "pubsub.nack_redelivery"
	// PubSubAckDeadline: a message received and neither acked nor nacked is
	// delivered again after the backend's ack deadline (visibility timeout,
	// ack wait); the detail says how long that took.
	PubSubAckDeadline = "pubsub.ack_deadline"
	// PubSubReceiverCrash: a message received by a subscription that is shut
	// down without acking (the receiver "dies") is delivered to the same
	// subscription opened again.
	PubSubReceiverCrash = "pubsub.receiver_crash"
	// PubSubMetadata: metadata with Unicode values, an empty value and many
	// keys, and a body with 0x00 and invalid UTF-8, round-trip exactly.
	PubSubMetadata = "pubsub.metadata"
	// PubSubLargeMessage: a message of at least 256 KiB round-trips; the
	// detail gives the largest size that did and the backend's refusal.
	PubSubLargeMessage = "pubsub.large_message"
	// PubSubOrdering: messages sent one after another by one publisher reach
	// one receiver in send order. gocloud's portable API has no ordering
	// keys; out-of-order delivery is unsupported (with the evidence) unless
	// the backend is declared to promise order.
	PubSubOrdering = "pubsub.ordering"
	// PubSubDeadLetter: a message nacked the configured number of times is
	// moved to the dead-letter queue. The portable API cannot configure or
	// see one, so this is unsupported unless the suite is given the
	// dead-letter subscription.
	PubSubDeadLetter = "pubsub.dead_letter"
)

// PubSubCapabilities lists every pubsub capability name, in the order
// suites run and reports print them. The returned slice is a fresh copy.
func PubSubCapabilities() []string {
	return []string{
		PubSubAtLeastOnce,
		PubSubNackRedelivery,
		PubSubAckDeadline,
		PubSubReceiverCrash,
		PubSubMetadata,
		PubSubLargeMessage,
		PubSubOrdering,
		PubSubDeadLetter,
	}
}

// Secrets capabilities measured by conformance/secretstest against a live
// keeper (a *secrets.Keeper: AWS KMS, Google Cloud KMS, a PKCS#11 token, a
// local key, a ring). The names are a public contract, like the blob ones.
const (
	// SecretsRoundtrip: plaintexts of many sizes (1 byte to 1 KiB, which
	// includes the 32-byte data keys envelopes wrap, every byte value) and,
	// concurrently, from many goroutines, encrypt and decrypt back byte for
	// byte; no ciphertext equals or contains its plaintext. An empty
	// plaintext and sizes up to 1 MiB are probed: a refusal is a note.
	// Two encryptions of one plaintext giving one ciphertext (deterministic
	// encryption) is a note, not a fail.
	SecretsRoundtrip = "secrets.roundtrip"
	// SecretsTamperDetect: a ciphertext with a bit flipped, truncated,
	// extended, replaced by random bytes, or made by another key is
	// refused by Decrypt, never decrypted to a different plaintext.
	SecretsTamperDetect = "secrets.tamper_detect"
	// SecretsLargePlaintext: Options.LargePlaintextSize bytes (default
	// 64 MiB) streamed through a civicport envelope (envelope.NewEncrypter
	// and NewDecrypter) with the keeper as its key-encryption key,
	// SHA-256 compared while streaming.
	SecretsLargePlaintext = "secrets.large_plaintext"
	// SecretsKeyRotation: an envelope's data key is rewrapped
	// (envelope.Rewrap) onto the keeper and then off it again, without
	// touching the body: after each step only the new key decrypts and the
	// dropped one is refused; with a second key on the same backend, and
	// with a provider-side rotation hook, those are measured too.
	SecretsKeyRotation = "secrets.key_rotation"
)

// SecretsCapabilities lists every secrets capability name, in the order
// suites run and reports print them. The returned slice is a fresh copy.
func SecretsCapabilities() []string {
	return []string{
		SecretsRoundtrip,
		SecretsTamperDetect,
		SecretsLargePlaintext,
		SecretsKeyRotation,
	}
}

// The suites a capability name can belong to, as CheckCapabilities names
// them: the part of the name before the dot.
const (
	SuiteBlob    = "blob"
	SuiteSecrets = "secrets"
	SuitePubSub  = "pubsub"
)

// suiteCapabilities returns the capability names of suite, or nil.
func suiteCapabilities(suite string) []string {
	switch suite {
	case SuiteBlob:
		return BlobCapabilities()
	case SuiteSecrets:
		return SecretsCapabilities()
	case SuitePubSub:
		return PubSubCapabilities()
	}
	return nil
}

// CapabilityError is CheckCapabilities' error: names no suite has, or a
// suite that runs with none of its capabilities asked for.
type CapabilityError struct {
	Unknown []string // names no suite has, in the order asked
	Valid   []string // the names that would have been accepted
	// Suite runs but none of its capabilities was asked for (set only
	// when Unknown is empty); Capabilities are its names.
	Suite        string
	Capabilities []string
}

func (e *CapabilityError) Error() string {
	if len(e.Unknown) > 0 {
		what := "capability"
		if len(e.Unknown) > 1 {
			what = "capabilities"
		}
		return fmt.Sprintf("unknown %s %q; valid names: %s", what, strings.Join(e.Unknown, ", "), strings.Join(e.Valid, ", "))
	}
	return fmt.Sprintf("no %s capability asked for, but the %s suite runs; %s capabilities: %s", e.Suite, e.Suite, e.Suite, strings.Join(e.Capabilities, ", "))
}

// CheckCapabilities checks the capability names a caller asks for (a
// `--capability` flag, a config file) against the suites that will run
// (SuiteBlob, SuiteSecrets, SuitePubSub). Each name must be a capability
// of some suite (a name of a suite that does not run is accepted: each
// suite runs its own names), and each suite that runs must have at least
// one of its names asked for: otherwise a typo would silently run nothing
// of that suite. With no suites, only the names are checked. No names is
// nil: run everything. The error is a *CapabilityError; its Valid lists the
// names of the suites that run (of all three with no suites).
func CheckCapabilities(names []string, suites ...string) error {
	if len(names) == 0 {
		return nil
	}
	e := &CapabilityError{}
	count := map[string]int{}
	valid := suites
	if len(valid) == 0 {
		valid = []string{SuiteBlob, SuiteSecrets, SuitePubSub}
	}
	for _, s := range valid {
		e.Valid = append(e.Valid, suiteCapabilities(s)...)
	}
	for _, c := range names {
		suite, _, _ := strings.Cut(c, ".")
		if !slices.Contains(suiteCapabilities(suite), c) {
			e.Unknown = append(e.Unknown, c)
			continue
		}
		count[suite]++
	}
	if len(e.Unknown) > 0 {
		return e
	}
	for _, s := range suites {
		if count[s] == 0 {
			return &CapabilityError{Suite: s, Capabilities: suiteCapabilities(s)}
		}
	}
	return nil
}

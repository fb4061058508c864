// Package meta defines what civicport's pubsub decorators write on and
// read from a message, in one place: the metadata keys (an idempotency key,
// a signature, a quarantine reason), the canonical encoding that signatures
// and deduplication keys are computed over, and the deduplication key.
//
// It is a light package of shared definitions: it imports no broker client
// and no gocloud driver, so pubsub/dedup, pubsub/sign, pubsub/bridge and
// pubsub/fanout agree on the wire format without importing each other.
package meta

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Metadata keys civicport reads and writes on messages. They are lower-case
// ASCII with dashes so that every backend keeps them as they are (SQS, SNS,
// Pub/Sub, JetStream headers and AMQP headers all accept them).
const (
	// ID is the idempotency key a publisher sets; pubsub/dedup drops a
	// message whose key it has already seen acked. Without it, dedup keys a
	// message by the backend's message id and a hash of its content, which
	// catches redeliveries but not copies made by another publisher (see
	// dedup.Wrap); bridge.Run and fanout.New add one when it is missing.
	ID = "civicport-id"
	// Signature carries the signature sign.Wrap adds and sign.Verify checks.
	Signature = "civicport-signature"
	// Signed is the stamp sign.Wrap adds inside what it signs: when the
	// message was signed and a random nonce, "<RFC 3339 UTC time> <nonce>"
	// (see FormatSigned). It makes every signed message unique, so that a
	// replayed copy is recognised (pubsub/dedup keys on the nonce) and an
	// old one rejected (sign.VerifyOptions.MaxAge).
	Signed = "civicport-signed"
	// QuarantineReason says why sign.Verify quarantined a message.
	QuarantineReason = "civicport-quarantine-reason"
)

// CanonicalSHA256 is the SHA-256 of an unambiguous encoding of a message:
// a domain string, an extra string, the metadata sorted by key with
// Signature left out, then the body; every field is prefixed with
// its length (8 bytes, big-endian), and the metadata with its number of
// keys. The encoding is built in a pooled buffer and hashed at once: it runs
// twice for every signed message (Sign and Verify).
func CanonicalSHA256(domain, extra string, body []byte, md map[string]string) [sha256.Size]byte {
	bp := bufs.Get().(*[]byte)
	b := (*bp)[:0]
	b = appendField(b, domain)
	b = appendField(b, extra)
	var keysArr [16]string
	keys := keysArr[:0]
	for k := range md {
		if k != Signature {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = binary.BigEndian.AppendUint64(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendField(b, k)
		b = appendField(b, md[k])
	}
	b = appendField(b, body)
	sum := sha256.Sum256(b)
	if cap(b) <= maxPooled {
		*bp = b
		bufs.Put(bp)
	}
	return sum
}

func appendField[T string | []byte](b []byte, s T) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// bufs holds encoding buffers; one grown past maxPooled
// (a large message) is left to the garbage collector.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 1 << 20

// DedupKey returns the key pubsub/dedup uses for a message with this backend id
// (LoggableID), body and metadata: "id:" + ID when it is set, else
// "signed:" + the nonce of its Signed stamp when it has one, else
// "sha256:" + a hex SHA-256 (see dedup.Wrap). With contentOnly the backend id
// is left out.
func DedupKey(loggableID string, body []byte, md map[string]string, contentOnly bool) string {
	if id := md[ID]; id != "" {
		return "id:" + id
	}
	if _, nonce, err := ParseSigned(md[Signed]); err == nil {
		return "signed:" + nonce
	}
	if contentOnly {
		loggableID = ""
	}
	sum := CanonicalSHA256("civicport dedup v1", loggableID, body, md)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// FormatSigned returns the value of Signed for a message signed at t with
// nonce (no spaces).
func FormatSigned(t time.Time, nonce string) string {
	return t.UTC().Format(time.RFC3339Nano) + " " + nonce
}

// ParseSigned splits a Signed value into its time and nonce.
func ParseSigned(v string) (time.Time, string, error) {
	ts, nonce, ok := strings.Cut(v, " ")
	if !ok || nonce == "" || strings.ContainsRune(nonce, ' ') {
		return time.Time{}, "", fmt.Errorf("%s %q: want \"<RFC 3339 time> <nonce>\"", Signed, v)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%s %q: time: %v", Signed, v, err)
	}
	return t, nonce, nil
}

// Package jetstream is a gocloud.dev pubsub driver on NATS JetStream with
// at-least-once delivery. It returns the portable *pubsub.Topic and
// *pubsub.Subscription, so code written against gocloud's pubsub works
// unchanged.
//
// # Why a civicport driver
//
// gocloud's own gocloud.dev/pubsub/natspubsub speaks core NATS only: a message
// published while no subscriber is connected is gone, and a subscriber that
// dies mid-message loses it (at-most-once). Upstream declined to add JetStream
// to it (go-cloud issues #3353 and #3544). Election systems need every
// message to arrive at least once, so this package stores messages in a
// JetStream stream and reads them through a durable pull consumer with
// explicit acks:
//
//   - Topic.Send returns only after the JetStream server has stored the
//     message (publish ack). A subject that no stream captures is an error
//     (gcerrors.NotFound) naming the subject, never a silent drop.
//   - Subscription.Receive pulls from a durable consumer. A message that is
//     not acked within the consumer's AckWait (a crashed or stuck receiver) is
//     delivered again, to this or any other subscription on the same consumer.
//     Message.Nack asks for redelivery at once (or after NackDelay).
//   - Several subscriptions on the same durable consumer share its messages
//     (work queue); different consumers on one stream each get every message
//     (fan-out).
//
// Redelivery means duplicates are possible: receivers must be idempotent (see
// civicport's pubsub Dedup decorator), or publishers may set the metadata key
// "Nats-Msg-Id" so that JetStream drops repeated publishes of the same id
// within the stream's duplicate window.
//
// # URLs
//
// For pubsub.OpenTopic and pubsub.OpenSubscription this package registers the
// scheme "jetstream" on pubsub.DefaultURLMux. The NATS server is taken from
// the environment variable NATS_SERVER_URL (for example
// nats://127.0.0.1:4222; never put credentials in the URL of a topic):
//
//	jetstream://STREAM/SUBJECT[?create=true]
//	jetstream://STREAM/CONSUMER[?create=true&filter_subject=S1,S2&ack_wait=30s&max_deliver=N][&nack_delay=0s&max_wait=1s]
//
// A topic publishes to SUBJECT and requires that the message lands in STREAM
// (a subject captured by another stream, or by none, is an error naming
// both). A subscription reads the durable consumer CONSUMER on STREAM. With
// create=true a missing stream (capturing SUBJECT, or the filter subjects) or
// consumer is created; an existing one is used as it is. Creation is meant for
// tests and first deployments: in production, streams and consumers are
// infrastructure, and the default (off) turns a typo into a clear NotFound
// error instead of a new, empty stream. See URLOpener for every parameter.
//
// # Metadata and NATS headers
//
// Message metadata travels as NATS headers and round-trips exactly (any valid
// UTF-8 key and value). NATS allows only printable ASCII header keys without
// `"()/,:;<=>?@[\]{}`, and trims or rewrites whitespace and line breaks in
// values, so:
//
//   - a key made of ASCII letters, digits, '-', '_' and '.' is sent as it is;
//     every other character is escaped as "__0x<hex code point>__" (as
//     gocloud's other drivers do), and decoded on receipt;
//   - a value of printable ASCII without leading or trailing spaces is sent as
//     it is; any other value (Unicode, control characters, edge spaces, or a
//     value that itself starts with "=?utf-8?b?") is sent as one RFC 2047
//     encoded word "=?utf-8?b?<base64>?=", which standard libraries decode
//     (Go's mime.WordDecoder, Python's email.header) and this driver decodes
//     on receipt;
//   - the empty key is rejected (gcerrors.InvalidArgument);
//   - keys starting with "Nats-" are interpreted by JetStream itself, e.g.
//     "Nats-Msg-Id" (duplicate detection) and "Nats-TTL" (per-message TTL, if
//     the stream allows it); they are passed through unchanged on purpose.
//     Headers starting with "Nats-Expected-" are publish preconditions (the
//     driver sends Nats-Expected-Stream): the server stores them, but they are
//     left out of received metadata;
//   - headers set by other NATS publishers appear as metadata too (first value
//     of each key); the full header is available through Message.As.
//
// Headers and body together must fit the server's max_payload (1 MiB by
// default); a larger message is an InvalidArgument error. The body may be any
// bytes.
//
// gocloud v0.47's pubsub driver has no ordering key: messages on one subject
// are stored in publish order, and a single receiver sees them in stream
// order except for redeliveries.
//
// # As
//
// jetstream exposes the following types for As:
//   - Topic: jetstream.JetStream, *nats.Conn
//   - Subscription: jetstream.Consumer (once the consumer has been looked up),
//     jetstream.JetStream, *nats.Conn
//   - Message: jetstream.Msg
//   - Message.BeforeSend: *nats.Msg (the message about to be published)
//   - Message.AfterSend: *jetstream.PubAck
//   - Error: *jetstream.APIError, and anything errors.As finds in the chain
package jetstream

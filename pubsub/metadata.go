package pubsub

// Metadata keys civicport reads and writes on messages. They are lower-case
// ASCII with dashes so that every backend keeps them as they are (SQS, SNS,
// Pub/Sub, JetStream headers and AMQP headers all accept them).
const (
	// MetadataID is the idempotency key a publisher sets; Dedup drops a
	// message whose key it has already seen acked. Without it, Dedup keys a
	// message by the backend's message id and a hash of its content, which
	// catches redeliveries but not copies made by another publisher (see
	// Dedup); Bridge and Fanout add one when it is missing.
	MetadataID = "civicport-id"
	// MetadataSignature carries the signature Sign adds and Verify checks.
	MetadataSignature = "civicport-signature"
	// MetadataQuarantineReason says why Verify quarantined a message.
	MetadataQuarantineReason = "civicport-quarantine-reason"
)

// Package dedup delivers each message of a gocloud.dev subscription at most
// once per idempotency key (meta.ID), without weakening at-least-once
// delivery: during a provider switch the same results message arrives
// twice, through a bridge and through a publisher's retry, and must be
// counted once.
//
// Wrap decorates any *pubsub.Subscription (open one with civicport/pubsub);
// a Store remembers the keys acked: MemoryStore for one process,
// BucketStore in any gocloud.dev bucket so that a restarted consumer (or
// another one) remembers too. The package imports no provider.
//
// # As
//
// The wrapped subscription's As supports **Stats (deliveries, duplicates,
// deferrals, store errors); anything else reaches the subscription under it.
package dedup

// Package bridge drains a subscription on one provider into a topic on
// another, the step of a provider switch that moves the messages still
// queued on the old provider: nothing is acked at the source before the
// destination has accepted it, so a bridge killed at any point loses
// nothing, and copies carry a meta.ID so that dedup recognises them.
//
// Run takes gocloud.dev's portable types, opened with civicport/pubsub or
// any gocloud.dev driver; the package imports no provider.
package bridge

// Package fanout publishes every message to several gocloud.dev topics at
// once: dual publishing while consumers move from one provider to another,
// so that both sides see the same stream with the same meta.ID on each copy.
//
// New's Policy says which refusals fail a send (every topic, or only the
// first). The package imports no provider.
//
// # As
//
// The fan-out topic's As and ErrorAs reach the first topic.
package fanout

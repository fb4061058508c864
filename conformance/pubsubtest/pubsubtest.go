// Package pubsubtest is civicport's conformance suite for pubsub backends: it
// measures, against a live topic and subscription, which of the promises of
// gocloud's portable pubsub API really hold, one conformance.Result per
// capability (conformance.PubSubCapabilities).
//
// Why: a program written against *pubsub.Topic and *pubsub.Subscription runs
// unchanged on SQS, Pub/Sub, RabbitMQ, NATS JetStream or memory, but the
// backends differ where it hurts when an election office switches provider:
// whether a nacked or abandoned message really comes back, how large a
// message may be, which metadata survives, whether order is kept, whether a
// poison message ends up in a dead-letter queue. gocloud's drivertest is a
// pass/fail test for driver authors; this suite is a measurement for users.
//
// It is used in two ways:
//
//   - from a user's own `go test`, with Test (one subtest per capability);
//   - without `go test`, by `civicport conform --topic URL --subscription
//     URL`, with Run and URLOpener.
//
// Both take an Opener. It may return a fresh topic and subscription on every
// call (tests), or the same configured pair every time (the CLI). So that a
// shared pair works, every check tags its messages with the metadata key
// MetadataKey, whose value is a random id of the check run and a message
// number (the body starts with the same tag, so a message is still
// recognised when a backend drops its metadata). A check acks and ignores
// every message that is not its own (leftovers from an earlier check or run,
// or anything else on the subscription: give the suite a dedicated
// subscription), and before it returns it drains what it sent: every message
// the suite sent is acked, apart from ones the backend lost. Messages are
// left unacked only deliberately, inside pubsub.ack_deadline and
// pubsub.receiver_crash, until they come back.
//
// What each capability means, and when it passes:
//
//   - pubsub.at_least_once: Options.Messages messages (default 1000) are sent
//     concurrently, each with its own number, and received by several
//     receivers; every one must arrive, and each delivery must carry the
//     body and metadata that were sent (a byte or a key changed on the way
//     is a fail). Duplicates are allowed (that is what at-least-once means)
//     and counted in the detail.
//   - pubsub.nack_redelivery: a received message is nacked and must be
//     delivered again within Options.ReceiveTimeout. Unsupported when the
//     backend's messages are not Nackable.
//   - pubsub.ack_deadline: a received message is neither acked nor nacked; it
//     must be delivered again within Options.AckDeadline (which must be
//     longer than the backend's ack deadline or visibility timeout). The
//     detail reports how long it took.
//   - pubsub.receiver_crash: a received message is not acked, the
//     subscription is shut down (the receiver dies), Pair.Subscribe opens the
//     same subscription again, and the message must be delivered to it
//     within Options.AckDeadline.
//   - pubsub.metadata: Unicode metadata values (several scripts, emoji,
//     spaces, punctuation), an empty value, nine keys besides the suite's
//     own (SQS allows ten message attributes in all), and a body with every
//     byte value, 0x00 and invalid UTF-8 round-trip exactly. A message that
//     is refused at send with nine keys is retried with fewer and the detail
//     says how many worked; a refusal of the other cases, or anything that
//     arrives changed or missing, is a fail.
//   - pubsub.large_message: bodies of 64 KiB, 256 KiB, 1 MiB, 4 MiB and
//     10 MiB (up to Options.LargeMessageMax, which is tried too) are sent
//     until the backend refuses one; each accepted one must arrive byte for
//     byte. Passes when at least 256 KiB round-trips; unsupported when the
//     backend refuses a smaller size; fail when a send is accepted but the
//     message arrives changed or truncated, or does not arrive. The detail
//     gives the largest size that round-tripped and the refusal's text.
//     Bodies are ASCII, so that drivers that base64-encode binary bodies
//     (SQS) measure the real limit.
//   - pubsub.ordering: 200 messages are sent one after another by one
//     publisher, then received by one receiver. Passes when the first
//     deliveries arrive in send order. gocloud's portable API has no
//     ordering keys and most backends do not promise order, so out-of-order
//     delivery is unsupported, with the evidence, unless Options.Ordered
//     declares that the backend promises order: then it is a fail.
//   - pubsub.dead_letter: the portable API can neither configure nor see a
//     dead-letter queue, so this is unsupported unless the Pair gives a
//     DeadLetter subscription. Then a message is nacked (or, when the
//     backend cannot nack, left to expire) each time it is delivered; it
//     must arrive on the dead-letter subscription, after at most
//     Pair.MaxDeliveries deliveries when that is set.
//
// A check that runs out of time (Options.CheckTimeout) is a fail with the
// evidence gathered so far; every wait inside a check has its own bound, so
// no check hangs.
package pubsubtest

import (
	"context"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/harness"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

// Pair is one topic and the subscription that receives what is sent to it.
type Pair struct {
	// Topic is where the suite sends. The suite does not shut it down
	// (Close does).
	Topic *pubsub.Topic

	// Subscribe opens the subscription. The suite calls it once per check,
	// and again in pubsub.receiver_crash: every call must open the SAME
	// durable subscription (a new receiver on it), not a new one. The suite
	// shuts down every subscription it opens.
	Subscribe func(ctx context.Context) (*pubsub.Subscription, error)

	// DeadLetter, if set, opens the subscription that receives the
	// messages the backend dead-letters from Subscribe's subscription (SQS
	// redrive policy, Pub/Sub dead-letter topic, RabbitMQ dead-letter
	// exchange). Nil makes pubsub.dead_letter unsupported.
	DeadLetter func(ctx context.Context) (*pubsub.Subscription, error)

	// MaxDeliveries is how many deliveries the backend makes before it
	// dead-letters a message (SQS maxReceiveCount, Pub/Sub
	// max_delivery_attempts). Zero means unknown: any count is accepted.
	MaxDeliveries int

	// Close, if set, is called when the check is done (after the suite has
	// drained and shut down its subscriptions). It should shut down Topic
	// and release or delete what the Opener created.
	Close func()
}

// Opener returns a topic and its subscription. The suite calls it once per
// capability. It may create a fresh pair every time (tests) or return the
// same configured pair every time (the CLI, see URLOpener): the suite
// tolerates a shared pair (see the package doc).
type Opener func(ctx context.Context) (*Pair, error)

// Options tune the suite. A nil *Options is the same as the zero value; zero
// fields take the defaults below.
type Options struct {
	// Capabilities limits the run to these capability names (see
	// conformance.PubSubCapabilities), in the suite's order. Nil or empty
	// runs all of them. An unknown name gives a skipped result saying so
	// (and a test error under Test).
	Capabilities []string

	// Messages is how many messages pubsub.at_least_once sends. Default
	// DefaultMessages.
	Messages int

	// LargeMessageMax is the largest body pubsub.large_message tries, in
	// bytes. Default DefaultLargeMessageMax (10 MiB).
	LargeMessageMax int64

	// AckDeadline is how long pubsub.ack_deadline and pubsub.receiver_crash
	// wait for a message left unacked to come back. It must be longer than
	// the backend's ack deadline (SQS visibility timeout, Pub/Sub ack
	// deadline, JetStream ack wait). Default DefaultAckDeadline.
	AckDeadline time.Duration

	// ReceiveTimeout is how long a check waits for one send to finish, for
	// a message it sent to arrive, or for a nacked message to come back
	// (for many messages: since the last one arrived). Default
	// DefaultReceiveTimeout.
	ReceiveTimeout time.Duration

	// Ordered declares that the backend promises to deliver messages from
	// one publisher to one receiver in send order (a JetStream consumer, an
	// SQS FIFO queue with one message group, a RabbitMQ queue with one
	// consumer). Then out-of-order delivery in pubsub.ordering is a fail;
	// otherwise it is unsupported.
	Ordered bool

	// Workers is how many sends pubsub.at_least_once has in flight.
	// Default DefaultWorkers.
	Workers int

	// CheckTimeout bounds each capability check, including opening its
	// pair. A check that runs out of time is a fail. Default
	// DefaultCheckTimeout. (Draining and shutting down get a little more
	// time afterwards, unless the caller's context was cancelled.)
	CheckTimeout time.Duration

	// Logf, if set, receives progress lines. Test sets it to t.Logf when
	// nil; Run discards them.
	Logf func(format string, args ...any)
}

// Defaults for Options.
const (
	DefaultMessages        = 1000
	DefaultLargeMessageMax = 10 << 20
	DefaultAckDeadline     = 45 * time.Second
	DefaultReceiveTimeout  = 30 * time.Second
	DefaultWorkers         = 64
	DefaultCheckTimeout    = 5 * time.Minute
)

// orderingMessages is how many messages pubsub.ordering sends.
const orderingMessages = 200

func (o *Options) withDefaults() *Options {
	c := harness.Deref(o)
	c.Messages = harness.OrDefault(c.Messages, DefaultMessages)
	c.LargeMessageMax = harness.OrDefault(c.LargeMessageMax, DefaultLargeMessageMax)
	c.AckDeadline = harness.OrDefault(c.AckDeadline, DefaultAckDeadline)
	c.ReceiveTimeout = harness.OrDefault(c.ReceiveTimeout, DefaultReceiveTimeout)
	c.Workers = harness.OrDefault(c.Workers, DefaultWorkers)
	c.CheckTimeout = harness.OrDefault(c.CheckTimeout, DefaultCheckTimeout)
	return &c
}

// suite is the suite over open, with opts' defaults applied.
func suite(open Opener, opts *Options) harness.Suite {
	o := opts.withDefaults()
	return harness.Suite{
		Name:         "pubsubtest",
		Capabilities: conformance.PubSubCapabilities(),
		Options:      harness.Options{Capabilities: o.Capabilities, CheckTimeout: o.CheckTimeout, Logf: o.Logf},
		Check: func(ctx context.Context, capName string, logf harness.Logf) verdict.Outcome {
			co := *o
			co.Logf = logf
			return runCheck(ctx, open, &co, capName)
		},
	}
}

// Run measures every selected capability against pairs from open and
// returns one result per capability, in the order of
// conformance.PubSubCapabilities. It never panics (a panicking check, Opener
// or driver is a fail with the panic value as evidence). When ctx ends, the
// check in progress stops and it and all later ones are reported as skipped.
func Run(ctx context.Context, open Opener, opts *Options) []conformance.Result {
	return harness.Run(ctx, suite(open, opts))
}

// Test runs the suite under go test, one subtest per capability (named after
// the capability, e.g. "pubsub.metadata"). A fail is reported with t.Error
// and its evidence; unsupported and skipped capabilities call t.Skip with
// the reason; a pass logs its note. It returns the results of the subtests
// that ran, so a caller can also assert an expected matrix.
func Test(t *testing.T, open Opener, opts *Options) []conformance.Result {
	t.Helper()
	return harness.Test(t, suite(open, opts))
}

// runCheck opens a pair and its subscription, runs one check, drains what
// the check sent, shuts the subscriptions down and closes the pair, turning
// panics (from the check, the Opener or the driver) into a fail.
func runCheck(ctx context.Context, open Opener, o *Options, capName string) (out verdict.Outcome) {
	if open == nil {
		return verdict.Fail("pubsubtest: the Opener is nil")
	}
	var (
		e    *env
		pair *Pair
	)
	phase := "the Opener"
	defer func() {
		if p := recover(); p != nil {
			out = verdict.Fail("%s panicked: %v", phase, p)
		}
		if e != nil {
			harness.Guard(o.Logf, capName, "cleanup", func() { e.cleanup(ctx) })
		}
		if pair != nil && pair.Close != nil {
			harness.Guard(o.Logf, capName, "Pair.Close", pair.Close)
		}
	}()
	pair, err := open(ctx)
	if err != nil {
		return verdict.Fail("opening the topic and subscription: %s", errText(err))
	}
	switch {
	case pair == nil:
		return verdict.Fail("the Opener returned a nil Pair and no error")
	case pair.Topic == nil:
		return verdict.Fail("the Opener returned a Pair without a Topic")
	case pair.Subscribe == nil:
		return verdict.Fail("the Opener returned a Pair without Subscribe")
	}
	e = newEnv(ctx, pair, o, capName)
	phase = "Pair.Subscribe"
	if err := e.subscribe(); err != nil {
		return verdict.Fail("opening the subscription: %s", errText(err))
	}
	phase = "the check"
	return checks[capName](e)
}

// maxEvidence is how many pieces of evidence a fail lists before it counts the rest.
const maxEvidence = 20

// errText is err's message, shortened for a report line.
func errText(err error) string {
	s := err.Error()
	const max = 400
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/live"
	"github.com/civicport/civicport/conformance/pubsubtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/conformance/secretstest"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/secrets"
)

// conformOptions are the flags shared by conform and plan.
type conformOptions struct {
	largeSize  int64
	only       []string
	sealKeeper string
}

func (o *conformOptions) register(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&o.largeSize, "large-object-size", blobtest.DefaultLargeObjectSize, "bytes of the blob.large_object check (streamed)")
	cmd.Flags().StringSliceVar(&o.only, "capability", nil, "run only these capabilities, blob.*, secrets.* and pubsub.* names (repeatable, comma-separated)")
	cmd.Flags().StringVar(&o.sealKeeper, "seal-keeper", "", "measure the bucket through Seal (client-side encryption) with this keeper URL")
}

func newConformCmd() *cobra.Command {
	var (
		blobURLs    []string
		format, out string
		co          conformOptions
		sf          secretsFlags
		ps          pubsubFlags
	)
	cmd := &cobra.Command{
		Use:   "conform [--blob URL] [--secrets URL] [--topic URL --subscription URL] [--format table|json|markdown|junit] [--out FILE]",
		Short: "Measure what a backend really does: the capability matrix",
		Long: `conform runs civicport's conformance suite against live backends and prints
one result per capability: pass, fail (with evidence), unsupported (the
backend says it cannot) or skipped. Give at least one of --blob, --secrets
or the pair --topic/--subscription; any of them may be given together.

--blob: the bucket is measured under a fresh prefix civicport-conform-<random>/
and everything written there is removed; objects outside that prefix are
never touched.

--secrets: a keeper URL (awskms://, gcpkms://, pkcs11://, base64key://,
ring://). The suite encrypts and decrypts test data with the key (several
hundred calls, and one envelope of --large-plaintext-size bytes streamed
through it) and stores nothing; with a cloud KMS each call may be billed.
secrets.key_rotation moves an envelope's data key onto the key and off it
again (envelope.Rewrap) using in-process test keys: it needs no second key
and never rotates the key itself. The URL is redacted in every report (a
base64key:// key is never printed).

--topic/--subscription: the subscription must receive what is sent to the
topic, and must be durable (opening it again reaches the same queue). The
suite sends tagged test messages to the topic and ACKS AND DISCARDS EVERY
MESSAGE IT RECEIVES on that subscription (and on --dead-letter), its own and
anyone else's: use a dedicated topic and subscription, never one a real
consumer reads. pubsub.dead_letter is measured only with --dead-letter (a
subscription on the queue the backend dead-letters to, e.g. the SQS redrive
target, the Pub/Sub dead-letter topic's subscription, the queue bound to a
RabbitMQ dead-letter exchange); --max-deliveries is the backend's delivery
limit (SQS maxReceiveCount, Pub/Sub max_delivery_attempts, RabbitMQ
x-delivery-limit + 1). --ack-deadline must be longer than the backend's ack
deadline or visibility timeout.

Exit status: 0 nothing failed, 1 a capability failed, 2 bad usage or a
backend that cannot be opened or reached (for secrets: the keeper cannot be
opened, or a first Encrypt fails; for pubsub: the topic or a subscription
cannot be opened, or the first receive on a subscription fails).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pair, err := ps.pair()
			if err != nil {
				return err
			}
			if len(blobURLs) == 0 && len(sf.urls) == 0 && pair == nil {
				return fmt.Errorf("--blob URL is required, or --secrets URL, or --topic URL --subscription URL, or several of them (blob schemes: %s; secrets schemes: %s; pubsub schemes: %s)",
					strings.Join(blob.Schemes(), ", "), strings.Join(secrets.Schemes(), ", "), strings.Join(pubsub.SubscriptionSchemes(), ", "))
			}
			if err := validFormat(format); err != nil {
				return err
			}
			if sf.largePlaintext <= 0 {
				return fmt.Errorf("--large-plaintext-size %d: want a positive number of bytes", sf.largePlaintext)
			}
			var suites []string
			for i, given := range []bool{len(blobURLs) > 0, len(sf.urls) > 0, pair != nil} {
				if given {
					suites = append(suites, []string{conformance.SuiteBlob, conformance.SuiteSecrets, conformance.SuitePubSub}[i])
				}
			}
			if err := checkCapabilities(co.only, suites...); err != nil {
				return err
			}
			rep := &report.Report{}
			for _, u := range blobURLs {
				b, err := conformBlob(cmd.Context(), u, co, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				rep.Backends = append(rep.Backends, b)
			}
			for _, u := range sf.urls {
				b, err := conformSecrets(cmd.Context(), u, co, sf, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				rep.Backends = append(rep.Backends, b)
			}
			if pair != nil {
				b, err := conformPubSub(cmd.Context(), *pair, co, ps, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				rep.Backends = append(rep.Backends, b)
			}
			if err := writeOut(cmd.OutOrStdout(), out, func(w io.Writer) error { return report.Write(w, rep, format) }); err != nil {
				return err
			}
			if rep.Failed() {
				return &problemError{msg: "a capability failed (see the report)"}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&blobURLs, "blob", nil, "bucket URL to measure (repeat for a matrix of several backends)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	cmd.Flags().StringVar(&out, "out", "", "write the report to FILE instead of standard output")
	co.register(cmd)
	sf.register(cmd)
	ps.register(cmd)
	return cmd
}

// secretsFlags are conform's secrets flags.
type secretsFlags struct {
	urls           []string
	largePlaintext int64
}

func (f *secretsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.urls, "secrets", nil, "keeper URL to measure: "+strings.Join(secrets.Schemes(), ", ")+" (repeat for several keepers)")
	cmd.Flags().Int64Var(&f.largePlaintext, "large-plaintext-size", secretstest.DefaultLargePlaintextSize, "bytes of the secrets.large_plaintext check (streamed through an envelope)")
}

// conformSecrets runs secretstest against the keeper at urlstr (see
// live.Secrets); a keeper that cannot be opened or reached is an error
// (exit 2), not a report of failures.
func conformSecrets(ctx context.Context, urlstr string, co conformOptions, f secretsFlags, progress io.Writer) (report.Backend, error) {
	logf, clear := suiteProgress(progress)
	defer clear()
	be, err := live.Secrets(ctx, urlstr, &live.SecretsOptions{Capabilities: co.only, LargePlaintextSize: f.largePlaintext, Logf: logf})
	return be, flagError(err)
}

// roleFlags are the flags that give the URLs of each live.Error role; a
// blob error names its bucket already and has none.
var roleFlags = map[string]string{
	live.RoleSealKeeper:   "--seal-keeper",
	live.RoleSecrets:      "--secrets",
	live.RoleTopic:        "--topic/--subscription",
	live.RoleSubscription: "--subscription",
	live.RoleDeadLetter:   "--dead-letter",
}

// flagError names the flag of the URL a live.Error is about.
func flagError(err error) error {
	var le *live.Error
	if !errors.As(err, &le) {
		return err
	}
	flag, ok := roleFlags[le.Role]
	if !ok {
		return le.Err
	}
	return fmt.Errorf("%s: %w", flag, le.Err)
}

// pubsubFlags are conform's pubsub flags.
type pubsubFlags struct {
	topic, subscription, deadLetter string
	maxDeliveries                   int
	ackDeadline                     time.Duration
	messages                        int
}

func (f *pubsubFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.topic, "topic", "", "topic URL to measure, with --subscription (a DEDICATED pair: the suite acks and discards every message on the subscription)")
	cmd.Flags().StringVar(&f.subscription, "subscription", "", "durable subscription URL that receives what is sent to --topic (every message on it is acked and discarded)")
	cmd.Flags().StringVar(&f.deadLetter, "dead-letter", "", "subscription URL on the backend's dead-letter queue for --subscription, to measure pubsub.dead_letter (every message on it is acked and discarded)")
	cmd.Flags().IntVar(&f.maxDeliveries, "max-deliveries", 0, "deliveries the backend makes before it dead-letters a message (0: unknown, any count is accepted); needs --dead-letter")
	cmd.Flags().DurationVar(&f.ackDeadline, "ack-deadline", pubsubtest.DefaultAckDeadline, "how long to wait for a message left unacked to come back; must exceed the backend's ack deadline or visibility timeout")
	cmd.Flags().IntVar(&f.messages, "messages", pubsubtest.DefaultMessages, "messages pubsub.at_least_once sends")
}

// pair checks the pubsub flags and returns the pair to measure, or nil when
// no pubsub flag was given.
func (f *pubsubFlags) pair() (*pubsubtest.URLPair, error) {
	switch {
	case f.topic != "" && f.subscription == "":
		return nil, fmt.Errorf("--subscription URL is required with --topic (the subscription that receives what is sent to the topic)")
	case f.topic == "" && f.subscription != "":
		return nil, fmt.Errorf("--topic URL is required with --subscription (the topic whose messages the subscription receives)")
	case f.topic == "" && f.deadLetter != "":
		return nil, fmt.Errorf("--dead-letter needs --topic URL --subscription URL")
	case f.maxDeliveries < 0:
		return nil, fmt.Errorf("--max-deliveries %d: want a positive count (or 0: unknown)", f.maxDeliveries)
	case f.maxDeliveries > 0 && f.deadLetter == "":
		return nil, fmt.Errorf("--max-deliveries needs --dead-letter URL (the subscription on the dead-letter queue)")
	case f.ackDeadline <= 0:
		return nil, fmt.Errorf("--ack-deadline %v: want a positive duration", f.ackDeadline)
	case f.messages <= 0:
		return nil, fmt.Errorf("--messages %d: want a positive count", f.messages)
	case f.topic == "":
		return nil, nil
	}
	return &pubsubtest.URLPair{Topic: f.topic, Subscription: f.subscription, DeadLetter: f.deadLetter, MaxDeliveries: f.maxDeliveries}, nil
}

// suiteFlags are the flags that make each conformance suite run.
var suiteFlags = map[string]string{conformance.SuiteBlob: "--blob", conformance.SuiteSecrets: "--secrets", conformance.SuitePubSub: "--topic"}

// checkCapabilities is conformance.CheckCapabilities for --capability,
// naming the flag of a suite none of whose names was given.
func checkCapabilities(only []string, suites ...string) error {
	err := conformance.CheckCapabilities(only, suites...)
	var ce *conformance.CapabilityError
	switch {
	case errors.As(err, &ce) && ce.Suite != "":
		return fmt.Errorf("--capability names no %s capability, but %s is given; %s capabilities: %s", ce.Suite, suiteFlags[ce.Suite], ce.Suite, strings.Join(ce.Capabilities, ", "))
	case err != nil:
		return fmt.Errorf("--capability: %w", err)
	}
	return nil
}

// conformPubSub runs pubsubtest against p (see live.PubSub); a pair that
// cannot be opened or reached is an error (exit 2), not a report.
func conformPubSub(ctx context.Context, p pubsubtest.URLPair, co conformOptions, f pubsubFlags, progress io.Writer) (report.Backend, error) {
	logf, clear := suiteProgress(progress)
	defer clear()
	be, err := live.PubSub(ctx, p, &live.PubSubOptions{Capabilities: co.only, AckDeadline: f.ackDeadline, Messages: f.messages, Logf: logf})
	return be, flagError(err)
}

// conformBlob runs blobtest against urlstr under a fresh prefix and cleans
// up (see live.Blob). An unreachable or unusable bucket is an error (exit
// 2), not a report.
func conformBlob(ctx context.Context, urlstr string, co conformOptions, progress io.Writer) (report.Backend, error) {
	if err := checkCapabilities(co.only, conformance.SuiteBlob); err != nil {
		return report.Backend{}, err
	}
	logf, clear := suiteProgress(progress)
	defer clear()
	be, err := live.Blob(ctx, urlstr, &live.BlobOptions{Capabilities: co.only, LargeObjectSize: co.largeSize, SealKeeper: co.sealKeeper, Logf: logf})
	return be, flagError(err)
}

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// Defaults for the batchers handed to gocloud (see TopicOptions and
// SubscriptionOptions to change them).
var (
	// Publishes in a batch go out asynchronously and are awaited together.
	defaultSendBatcherOptions = batcher.Options{MaxBatchSize: 256, MaxHandlers: 4}
	// One pull request per ReceiveBatch; JetStream caps in-flight messages at
	// the consumer's MaxAckPending (1000 by default).
	defaultRecvBatcherOptions = batcher.Options{MaxBatchSize: 256, MaxHandlers: 4}
	// Acks are fire-and-forget publishes, flushed once per batch.
	defaultAckBatcherOptions = batcher.Options{MaxBatchSize: 1000, MaxHandlers: 2}
)

// DefaultMaxWait is how long a receive waits for a first message before it
// reports none (gocloud then asks again).
const DefaultMaxWait = time.Second

// flushTimeout bounds the round trip that confirms acks reached the server
// when the caller's context has no deadline.
const flushTimeout = 10 * time.Second

// TopicOptions configures OpenTopic.
type TopicOptions struct {
	// Create creates the stream, capturing the topic's subject, if it does not
	// exist. An existing stream is never changed. For tests and first
	// deployments; default off.
	Create bool
	// StreamConfig is the template for a created stream (Name and, when empty,
	// Subjects are filled in). Nil means file storage and default limits.
	StreamConfig *jetstream.StreamConfig
	// BatcherOptions overrides the send batcher (zero fields keep defaults).
	BatcherOptions batcher.Options
}

// SubscriptionOptions configures OpenSubscription.
type SubscriptionOptions struct {
	// Create creates the durable consumer (and, when FilterSubjects are set,
	// a missing stream capturing them) if it does not exist. An existing
	// consumer is used as it is. For tests and first deployments; default off.
	Create bool
	// ConsumerConfig is the template for a created consumer: Durable is set
	// to the consumer name and AckPolicy to explicit. Nil means the
	// JetStream defaults (AckWait 30s, unlimited MaxDeliver, all subjects).
	ConsumerConfig *jetstream.ConsumerConfig
	// MaxWait is how long one receive on an idle subscription (no message
	// for MaxWait) waits for a first message; a busy one does not wait (see
	// ReceiveBatch). At most about a second suits gocloud. Zero means
	// DefaultMaxWait.
	MaxWait time.Duration
	// NackDelay delays the redelivery of a nacked message (zero: at once).
	NackDelay time.Duration
	// ReceiveBatcherOptions and AckBatcherOptions override the batchers
	// (zero fields keep defaults).
	ReceiveBatcherOptions batcher.Options
	AckBatcherOptions     batcher.Options
}

func mergeBatcher(def, o batcher.Options) *batcher.Options {
	if o.MaxBatchSize != 0 {
		def.MaxBatchSize = o.MaxBatchSize
	}
	if o.MinBatchSize != 0 {
		def.MinBatchSize = o.MinBatchSize
	}
	if o.MaxHandlers != 0 {
		def.MaxHandlers = o.MaxHandlers
	}
	if o.MaxBatchByteSize != 0 {
		def.MaxBatchByteSize = o.MaxBatchByteSize
	}
	return &def
}

// ---------------------------------------------------------------- topic

// OpenTopic returns a topic that publishes to subject and requires each
// message to be stored in stream. js is not closed when the topic is shut
// down. With opts.Create the stream is created first if missing (ctx bounds
// that); otherwise nothing is checked until the first Send.
func OpenTopic(ctx context.Context, js jetstream.JetStream, stream, subject string, opts *TopicOptions) (*pubsub.Topic, error) {
	if opts == nil {
		opts = &TopicOptions{}
	}
	dt, err := openTopic(ctx, js, stream, subject, opts)
	if err != nil {
		return nil, err
	}
	return pubsub.NewTopic(dt, mergeBatcher(defaultSendBatcherOptions, opts.BatcherOptions)), nil
}

func openTopic(ctx context.Context, js jetstream.JetStream, stream, subject string, opts *TopicOptions) (*topic, error) {
	if err := checkOpen("OpenTopic", js, stream, subject, checkPublishSubject); err != nil {
		return nil, err
	}
	if opts.Create {
		cfg := jetstream.StreamConfig{}
		if opts.StreamConfig != nil {
			cfg = *opts.StreamConfig
		}
		cfg.Name = stream
		if len(cfg.Subjects) == 0 {
			cfg.Subjects = []string{subject}
		}
		if err := ensureStream(ctx, js, cfg); err != nil {
			return nil, err
		}
	}
	return &topic{js: js, stream: stream, subject: subject}, nil
}

// ensureStream creates cfg.Name if it does not exist.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, cfg.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("jetstream: look up stream %q on %s: %w", cfg.Name, serverOf(js), err)
	}
	if _, err := js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("jetstream: create stream %q (subjects %s) on %s: %w", cfg.Name, strings.Join(cfg.Subjects, ", "), serverOf(js), err)
	}
	return nil
}

type topic struct {
	js      jetstream.JetStream
	stream  string
	subject string
}

// SendBatch publishes every message asynchronously, then waits for all the
// publish acks.
func (t *topic) SendBatch(ctx context.Context, dms []*driver.Message) error {
	pubOpts := []jetstream.PublishOpt{jetstream.WithExpectStream(t.stream)}
	futures := make([]jetstream.PubAckFuture, len(dms))
	for i, dm := range dms {
		msg := nats.NewMsg(t.subject)
		msg.Data = dm.Body
		if err := encodeHeaders(dm.Metadata, msg.Header); err != nil {
			return &opError{code: gcerrors.InvalidArgument, msg: fmt.Sprintf("jetstream: publish to subject %q", t.subject), err: err}
		}
		if dm.BeforeSend != nil {
			if err := dm.BeforeSend(asOnly(msg)); err != nil {
				return err
			}
		}
		f, err := t.js.PublishMsgAsync(msg, pubOpts...)
		if err != nil {
			return t.publishError(err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		var ack *jetstream.PubAck
		select {
		case ack = <-f.Ok():
		case err := <-f.Err():
			return t.publishError(err)
		case <-ctx.Done():
			return ctx.Err()
		}
		if dm := dms[i]; dm.AfterSend != nil {
			if err := dm.AfterSend(asOnly(ack)); err != nil {
				return err
			}
		}
	}
	return nil
}

// asOnly is a driver As function that sets a *T to v and refuses every other
// type: how BeforeSend, AfterSend and a received message's As reach the
// *nats.Msg, the *jetstream.PubAck and the jetstream.Msg.
func asOnly[T any](v T) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*T)
		if ok {
			*p = v
		}
		return ok
	}
}

func (t *topic) publishError(err error) error {
	what := fmt.Sprintf("jetstream: publish to subject %q (stream %q) on %s", t.subject, t.stream, serverOf(t.js))
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return &opError{code: gcerrors.NotFound, msg: what + ": no stream captures this subject (create the stream, or open with create=true)", err: err}
	case errors.Is(err, nats.ErrMaxPayload):
		return &opError{code: gcerrors.InvalidArgument, msg: what + fmt.Sprintf(": message too large: the server accepts at most %d bytes per message (its max_payload, body and headers together)", t.js.Conn().MaxPayload()), err: err}
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeStreamNotMatch:
		return &opError{code: gcerrors.NotFound, msg: what + fmt.Sprintf(": the subject is not captured by stream %q", t.stream), err: err}
	}
	return &opError{code: codeOf(err), msg: what, err: err}
}

// jsErrCodeStreamNotMatch is JetStream's "expected stream does not match".
const jsErrCodeStreamNotMatch jetstream.ErrorCode = 10060

func (t *topic) IsRetryable(err error) bool { return isRetryable(err) }

func (t *topic) As(i any) bool {
	switch p := i.(type) {
	case *driver.Topic: // lets civicport's decorators wrap this driver directly
		*p = t
		return true
	}
	return jsAs(t.js, i)
}

// jsAs answers the As targets topics and subscriptions share: the
// JetStream context and the NATS connection under it.
func jsAs(js jetstream.JetStream, i any) bool {
	switch p := i.(type) {
	case *jetstream.JetStream:
		*p = js
		return true
	case **nats.Conn:
		*p = js.Conn()
		return true
	}
	return false
}

func (t *topic) ErrorAs(err error, i any) bool { return errorAs(err, i) }

func (t *topic) ErrorCode(err error) gcerrors.ErrorCode { return codeOf(err) }

func (t *topic) Close() error { return nil }

// ---------------------------------------------------------------- subscription

// OpenSubscription returns a subscription reading the durable pull consumer
// named consumer on stream. js is not closed when the subscription is shut
// down. With opts.Create the consumer is created first if missing (ctx
// bounds that); otherwise the consumer is looked up on the first Receive,
// and a missing one is a NotFound error naming it.
func OpenSubscription(ctx context.Context, js jetstream.JetStream, stream, consumer string, opts *SubscriptionOptions) (*pubsub.Subscription, error) {
	if opts == nil {
		opts = &SubscriptionOptions{}
	}
	ds, err := openSubscription(ctx, js, stream, consumer, opts)
	if err != nil {
		return nil, err
	}
	return pubsub.NewSubscription(ds,
		mergeBatcher(defaultRecvBatcherOptions, opts.ReceiveBatcherOptions),
		mergeBatcher(defaultAckBatcherOptions, opts.AckBatcherOptions)), nil
}

func openSubscription(ctx context.Context, js jetstream.JetStream, stream, consumer string, opts *SubscriptionOptions) (*subscription, error) {
	if err := checkOpen("OpenSubscription", js, stream, consumer, checkConsumerName); err != nil {
		return nil, err
	}
	s := &subscription{js: js, stream: stream, name: consumer, maxWait: opts.MaxWait, nackDelay: opts.NackDelay}
	if s.maxWait <= 0 {
		s.maxWait = DefaultMaxWait
	}
	if opts.Create {
		cfg := jetstream.ConsumerConfig{}
		if opts.ConsumerConfig != nil {
			cfg = *opts.ConsumerConfig
		}
		cfg.Durable = consumer
		cfg.Name = ""
		cfg.AckPolicy = jetstream.AckExplicitPolicy
		c, err := ensureConsumer(ctx, js, stream, cfg)
		if err != nil {
			return nil, err
		}
		s.cons = c
	}
	return s, nil
}

func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := js.Consumer(ctx, stream, cfg.Durable)
	if err == nil {
		return c, nil
	}
	subjects := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		subjects = append([]string{cfg.FilterSubject}, subjects...)
	}
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound) && len(subjects) > 0:
		if err := ensureStream(ctx, js, jetstream.StreamConfig{Name: stream, Subjects: subjects}); err != nil {
			return nil, err
		}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, &opError{code: gcerrors.NotFound, msg: fmt.Sprintf("jetstream: stream %q not found on %s (create it, or give filter_subject with create=true)", stream, serverOf(js)), err: err}
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: look up consumer %q on stream %q on %s", cfg.Durable, stream, serverOf(js)), err: err}
	}
	c, err = js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: create consumer %q on stream %q on %s", cfg.Durable, stream, serverOf(js)), err: err}
	}
	return c, nil
}

type subscription struct {
	js        jetstream.JetStream
	stream    string
	name      string
	maxWait   time.Duration
	nackDelay time.Duration

	// lastMsgs is when a fetch last returned messages (UnixNano; 0: never).
	lastMsgs atomic.Int64

	mu   sync.Mutex
	cons jetstream.Consumer // nil until looked up; reset when it disappears
}

// consumer returns the consumer handle, looking it up on first use.
func (s *subscription) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s.mu.Lock()
	c := s.cons
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := s.js.Consumer(ctx, s.stream, s.name)
	if err != nil {
		return nil, s.lookupError(err)
	}
	s.mu.Lock()
	s.cons = c
	s.mu.Unlock()
	return c, nil
}

func (s *subscription) lookupError(err error) error {
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return &opError{code: gcerrors.NotFound, msg: fmt.Sprintf("jetstream: stream %q not found on %s (wanted for consumer %q)", s.stream, serverOf(s.js), s.name), err: err}
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return &opError{code: gcerrors.NotFound, msg: fmt.Sprintf("jetstream: consumer %q not found on stream %q on %s (create it, or open with create=true)", s.name, s.stream, serverOf(s.js)), err: err}
	}
	return &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: look up consumer %q on stream %q on %s", s.name, s.stream, serverOf(s.js)), err: err}
}

func (s *subscription) forget() {
	s.mu.Lock()
	s.cons = nil
	s.mu.Unlock()
}

// ReceiveBatch first pulls up to maxMessages with a short server-side
// expiry (batchWait), so a backlog comes back in full batches and a partial
// batch costs at most batchWait. When that finds nothing on a subscription
// that has been idle for MaxWait, it waits up to MaxWait (or ctx) for a
// single message, so an idle subscription answers as soon as a message
// arrives without polling. Every pull request carries an expiry the server
// enforces, so no request outlives its receiver (FetchNoWait is avoided: when
// the consumer is at MaxAckPending the server holds a no-wait request while
// the client gives up on it after a second).
//
// On a busy subscription an empty pull returns at once instead: gocloud runs
// several ReceiveBatch calls as one round, hands out what each returns
// waking only one waiting Receive per call, and wakes the rest only when the
// whole round is over. One call in a long wait would leave messages its
// siblings fetched waiting behind it for up to MaxWait while Receive calls
// sleep.
func (s *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.consumer(ctx)
	if err != nil {
		return nil, err
	}
	msgs, err := s.fetch(ctx, c, maxMessages, min(batchWait, s.maxWait))
	if err != nil || len(msgs) > 0 || s.maxWait <= batchWait || s.busy() {
		return msgs, err
	}
	return s.fetch(ctx, c, 1, s.maxWait-batchWait)
}

// busy reports whether a fetch returned messages within the last MaxWait.
func (s *subscription) busy() bool {
	last := s.lastMsgs.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < s.maxWait
}

// batchWait is the server-side expiry of the pull for a full batch.
const batchWait = 25 * time.Millisecond

// fetch pulls up to n messages, waiting at most wait. The expiry is enforced
// by the server, which ends the request with a status the client reads, so
// no message is dropped at the deadline (a client-side deadline would race
// with deliveries still in flight). If ctx ends first, messages that still
// arrive for the abandoned request are nacked so they are redelivered at once.
func (s *subscription) fetch(ctx context.Context, c jetstream.Consumer, n int, wait time.Duration) ([]*driver.Message, error) {
	batch, err := c.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, s.fetchError(ctx, err)
	}
	var out []*driver.Message
	ch := batch.Messages()
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				if err := batch.Error(); err != nil && len(out) == 0 {
					return nil, s.fetchError(ctx, err)
				}
				if len(out) > 0 {
					s.lastMsgs.Store(time.Now().UnixNano())
				}
				return out, nil
			}
			out = append(out, toDriverMessage(m))
		case <-ctx.Done():
			go func() {
				for _, dm := range out {
					_ = dm.AckID.(jetstream.Msg).Nak()
				}
				for m := range ch {
					_ = m.Nak()
				}
			}()
			return nil, ctx.Err()
		}
	}
}

func toDriverMessage(m jetstream.Msg) *driver.Message {
	id := "unknown"
	if meta, err := m.Metadata(); err == nil {
		id = strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	return &driver.Message{
		LoggableID: id,
		Body:       m.Data(),
		Metadata:   decodeHeaders(m.Headers()),
		AckID:      m,
		AsFunc:     asOnly(m),
	}
}

// fetchError explains a failed pull: a vanished consumer or stream is looked
// up again so that the error names what is missing.
func (s *subscription) fetchError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrStreamNotFound) {
		s.forget()
		lctx, cancel := context.WithTimeout(ctx, flushTimeout)
		defer cancel()
		if _, lerr := s.js.Consumer(lctx, s.stream, s.name); lerr != nil {
			return s.lookupError(lerr)
		}
	}
	return &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: pull from consumer %q on stream %q on %s", s.name, s.stream, serverOf(s.js)), err: err}
}

// SendAcks acks each message, then flushes the connection so that the acks
// have reached the server when it returns. Acking twice is not an error.
func (s *subscription) SendAcks(ctx context.Context, ids []driver.AckID) error {
	return s.settle(ctx, ids, "ack", func(m jetstream.Msg) error { return m.Ack() })
}

func (s *subscription) CanNack() bool { return true }

// SendNacks asks JetStream to redeliver each message (after NackDelay).
func (s *subscription) SendNacks(ctx context.Context, ids []driver.AckID) error {
	return s.settle(ctx, ids, "nack", func(m jetstream.Msg) error {
		if s.nackDelay > 0 {
			return m.NakWithDelay(s.nackDelay)
		}
		return m.Nak()
	})
}

func (s *subscription) settle(ctx context.Context, ids []driver.AckID, what string, f func(jetstream.Msg) error) error {
	for _, id := range ids {
		m, ok := id.(jetstream.Msg)
		if !ok {
			return &opError{code: gcerrors.Internal, msg: fmt.Sprintf("jetstream: %s: ack id of type %T is not a jetstream.Msg", what, id)}
		}
		if err := f(m); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: %s on consumer %q", what, s.name), err: err}
		}
	}
	fctx, cancel := ctx, context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		fctx, cancel = context.WithTimeout(ctx, flushTimeout)
	}
	defer cancel()
	if err := s.js.Conn().FlushWithContext(fctx); err != nil {
		return &opError{code: codeOf(err), msg: fmt.Sprintf("jetstream: %s on consumer %q: flush to %s", what, s.name, serverOf(s.js)), err: err}
	}
	return nil
}

func (s *subscription) IsRetryable(err error) bool { return isRetryable(err) }

func (s *subscription) As(i any) bool {
	switch p := i.(type) {
	case *driver.Subscription: // lets civicport's decorators wrap this driver directly
		*p = s
		return true
	case *jetstream.Consumer:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cons == nil {
			return false
		}
		*p = s.cons
		return true
	}
	return jsAs(s.js, i)
}

func (s *subscription) ErrorAs(err error, i any) bool { return errorAs(err, i) }

func (s *subscription) ErrorCode(err error) gcerrors.ErrorCode { return codeOf(err) }

func (s *subscription) Close() error { return nil }

// ---------------------------------------------------------------- errors

// opError is an error with a civicport message and a gocloud code; it wraps
// the NATS error.
type opError struct {
	code gcerrors.ErrorCode
	msg  string
	err  error
}

func (e *opError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *opError) Unwrap() error { return e.err }

func errorAs(err error, i any) bool {
	if i == nil {
		return false
	}
	return errors.As(err, i)
}

func codeOf(err error) gcerrors.ErrorCode {
	var oe *opError
	if errors.As(err, &oe) && oe.code != gcerrors.Unknown {
		return oe.code
	}
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return gcerrors.OK
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return gcerrors.DeadlineExceeded
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return gcerrors.NotFound
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadHeaderMsg), errors.Is(err, nats.ErrBadSubject):
		return gcerrors.InvalidArgument
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return gcerrors.FailedPrecondition
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return gcerrors.ResourceExhausted
	case errors.As(err, &apiErr):
		switch apiErr.Code {
		case 400:
			return gcerrors.InvalidArgument
		case 401, 403:
			return gcerrors.PermissionDenied
		case 404:
			return gcerrors.NotFound
		case 409:
			return gcerrors.FailedPrecondition
		}
	}
	return gcerrors.Unknown
}

// isRetryable reports transient errors: a connection that is reconnecting,
// a publish ack or pull that timed out, a server that is briefly unable to
// answer. gocloud retries those with backoff.
func isRetryable(err error) bool {
	var oe *opError
	if errors.As(err, &oe) && oe.err == nil {
		return false
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs), errors.Is(err, jetstream.ErrNoHeartbeat):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503 && !errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// serverOf names the server js talks to, for error messages.
func serverOf(js jetstream.JetStream) string {
	nc := js.Conn()
	if nc == nil {
		return "NATS server (no connection)"
	}
	if u := nc.ConnectedUrlRedacted(); u != "" {
		return u
	}
	if srv := nc.Servers(); len(srv) > 0 {
		return strings.Join(srv, ",") + " (disconnected)"
	}
	return "NATS server (disconnected)"
}

// ---------------------------------------------------------------- names

// checkOpen is what OpenTopic and OpenSubscription (op) check before they
// touch the server: a JetStream to use, a valid stream name, and name (the
// subject or the consumer) passing check.
func checkOpen(op string, js jetstream.JetStream, stream, name string, check func(string) error) error {
	if js == nil {
		return fmt.Errorf("jetstream: %s: nil JetStream", op)
	}
	if err := checkStreamName(stream); err != nil {
		return err
	}
	return check(name)
}

// checkName checks a stream or consumer name (kind says which): not empty,
// and none of the characters JetStream refuses in either.
func checkName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("jetstream: empty %s name", kind)
	}
	if i := strings.IndexAny(name, ".*> \t\r\n/\\"); i >= 0 {
		return fmt.Errorf("jetstream: %s name %q contains %q; %s names may not contain '.', '*', '>', '/', '\\' or whitespace", kind, name, name[i], kind)
	}
	return nil
}

func checkStreamName(name string) error   { return checkName("stream", name) }
func checkConsumerName(name string) error { return checkName("consumer", name) }

func checkPublishSubject(subject string) error {
	if subject == "" {
		return errors.New("jetstream: empty subject")
	}
	if strings.ContainsAny(subject, " \t\r\n") {
		return fmt.Errorf("jetstream: subject %q contains whitespace", subject)
	}
	for _, tok := range strings.Split(subject, ".") {
		if tok == "" {
			return fmt.Errorf("jetstream: subject %q has an empty token", subject)
		}
		if tok == "*" || tok == ">" {
			return fmt.Errorf("jetstream: subject %q has a wildcard; a topic publishes to one concrete subject", subject)
		}
	}
	return nil
}

// InProgress tells JetStream that m, received through this driver, is
// still being worked on: it resets the message's ack wait ("+WPI"), so a
// slow consumer is not raced by a redelivery. For messages of any other
// driver it does nothing. It fits distribute.WorkOptions.KeepAlive.
func InProgress(m *pubsub.Message) error {
	var jm jetstream.Msg
	if m.As(&jm) {
		return jm.InProgress()
	}
	return nil
}

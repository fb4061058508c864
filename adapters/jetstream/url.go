package jetstream

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/pubsub"
)

// Scheme is the URL scheme this package registers on pubsub.DefaultURLMux.
const Scheme = "jetstream"

// ServerEnv names the environment variable holding the NATS server URL(s)
// used by URLs (comma-separated for a cluster).
const ServerEnv = "NATS_SERVER_URL"

func init() {
	o := &URLOpener{}
	pubsub.DefaultURLMux().RegisterTopic(Scheme, o)
	pubsub.DefaultURLMux().RegisterSubscription(Scheme, o)
}

// URLOpener opens jetstream:// URLs:
//
//	jetstream://STREAM/SUBJECT[?create=true]                  (topic)
//	jetstream://STREAM/CONSUMER[?param=value&...]             (subscription)
//
// Topic parameters:
//   - create: "true" creates STREAM, capturing SUBJECT, if it is missing.
//
// Subscription parameters:
//   - create: "true" creates the durable consumer CONSUMER if it is missing
//     (and STREAM too, capturing filter_subject, when that is given).
//   - filter_subject: comma-separated subjects the created consumer reads
//     (default: all of the stream's).
//   - ack_wait: the created consumer's ack wait (Go duration, e.g. 30s): how
//     long a received message may stay unacked before it is redelivered.
//   - max_deliver: the created consumer's maximum deliveries per message
//     (default unlimited).
//   - nack_delay: delay before a nacked message is redelivered (default 0).
//   - max_wait: how long one receive waits for a message (default 1s).
//
// filter_subject, ack_wait and max_deliver only shape a consumer that
// create=true creates, so they are rejected without it; an existing consumer
// is never changed. Any other parameter is an error naming the allowed ones.
//
// The server comes from NATS_SERVER_URL (never from the URL, so that
// credentials stay out of it: use the nats:// user info in the environment
// variable, or set Conn). One connection per server URL is shared by every
// topic and subscription the default opener opens, for the life of the
// process.
type URLOpener struct {
	// Conn, if set, is used instead of dialling NATS_SERVER_URL.
	Conn *nats.Conn
	// TopicOptions and SubscriptionOptions are the base options; URL
	// parameters override them.
	TopicOptions        TopicOptions
	SubscriptionOptions SubscriptionOptions
}

var (
	topicParams = []string{"create"}
	subParams   = []string{"ack_wait", "create", "filter_subject", "max_deliver", "max_wait", "nack_delay"}
)

// OpenTopicURL opens the topic named by u.
func (o *URLOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	stream, subject, q, err := parseURL(u, "SUBJECT", topicParams, checkPublishSubject)
	if err != nil {
		return nil, err
	}
	opts := o.TopicOptions
	if v := q.Get("create"); v != "" {
		if opts.Create, err = parseBool(u, "create", v); err != nil {
			return nil, err
		}
	}
	js, err := o.jetStream()
	if err != nil {
		return nil, err
	}
	return OpenTopic(ctx, js, stream, subject, &opts)
}

// OpenSubscriptionURL opens the subscription named by u.
func (o *URLOpener) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	stream, consumer, q, err := parseURL(u, "CONSUMER", subParams, checkConsumerName)
	if err != nil {
		return nil, err
	}
	opts, err := o.subscriptionOptions(u, q)
	if err != nil {
		return nil, err
	}
	js, err := o.jetStream()
	if err != nil {
		return nil, err
	}
	return OpenSubscription(ctx, js, stream, consumer, opts)
}

func (o *URLOpener) subscriptionOptions(u *url.URL, q url.Values) (*SubscriptionOptions, error) {
	opts := o.SubscriptionOptions
	var err error
	if v := q.Get("create"); v != "" {
		if opts.Create, err = parseBool(u, "create", v); err != nil {
			return nil, err
		}
	}
	var cfg jetstream.ConsumerConfig
	if opts.ConsumerConfig != nil {
		cfg = *opts.ConsumerConfig
	}
	shaped := false
	if v := q.Get("filter_subject"); v != "" {
		shaped = true
		cfg.FilterSubject = ""
		cfg.FilterSubjects = nil
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.FilterSubjects = append(cfg.FilterSubjects, s)
			}
		}
		if len(cfg.FilterSubjects) == 1 {
			cfg.FilterSubject, cfg.FilterSubjects = cfg.FilterSubjects[0], nil
		}
	}
	if v := q.Get("ack_wait"); v != "" {
		shaped = true
		if cfg.AckWait, err = parseDuration(u, "ack_wait", v); err != nil {
			return nil, err
		}
	}
	if v := q.Get("max_deliver"); v != "" {
		shaped = true
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 || n < -1 {
			return nil, fmt.Errorf("jetstream: URL %s: invalid value %q for query parameter \"max_deliver\"; want a positive count, or -1 for unlimited", u.Redacted(), v)
		}
		cfg.MaxDeliver = n
	}
	if shaped && !opts.Create {
		return nil, fmt.Errorf("jetstream: URL %s: filter_subject, ack_wait and max_deliver shape a consumer that create=true creates; add create=true, or drop them to use the existing consumer as it is", u.Redacted())
	}
	opts.ConsumerConfig = &cfg
	if v := q.Get("nack_delay"); v != "" {
		if opts.NackDelay, err = parseDuration(u, "nack_delay", v); err != nil {
			return nil, err
		}
	}
	if v := q.Get("max_wait"); v != "" {
		if opts.MaxWait, err = parseDuration(u, "max_wait", v); err != nil {
			return nil, err
		}
		if opts.MaxWait <= 0 {
			return nil, fmt.Errorf("jetstream: URL %s: max_wait must be positive", u.Redacted())
		}
	}
	return &opts, nil
}

// parseURL checks u: STREAM is the host, NAME (a subject or a consumer) the
// path, and the query holds only allowed parameters, each at most once.
func parseURL(u *url.URL, nameWord string, allowed []string, checkName func(string) error) (stream, name string, _ url.Values, _ error) {
	want := fmt.Sprintf("want %s://STREAM/%s", Scheme, nameWord)
	if u.User != nil {
		return "", "", nil, fmt.Errorf("jetstream: URL %s carries credentials; put them in %s instead", u.Redacted(), ServerEnv)
	}
	if u.Port() != "" {
		return "", "", nil, fmt.Errorf("jetstream: URL %s names a port; the host part is the stream name and the server comes from %s; %s", u.Redacted(), ServerEnv, want)
	}
	stream = u.Host
	if stream == "" {
		return "", "", nil, fmt.Errorf("jetstream: URL %s names no stream; %s", u.Redacted(), want)
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", "", nil, fmt.Errorf("jetstream: URL %s names no %s; %s", u.Redacted(), strings.ToLower(nameWord), want)
	}
	if strings.Contains(name, "/") {
		return "", "", nil, fmt.Errorf("jetstream: URL %s: %q is not a %s (no '/'); %s", u.Redacted(), name, strings.ToLower(nameWord), want)
	}
	if err := checkStreamName(stream); err != nil {
		return "", "", nil, fmt.Errorf("jetstream: URL %s: %s", u.Redacted(), strings.TrimPrefix(err.Error(), "jetstream: "))
	}
	if err := checkName(name); err != nil {
		return "", "", nil, fmt.Errorf("jetstream: URL %s: %s", u.Redacted(), strings.TrimPrefix(err.Error(), "jetstream: "))
	}
	q := u.Query()
	var unknown []string
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, strconv.Quote(k))
			continue
		}
		if len(vs) > 1 {
			return "", "", nil, fmt.Errorf("jetstream: URL %s: query parameter %q given %d times", u.Redacted(), k, len(vs))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return "", "", nil, fmt.Errorf("jetstream: URL %s: unknown query parameter %s; allowed: %s",
			u.Redacted(), strings.Join(unknown, ", "), strings.Join(allowed, ", "))
	}
	return stream, name, q, nil
}

func parseBool(u *url.URL, key, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("jetstream: URL %s: invalid value %q for query parameter %q; want true or false", u.Redacted(), v, key)
	}
	return b, nil
}

func parseDuration(u *url.URL, key, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("jetstream: URL %s: invalid value %q for query parameter %q; want a Go duration such as 30s", u.Redacted(), v, key)
	}
	return d, nil
}

// jetStream returns a JetStream context on o.Conn, or on the shared
// connection to NATS_SERVER_URL.
func (o *URLOpener) jetStream() (jetstream.JetStream, error) {
	nc := o.Conn
	if nc == nil {
		server := os.Getenv(ServerEnv)
		if server == "" {
			return nil, fmt.Errorf("jetstream: %s is not set; set it to the NATS server URL, e.g. nats://127.0.0.1:4222", ServerEnv)
		}
		var err error
		if nc, err = sharedConn(server); err != nil {
			return nil, err
		}
	}
	js, err := newJetStream(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: JetStream context on %s: %w", nc.ConnectedUrlRedacted(), err)
	}
	return js, nil
}

var (
	connMu sync.Mutex
	conns  = map[string]*nats.Conn{}
)

// sharedConn dials server once per process; a failed or closed connection
// is dialled again on the next open.
func sharedConn(server string) (*nats.Conn, error) {
	connMu.Lock()
	defer connMu.Unlock()
	if nc := conns[server]; nc != nil && !nc.IsClosed() {
		return nc, nil
	}
	nc, err := Connect(server)
	if err != nil {
		return nil, err
	}
	conns[server] = nc
	return nc, nil
}

// Connect dials a NATS server with the settings this package uses for URLs:
// a 5 s dial timeout, and reconnecting forever once connected (a restarted
// server is picked up again). The error names the server, without
// credentials.
func Connect(server string, opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.Name("civicport-jetstream"),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}, opts...)
	nc, err := nats.Connect(server, all...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect to NATS server %s: %w", redactServers(server), err)
	}
	return nc, nil
}

// newJetStream makes a JetStream context whose async publishes time out
// instead of waiting forever for an ack that will not come.
func newJetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	return jetstream.New(nc, jetstream.WithPublishAsyncTimeout(30*time.Second))
}

func redactServers(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.Host != "" {
			parts[i] = u.Redacted()
		} else if strings.Contains(p, "@") {
			parts[i] = "(server URL redacted)"
		}
	}
	return strings.Join(parts, ",")
}

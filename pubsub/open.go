package pubsub

import (
	"context"
	"fmt"
	"net/url"
	"sort"

	gcpubsub "gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/awssnssqs"  // awssns://, awssqs://
	_ "gocloud.dev/pubsub/gcppubsub"  // gcppubsub://
	_ "gocloud.dev/pubsub/mempubsub"  // mem://
	"gocloud.dev/pubsub/rabbitpubsub" // rabbit://

	_ "github.com/civicport/civicport/adapters/jetstream" // jetstream://
	"github.com/civicport/civicport/internal/openurl"
	"github.com/civicport/civicport/internal/redact"
)

// TopicSchemes lists the URL schemes OpenTopic accepts, sorted.
func TopicSchemes() []string {
	s := gcpubsub.DefaultURLMux().TopicSchemes()
	sort.Strings(s)
	return s
}

// SubscriptionSchemes lists the URL schemes OpenSubscription accepts, sorted.
func SubscriptionSchemes() []string {
	s := gcpubsub.DefaultURLMux().SubscriptionSchemes()
	sort.Strings(s)
	return s
}

// Error is returned by OpenTopic and OpenSubscription. URL is redacted; Err
// is the cause, its message redacted too (errors.Is and errors.As reach the
// driver's error under it, whose own message is not).
type Error struct {
	URL  string // redacted
	Kind string // "topic" or "subscription"
	Msg  string // what went wrong, in words, credentials removed
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("open %s %s: %s", e.Kind, e.URL, e.Msg) }
func (e *Error) Unwrap() error { return e.Err }

// OpenTopic opens the topic at urlstr. See the package doc for the schemes.
func OpenTopic(ctx context.Context, urlstr string) (*gcpubsub.Topic, error) {
	if _, err := parse(urlstr, "topic", TopicSchemes(), gcpubsub.DefaultURLMux().ValidTopicScheme); err != nil {
		return nil, err
	}
	t, err := gcpubsub.OpenTopic(ctx, urlstr)
	if err != nil {
		return nil, &Error{URL: redact.URL(urlstr), Kind: "topic", Msg: Describe(err, urlstr), Err: redact.Err(err, urlstr)}
	}
	return t, nil
}

// OpenSubscription opens the subscription at urlstr. See the package doc for
// the schemes.
func OpenSubscription(ctx context.Context, urlstr string) (*gcpubsub.Subscription, error) {
	u, err := parse(urlstr, "subscription", SubscriptionSchemes(), gcpubsub.DefaultURLMux().ValidSubscriptionScheme)
	if err != nil {
		return nil, err
	}
	var s *gcpubsub.Subscription
	if u.Scheme == rabbitpubsub.Scheme {
		s, err = openRabbitSubscription(ctx, u)
	} else {
		s, err = gcpubsub.OpenSubscription(ctx, urlstr)
	}
	if err != nil {
		return nil, &Error{URL: redact.URL(urlstr), Kind: "subscription", Msg: Describe(err, urlstr), Err: redact.Err(err, urlstr)}
	}
	return s, nil
}

// OpenSubscriptionWith opens the subscription at urlstr with opener instead
// of the default mux (a driver's URLOpener with options a URL cannot carry),
// and reports a failure as OpenSubscription does (*Error, credentials
// removed).
func OpenSubscriptionWith(ctx context.Context, opener gcpubsub.SubscriptionURLOpener, urlstr string) (*gcpubsub.Subscription, error) {
	u, err := parse(urlstr, "subscription", SubscriptionSchemes(), gcpubsub.DefaultURLMux().ValidSubscriptionScheme)
	if err != nil {
		return nil, err
	}
	s, err := opener.OpenSubscriptionURL(ctx, u)
	if err != nil {
		return nil, &Error{URL: redact.URL(urlstr), Kind: "subscription", Msg: Describe(err, urlstr), Err: redact.Err(err, urlstr)}
	}
	return s, nil
}

// parse parses urlstr, or says what is wrong with it, before gocloud sees it.
func parse(urlstr, kind string, schemes []string, valid func(string) bool) (*url.URL, error) {
	u, msg, cause := openurl.Parse(urlstr, "SCHEME://...", kind+" scheme", schemes, valid)
	if msg != "" {
		return nil, &Error{URL: redact.URL(urlstr), Kind: kind, Msg: msg, Err: redact.Err(cause, urlstr)}
	}
	return u, nil
}

// Describe says in words what kind of failure err is (missing topic or
// queue, access denied, unreachable server, oversized message, ...) followed
// by the backend's message, with credentials from urlstr removed.
func Describe(err error, urlstr string) string {
	return openurl.Describe(err, urlstr, "not found (does the topic, queue or subscription exist?)")
}

// Redact returns urlstr with credentials removed, for printing.
func Redact(urlstr string) string { return redact.URL(urlstr) }

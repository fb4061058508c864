package fanout

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"sync"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/internal/driveradapter"

	"github.com/civicport/civicport/pubsub/meta"
)

// Policy says when a send through a New topic succeeds.
type Policy int

const (
	// RequireAll: a send succeeds only when every topic accepted the
	// message. The error names the topics that refused; the others have the
	// message already, so a retry delivers it to them twice (read them
	// through dedup.Wrap).
	RequireAll Policy = iota
	// RequirePrimary: a send succeeds when the first topic accepted the
	// message; a refusal by any other topic is passed to
	// Options.OnError and does not fail the send. For a cutover in
	// which the old provider stays the source of truth.
	RequirePrimary
)

func (p Policy) String() string {
	switch p {
	case RequireAll:
		return "require-all"
	case RequirePrimary:
		return "require-primary"
	}
	return fmt.Sprintf("FanoutPolicy(%d)", int(p))
}

// Options tune New. A nil *Options is the zero value.
type Options struct {
	// Policy is RequireAll by default.
	Policy Policy
	// Names label the topics in errors (e.g. redacted URLs); by default
	// "topic 0", "topic 1", ...
	Names []string
	// OnError, if set, is called for every refusal by a topic, under either
	// policy, with the topic's index. It may be called concurrently.
	OnError func(index int, err error)
	// KeepMetadata sends messages without a meta.ID as they are, instead
	// of giving each a random one (the same on every topic).
	KeepMetadata bool
}

// New returns a topic that publishes every message to each of topics,
// concurrently: dual publishing while consumers move from one provider to
// another. A message without a meta.ID gets a random one, the same on
// every topic, so that dedup.Wrap can recognise copies (unless KeepMetadata). opts.Policy says which refusals fail a send. Shutting the
// returned topic down shuts down every topic in topics. As is answered by
// the first topic.
func New(topics []*gcpubsub.Topic, opts *Options) (*gcpubsub.Topic, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(topics) == 0 {
		return nil, errors.New("fanout: no topics; want at least one")
	}
	if o.Policy != RequireAll && o.Policy != RequirePrimary {
		return nil, fmt.Errorf("fanout: unknown policy %v; want RequireAll or RequirePrimary", o.Policy)
	}
	if o.Names != nil && len(o.Names) != len(topics) {
		return nil, fmt.Errorf("fanout: %d names for %d topics", len(o.Names), len(topics))
	}
	f := &fanout{opts: o}
	for i, t := range topics {
		if t == nil {
			return nil, fmt.Errorf("fanout: topic %d is nil", i)
		}
		f.topics = append(f.topics, driveradapter.Topic(t))
		if o.Names == nil {
			f.opts.Names = append(f.opts.Names, fmt.Sprintf("topic %d", i))
		}
	}
	return gcpubsub.NewTopic(f, driveradapter.SendBatching()), nil
}

type fanout struct {
	topics []driver.Topic
	opts   Options
}

func (f *fanout) SendBatch(ctx context.Context, ms []*driver.Message) error {
	for _, m := range ms {
		// The same meta.ID on every copy, and on a retry of this batch,
		// lets dedup.Wrap recognise copies. Signed messages are left alone (the
		// signature covers the metadata).
		if !f.opts.KeepMetadata && m.Metadata[meta.ID] == "" && m.Metadata[meta.Signature] == "" {
			md := maps.Clone(m.Metadata)
			if md == nil {
				md = map[string]string{}
			}
			md[meta.ID] = rand.Text()
			m.Metadata = md
		}
	}
	errs := make([]error, len(f.topics))
	var wg sync.WaitGroup
	for i, t := range f.topics {
		wg.Go(func() {
			if err := t.SendBatch(ctx, ms); err != nil {
				errs[i] = fmt.Errorf("%s: %w", f.opts.Names[i], err)
				if f.opts.OnError != nil {
					f.opts.OnError(i, err)
				}
			}
		})
	}
	wg.Wait()
	if f.opts.Policy == RequirePrimary {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (f *fanout) IsRetryable(error) bool                 { return false }
func (f *fanout) As(i any) bool                          { return f.topics[0].As(i) }
func (f *fanout) ErrorAs(err error, i any) bool          { return f.topics[0].ErrorAs(err, i) }
func (f *fanout) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }

func (f *fanout) Close() error {
	var errs []error
	for _, t := range f.topics {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

package dedup

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/driveradapter"

	"github.com/civicport/civicport/pubsub/meta"
)

// Store remembers the idempotency keys of messages the application has
// acked. It must be safe for concurrent use.
type Store interface {
	// Seen reports whether key was added.
	Seen(ctx context.Context, key string) (bool, error)
	// Add records key. Adding a key twice is not an error.
	Add(ctx context.Context, key string) error
}

// Options configures Wrap. The zero value is ready to use.
type Options struct {
	// Store remembers acked keys. Default: NewMemoryStore(0), which forgets
	// everything on restart; use NewBucketStore to survive one.
	Store Store
	// ContentKey makes the fallback key of a message without meta.ID the
	// SHA-256 of its body and metadata alone, so that two publishes of the
	// same content are one message. By default the fallback also covers the
	// backend's message id (see Wrap), so that only redeliveries are
	// dropped and two identical messages published separately both arrive.
	ContentKey bool
	// OnDuplicate, if set, is called once for every message dropped as a
	// duplicate (after it was acked on the source), with its key.
	OnDuplicate func(key string)
	// OnError, if set, is called when the store fails. A failed Seen
	// delivers the message (it may be a duplicate; it is not lost); a
	// failed Add still acks it (a later copy may be delivered again).
	OnError func(key string, err error)
}

// Stats counts what a Wrap subscription did. Get it with As:
//
//	var st *dedup.Stats
//	if sub.As(&st) { fmt.Println(st.Duplicates()) }
//
// As works through other civicport decorators stacked above Wrap (Verify).
type Stats struct {
	delivered, duplicates, deferred, storeErrors atomic.Int64
}

// Delivered is the number of messages handed to the application (a message
// nacked and delivered again counts twice).
func (s *Stats) Delivered() int64 { return s.delivered.Load() }

// Duplicates is the number of messages dropped because their key was
// already acked: each was acked on the source and not delivered.
func (s *Stats) Duplicates() int64 { return s.duplicates.Load() }

// Deferred is the number of times a message was held back and nacked on
// the source because another message with its key was in flight.
func (s *Stats) Deferred() int64 { return s.deferred.Load() }

// StoreErrors is the number of failed store calls (see
// Options.OnError).
func (s *Stats) StoreErrors() int64 { return s.storeErrors.Load() }

// Wrap returns a subscription that delivers each message of sub at most
// once per idempotency key, as far as its store remembers, without ever
// weakening at-least-once:
//
//   - The key is the message's meta.ID, set by the publisher. Without
//     one, it is a SHA-256 of the backend's message id (LoggableID: the SQS
//     or Pub/Sub message id, the JetStream sequence; empty on some backends),
//     the body and the metadata (sorted, length-prefixed, meta.Signature
//     left out): a redelivery of the same message has the same key, two
//     publishes of the same content do not (unless ContentKey is set). Messages
//     that must be deduplicated across providers (bridge.Run, fanout.New) or across
//     publisher retries need a meta.ID.
//   - A key is recorded when the application acks the message, never when
//     it is received. A later message with a recorded key is acked on the
//     source and not delivered; it is counted (Stats.Duplicates) and
//     reported to OnDuplicate.
//   - A message whose key is in flight (delivered, not yet acked or nacked)
//     is not delivered: it is held until the first is settled (at most a
//     second) and then nacked on the source, so it comes back and is
//     checked again. A nack of the first delivery clears the mark, so a
//     redelivery after a nack is delivered.
//   - A store that fails never causes a drop: see Options.OnError.
//
// With signed messages, put sign.Verify under Wrap: Wrap(sign.Verify(sub, ...)).
// Then a forgery is quarantined before Wrap sees its meta.ID; the other
// way round, a forgery carrying a real message's id would be recorded as
// seen when sign.Verify acks it, and the real message dropped.
//
// Acks from the application reach sub after the key is recorded. Keys are
// only as unique as the store's scope: share a store between subscriptions
// to drop a message that arrives through both (with meta.ID).
func Wrap(sub *gcpubsub.Subscription, opts *Options) *gcpubsub.Subscription {
	if opts == nil {
		opts = &Options{}
	}
	d := &dedupSub{
		inner:    driveradapter.SubscriptionDriver(sub),
		opts:     *opts,
		inflight: map[string]*inflightKey{},
		hold:     inFlightHold,
	}
	if d.opts.Store == nil {
		d.opts.Store = NewMemoryStore(0)
	}
	return gcpubsub.NewSubscription(d, driveradapter.ReceiveBatching(), nil)
}

// inFlightHold bounds how long a message whose key is in flight is held
// before it is nacked on the source (nacking at once would make the
// backend hand it straight back, in a busy loop).
const inFlightHold = time.Second

type dedupSub struct {
	inner driver.Subscription
	opts  Options
	hold  time.Duration
	stats Stats

	mu       sync.Mutex
	inflight map[string]*inflightKey
	closed   bool
}

type inflightKey struct {
	held []*heldMsg
}

type heldMsg struct {
	id    driver.AckID
	timer *time.Timer
	done  bool
}

// dedupAck is the AckID of a delivered message.
type dedupAck struct {
	key     string
	id      driver.AckID
	settled bool // under dedupSub.mu
}

var _ driver.Subscription = (*dedupSub)(nil)

func (d *dedupSub) report(key string, err error) {
	d.stats.storeErrors.Add(1)
	if d.opts.OnError != nil {
		d.opts.OnError(key, err)
	}
}

func (d *dedupSub) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	ms, err := d.inner.ReceiveBatch(ctx, maxMessages)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	var drop []driver.AckID
	var dropKeys []string
	for _, m := range ms {
		key := meta.DedupKey(m.LoggableID, m.Body, m.Metadata, d.opts.ContentKey)
		d.mu.Lock()
		if e, ok := d.inflight[key]; ok && !d.closed {
			d.holdLocked(e, m.AckID)
			d.mu.Unlock()
			continue
		}
		// Mark in flight before asking the store: an ack of an earlier copy
		// records the key before it clears its mark, so if there is no
		// mark now, Seen below sees the key.
		d.inflight[key] = &inflightKey{}
		d.mu.Unlock()
		seen, err := d.opts.Store.Seen(ctx, key)
		if err != nil {
			d.report(key, err)
			seen = false // deliver: a duplicate is better than a loss
		}
		if seen {
			drop = append(drop, m.AckID)
			dropKeys = append(dropKeys, key)
			d.release(key)
			continue
		}
		d.stats.delivered.Add(1)
		out = append(out, &driver.Message{
			LoggableID: m.LoggableID,
			Body:       m.Body,
			Metadata:   m.Metadata,
			AckID:      &dedupAck{key: key, id: m.AckID},
			AsFunc:     m.AsFunc,
		})
	}
	if len(drop) > 0 {
		if err := d.inner.SendAcks(ctx, drop); err != nil {
			// Not acked: the backend will redeliver them and they will be
			// dropped then. Nothing is lost.
			return out, nil
		}
		for _, k := range dropKeys {
			d.stats.duplicates.Add(1)
			if d.opts.OnDuplicate != nil {
				d.opts.OnDuplicate(k)
			}
		}
	}
	return out, nil
}

// holdLocked holds id (a copy of an in-flight key) until the key is
// settled or d.hold passes, then nacks it. d.mu is held.
func (d *dedupSub) holdLocked(e *inflightKey, id driver.AckID) {
	d.stats.deferred.Add(1)
	h := &heldMsg{id: id}
	e.held = append(e.held, h)
	h.timer = time.AfterFunc(d.hold, func() {
		d.mu.Lock()
		if h.done {
			d.mu.Unlock()
			return
		}
		h.done = true
		d.mu.Unlock()
		d.nack([]driver.AckID{h.id})
	})
}

// release clears key's in-flight mark and nacks the copies held for it.
func (d *dedupSub) release(key string) {
	d.mu.Lock()
	e := d.inflight[key]
	delete(d.inflight, key)
	ids := takeHeld(e)
	d.mu.Unlock()
	d.nack(ids)
}

func takeHeld(e *inflightKey) []driver.AckID {
	if e == nil {
		return nil
	}
	var ids []driver.AckID
	for _, h := range e.held {
		if !h.done {
			h.done = true
			h.timer.Stop()
			ids = append(ids, h.id)
		}
	}
	return ids
}

func (d *dedupSub) nack(ids []driver.AckID) {
	if len(ids) == 0 {
		return
	}
	if d.inner.CanNack() {
		// An error leaves them unacked: the backend redelivers them after
		// its ack deadline.
		_ = d.inner.SendNacks(context.Background(), ids)
	}
}

// settle marks ids settled and returns the ones settled now, for the first
// time (an id acked or nacked twice is passed on once).
func (d *dedupSub) settle(ids []driver.AckID) []*dedupAck {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first []*dedupAck
	for _, id := range ids {
		a := id.(*dedupAck)
		if !a.settled {
			a.settled = true
			first = append(first, a)
		}
	}
	return first
}

func (d *dedupSub) SendAcks(ctx context.Context, ids []driver.AckID) error {
	first := d.settle(ids)
	if len(first) == 0 {
		return nil
	}
	inner := make([]driver.AckID, len(first))
	for i, a := range first {
		// Record first: once the key is recorded, any copy is a duplicate,
		// even if the ack below fails and the backend redelivers.
		if err := d.opts.Store.Add(ctx, a.key); err != nil {
			d.report(a.key, err)
		}
		inner[i] = a.id
	}
	err := d.inner.SendAcks(ctx, inner)
	for _, a := range first {
		d.release(a.key)
	}
	return err
}

func (d *dedupSub) SendNacks(ctx context.Context, ids []driver.AckID) error {
	first := d.settle(ids)
	if len(first) == 0 {
		return nil
	}
	inner := make([]driver.AckID, len(first))
	for i, a := range first {
		inner[i] = a.id
	}
	err := d.inner.SendNacks(ctx, inner)
	for _, a := range first {
		d.release(a.key)
	}
	return err
}

func (d *dedupSub) CanNack() bool              { return d.inner.CanNack() }
func (d *dedupSub) IsRetryable(err error) bool { return d.inner.IsRetryable(err) }

// As supports **Stats; anything else is passed to the wrapped
// subscription.
func (d *dedupSub) As(i any) bool {
	switch p := i.(type) {
	case **Stats:
		*p = &d.stats
		return true
	case *driver.Subscription: // see driveradapter.SubscriptionDriver
		*p = d
		return true
	}
	return d.inner.As(i)
}
func (d *dedupSub) ErrorAs(err error, i any) bool          { return d.inner.ErrorAs(err, i) }
func (d *dedupSub) ErrorCode(err error) gcerrors.ErrorCode { return d.inner.ErrorCode(err) }

// Close nacks the held copies and closes the wrapped subscription.
func (d *dedupSub) Close() error {
	d.mu.Lock()
	d.closed = true
	var ids []driver.AckID
	for _, e := range d.inflight {
		ids = append(ids, takeHeld(e)...)
	}
	d.mu.Unlock()
	d.nack(ids)
	return d.inner.Close()
}

// DefaultWindow is the number of keys NewMemoryStore keeps by default.
const DefaultWindow = 100000

// MemoryStore is a Store in memory that keeps the most recently added
// keys (a key added again moves to the front); it forgets everything when
// the process ends.
type MemoryStore struct {
	mu     sync.Mutex
	window int
	keys   map[string]*list.Element
	order  *list.List // front: newest
}

// NewMemoryStore returns a store that keeps the last window keys
// (DefaultWindow if window <= 0).
func NewMemoryStore(window int) *MemoryStore {
	if window <= 0 {
		window = DefaultWindow
	}
	return &MemoryStore{window: window, keys: map[string]*list.Element{}, order: list.New()}
}

// Seen reports whether key is among the kept keys.
func (s *MemoryStore) Seen(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[key]
	return ok, nil
}

// Add keeps key, forgetting the least recently added key if the window is
// full.
func (s *MemoryStore) Add(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.keys[key]; ok {
		s.order.MoveToFront(e)
		return nil
	}
	s.keys[key] = s.order.PushFront(key)
	for s.order.Len() > s.window {
		old := s.order.Back()
		s.order.Remove(old)
		delete(s.keys, old.Value.(string))
	}
	return nil
}

// Len is the number of keys kept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// BucketStore is a Store in a bucket: one small object per key, named
// by the hex SHA-256 of the key under a prefix and holding the key. It
// survives restarts and can be shared by several consumers. It forgets
// nothing by itself: bound it with Prune, run periodically (it works on
// every provider), or with the provider's lifecycle rules on the prefix.
type BucketStore struct {
	b      *blob.Bucket
	prefix string
}

// NewBucketStore returns a store keeping its keys in b under prefix
// (e.g. "dedup/results/").
func NewBucketStore(b *blob.Bucket, prefix string) *BucketStore {
	return &BucketStore{b: b, prefix: prefix}
}

func (s *BucketStore) name(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + hex.EncodeToString(sum[:])
}

// Seen reports whether key's object exists.
func (s *BucketStore) Seen(ctx context.Context, key string) (bool, error) {
	return s.b.Exists(ctx, s.name(key))
}

// Add writes key's object if it does not exist yet.
func (s *BucketStore) Add(ctx context.Context, key string) error {
	err := blobcopy.Put(ctx, s.b, s.name(key), []byte(key), &blob.WriterOptions{
		ContentType: "text/plain; charset=utf-8",
		IfNotExist:  true,
	})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return nil // written before: fine
	}
	return err
}

// Prune deletes the keys added before t (by their objects' modification
// times) and returns how many it deleted, so that the store keeps a window
// of time: a copy of a message that arrives after its key was pruned is
// delivered again. Keys deleted by someone else meanwhile are not an error.
// When ctx ends, Prune stops and returns what it deleted so far with
// ctx's error.
func (s *BucketStore) Prune(ctx context.Context, t time.Time) (int, error) {
	it := s.b.List(&blob.ListOptions{Prefix: s.prefix})
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err // some drivers (mem) do not check ctx themselves
		}
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("dedup: store: listing %q: %w", s.prefix, err)
		}
		if obj.IsDir || !obj.ModTime.Before(t) {
			continue
		}
		if err := s.b.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("dedup: store: pruning %q: %w", obj.Key, err)
		}
		n++
	}
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*BucketStore)(nil)
)

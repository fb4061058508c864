package dedup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
)

// ddPair is a topic and, over its raw subscription, a Dedup one made with
// opts, shut down when the test ends.
func ddPair(t *testing.T, opts *dedup.Options) (*gcpubsub.Topic, *gcpubsub.Subscription) {
	t.Helper()
	topic, raw := decoratortest.RawPair(t, 10*time.Second)
	sub := dedup.Wrap(raw, opts)
	decoratortest.ShutdownOnCleanup(t, sub)
	return topic, sub
}

func ddSend(t *testing.T, topic *gcpubsub.Topic, body, id string) {
	t.Helper()
	var md map[string]string
	if id != "" {
		md = map[string]string{meta.ID: id}
	}
	require.NoError(t, topic.Send(context.Background(), &gcpubsub.Message{Body: []byte(body), Metadata: md}))
}

func TestDedupSameIDDeliveredOnceCountedOnce(t *testing.T) {
	topic, raw := decoratortest.RawPair(t, 10*time.Second)
	var mu sync.Mutex
	var dups []string
	sub := dedup.Wrap(raw, &dedup.Options{OnDuplicate: func(k string) {
		mu.Lock()
		dups = append(dups, k)
		mu.Unlock()
	}})
	decoratortest.ShutdownOnCleanup(t, sub)
	ddSend(t, topic, "precinct 12: 340 ballots", "result-12")
	m := decoratortest.Receive(t, sub)
	assert.Equal(t, "precinct 12: 340 ballots", string(m.Body))
	assert.Equal(t, "result-12", m.Metadata[meta.ID], "metadata passes through")
	m.Ack()
	// The same id again (a publisher retry, say), later.
	ddSend(t, topic, "precinct 12: 340 ballots", "result-12")
	decoratortest.ReceiveNone(t, sub, 1500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.EqualValues(t, 1, st.Duplicates())
	assert.EqualValues(t, 1, st.Delivered())
	mu.Lock()
	assert.Equal(t, []string{"id:result-12"}, dups)
	mu.Unlock()
}

func TestDedupRedeliveryAfterNackIsDelivered(t *testing.T) {
	topic, sub := ddPair(t, nil)
	ddSend(t, topic, "registration update 7", "reg-7")
	m := decoratortest.Receive(t, sub)
	m.Nack()
	m2 := decoratortest.Receive(t, sub)
	assert.Equal(t, "registration update 7", string(m2.Body))
	m2.Ack()
	decoratortest.ReceiveNone(t, sub, 500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.EqualValues(t, 0, st.Duplicates())
	assert.EqualValues(t, 2, st.Delivered())
}

func TestDedupInFlightDuplicateNotDeliveredTwice(t *testing.T) {
	topic, sub := ddPair(t, nil)
	ddSend(t, topic, "copy A", "batch-3")
	ddSend(t, topic, "copy B", "batch-3")
	first := decoratortest.Receive(t, sub)
	// The other copy is in flight with the same key: held and nacked, not
	// delivered, however long the first stays unacked.
	decoratortest.ReceiveNone(t, sub, 2500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.GreaterOrEqual(t, st.Deferred(), int64(2), "held, nacked after a second, held again")
	first.Ack()
	decoratortest.ReceiveNone(t, sub, 1500*time.Millisecond)
	assert.EqualValues(t, 1, st.Duplicates())
	assert.EqualValues(t, 1, st.Delivered())
}

func TestDedupInFlightDuplicateDeliveredAfterNackOfFirst(t *testing.T) {
	topic, sub := ddPair(t, nil)
	ddSend(t, topic, "copy A", "batch-4")
	ddSend(t, topic, "copy B", "batch-4")
	first := decoratortest.Receive(t, sub)
	decoratortest.ReceiveNone(t, sub, 300*time.Millisecond)
	first.Nack() // not processed: the key stays unrecorded
	second := decoratortest.Receive(t, sub)
	second.Ack()
	// Whichever copy came second is now a duplicate.
	decoratortest.ReceiveNone(t, sub, 1500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.EqualValues(t, 2, st.Delivered())
	assert.EqualValues(t, 1, st.Duplicates())
}

// replaySub is a backend that delivers what the test puts in it, as a real
// one redelivers a message whose ack was lost: same LoggableID, same body.
type replaySub struct {
	ch    chan *driver.Message
	mu    sync.Mutex
	acked []driver.AckID
}

func (r *replaySub) ReceiveBatch(ctx context.Context, _ int) ([]*driver.Message, error) {
	select {
	case m := <-r.ch:
		return []*driver.Message{m}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(50 * time.Millisecond):
		return nil, nil
	}
}
func (r *replaySub) SendAcks(_ context.Context, ids []driver.AckID) error {
	r.mu.Lock()
	r.acked = append(r.acked, ids...)
	r.mu.Unlock()
	return nil
}
func (r *replaySub) SendNacks(context.Context, []driver.AckID) error { return nil }
func (r *replaySub) CanNack() bool                                   { return true }
func (r *replaySub) IsRetryable(error) bool                          { return false }
func (r *replaySub) As(any) bool                                     { return false }
func (r *replaySub) ErrorAs(error, any) bool                         { return false }
func (r *replaySub) ErrorCode(error) gcerrors.ErrorCode              { return gcerrors.Unknown }
func (r *replaySub) Close() error                                    { return nil }

func TestDedupFallbackKeyDropsRedeliveryWithoutID(t *testing.T) {
	r := &replaySub{ch: make(chan *driver.Message, 4)}
	sub := dedup.Wrap(gcpubsub.NewSubscription(r, nil, nil), nil)
	decoratortest.ShutdownOnCleanup(t, sub)
	msg := func(ack int) *driver.Message {
		return &driver.Message{LoggableID: "sqs-7f3a", Body: []byte("tally"), Metadata: map[string]string{"precinct": "12"}, AckID: ack}
	}
	r.ch <- msg(1)
	decoratortest.Receive(t, sub).Ack()
	r.ch <- msg(2) // the backend lost the ack and delivers it again
	decoratortest.ReceiveNone(t, sub, 500*time.Millisecond)
	assert.EqualValues(t, 1, decoratortest.DedupStats(t, sub).Duplicates())
	r.mu.Lock()
	assert.ElementsMatch(t, []driver.AckID{1, 2}, r.acked, "the duplicate is acked on the source")
	r.mu.Unlock()

	// Other metadata or another body: another message.
	m3 := msg(3)
	m3.Metadata = map[string]string{"precinct": "13"}
	r.ch <- m3
	decoratortest.Receive(t, sub).Ack()
	m4 := msg(4)
	m4.Body = []byte("tally 2")
	r.ch <- m4
	decoratortest.Receive(t, sub).Ack()
}

func TestDedupFallbackKeyIdenticalPublishes(t *testing.T) {
	// By default two separate publishes of the same content are two
	// messages: the backend ids differ.
	topic, sub := ddPair(t, nil)
	ddSend(t, topic, "+1 ballot", "")
	ddSend(t, topic, "+1 ballot", "")
	decoratortest.Receive(t, sub).Ack()
	decoratortest.Receive(t, sub).Ack()
	assert.EqualValues(t, 0, decoratortest.DedupStats(t, sub).Duplicates())

	// With ContentKey they are one.
	topic2, sub2 := ddPair(t, &dedup.Options{ContentKey: true})
	ddSend(t, topic2, "+1 ballot", "")
	decoratortest.Receive(t, sub2).Ack()
	ddSend(t, topic2, "+1 ballot", "")
	decoratortest.ReceiveNone(t, sub2, 1500*time.Millisecond)
	assert.EqualValues(t, 1, decoratortest.DedupStats(t, sub2).Duplicates())
}

func TestMemoryStoreWindow(t *testing.T) {
	ctx := context.Background()
	s := dedup.NewMemoryStore(2)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, s.Add(ctx, k))
	}
	for k, want := range map[string]bool{"a": false, "b": true, "c": true} {
		got, err := s.Seen(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, got, k)
	}
	assert.Equal(t, 2, s.Len())
	require.NoError(t, s.Add(ctx, "b")) // b is now the newest
	require.NoError(t, s.Add(ctx, "d"))
	seen, _ := s.Seen(ctx, "b")
	assert.True(t, seen)
	seen, _ = s.Seen(ctx, "c")
	assert.False(t, seen, "c was the oldest")
	assert.Equal(t, dedup.DefaultWindow, 100000)
}

func TestDedupWindowEviction(t *testing.T) {
	topic, sub := ddPair(t, &dedup.Options{Store: dedup.NewMemoryStore(1)})
	ddSend(t, topic, "one", "k1")
	decoratortest.Receive(t, sub).Ack()
	ddSend(t, topic, "two", "k2")
	decoratortest.Receive(t, sub).Ack()
	// k1 fell out of the window: delivered again (at-least-once, never a
	// drop).
	ddSend(t, topic, "one", "k1")
	m := decoratortest.Receive(t, sub)
	assert.Equal(t, "one", string(m.Body))
	m.Ack()
	assert.EqualValues(t, 0, decoratortest.DedupStats(t, sub).Duplicates())
}

func TestDedupBucketStoreSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()

	topic, raw := decoratortest.RawPair(t, 10*time.Second)
	sub := dedup.Wrap(raw, &dedup.Options{Store: dedup.NewBucketStore(bucket, "dedup/results/")})
	ddSend(t, topic, "county 4 final", "final-4")
	decoratortest.Receive(t, sub).Ack()
	require.NoError(t, sub.Shutdown(ctx))

	sum := sha256.Sum256([]byte("id:final-4"))
	got, err := bucket.ReadAll(ctx, "dedup/results/"+hex.EncodeToString(sum[:]))
	require.NoError(t, err, "one object per key, named by its SHA-256")
	assert.Equal(t, "id:final-4", string(got))

	// "Restart": a new process, a new subscription, the same bucket.
	topic2, sub2 := ddPair(t, &dedup.Options{Store: dedup.NewBucketStore(bucket, "dedup/results/")})
	ddSend(t, topic2, "county 4 final", "final-4")
	ddSend(t, topic2, "county 5 final", "final-5")
	m := decoratortest.Receive(t, sub2)
	assert.Equal(t, "county 5 final", string(m.Body))
	m.Ack()
	decoratortest.ReceiveNone(t, sub2, 1500*time.Millisecond)
	assert.EqualValues(t, 1, decoratortest.DedupStats(t, sub2).Duplicates())

	// Adding a key twice is fine (IfNotExist refusal is not an error).
	require.NoError(t, dedup.NewBucketStore(bucket, "dedup/results/").Add(ctx, "id:final-4"))
}

// Prune bounds a BucketStore by time: keys added before the cut are
// forgotten (a later copy is delivered again), newer ones are kept, and
// other objects in the bucket are never touched.
func TestBucketStorePrune(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	require.NoError(t, bucket.WriteAll(ctx, "records/keep-me", []byte("x"), nil))
	store := dedup.NewBucketStore(bucket, "dedup/results/")
	for _, k := range []string{"id:old-1", "id:old-2"} {
		require.NoError(t, store.Add(ctx, k))
	}
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, store.Add(ctx, "id:new"))

	n, err := store.Prune(ctx, cut)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for k, want := range map[string]bool{"id:old-1": false, "id:old-2": false, "id:new": true} {
		seen, err := store.Seen(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, seen, k)
	}
	ok, err := bucket.Exists(ctx, "records/keep-me")
	require.NoError(t, err)
	assert.True(t, ok, "Prune deletes only under its prefix")

	n, err = store.Prune(ctx, cut)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to prune")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n, err = store.Prune(cctx, time.Now())
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, n)
	seen, err := store.Seen(ctx, "id:new")
	require.NoError(t, err)
	assert.True(t, seen, "an interrupted Prune deleted nothing")
}

// brokenStore fails every call.
type brokenStore struct{}

var errStoreDown = errors.New("store unreachable")

func (brokenStore) Seen(context.Context, string) (bool, error) { return false, errStoreDown }
func (brokenStore) Add(context.Context, string) error          { return errStoreDown }

func TestDedupStoreErrorDeliversNotDrops(t *testing.T) {
	topic, raw := decoratortest.RawPair(t, 10*time.Second)
	var mu sync.Mutex
	var errs []error
	sub := dedup.Wrap(raw, &dedup.Options{Store: brokenStore{}, OnError: func(key string, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	decoratortest.ShutdownOnCleanup(t, sub)
	ddSend(t, topic, "x", "same")
	decoratortest.Receive(t, sub).Ack()
	ddSend(t, topic, "x", "same")
	decoratortest.Receive(t, sub).Ack() // could not be checked: delivered
	decoratortest.ReceiveNone(t, sub, 500*time.Millisecond)
	st := decoratortest.DedupStats(t, sub)
	assert.EqualValues(t, 2, st.Delivered())
	assert.EqualValues(t, 0, st.Duplicates())
	assert.EqualValues(t, 4, st.StoreErrors(), "two Seen, two Add")
	mu.Lock()
	assert.Len(t, errs, 4)
	for _, err := range errs {
		assert.ErrorIs(t, err, errStoreDown)
	}
	mu.Unlock()
}

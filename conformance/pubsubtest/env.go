package pubsubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/pubsub/shutdown"
)

// MetadataKey is the metadata key on every message the suite sends. Its
// value is "RUN/N": RUN is a random id of one check run (16 hex digits), N
// the message's number within it. Every body starts with BodyPrefix, the
// same "RUN/N" and a newline.
const MetadataKey = "civicport-conformance"

// BodyPrefix starts the body of every message the suite sends.
const BodyPrefix = "civicport-conformance:"

// errNoMessage is returned by receive when no message of the check arrived
// in time.
var errNoMessage = errors.New("no message arrived")

// env is what a check works with: its pair, its current subscription, its
// run id, and a record of what it sent and has not acked yet, so that
// cleanup can drain it.
type env struct {
	ctx     context.Context
	o       *Options
	pair    *Pair
	capName string
	run     string

	sub *pubsub.Subscription // current subscription; nil after a "crash"

	foreign atomic.Int64 // messages that were not the check's own, acked

	mu      sync.Mutex
	pending map[string]bool // numbers sent and not acked by the suite
	held    bool            // a message was deliberately left unacked
	seq     int
}

func newEnv(ctx context.Context, pair *Pair, o *Options, capName string) *env {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return &env{
		ctx:     ctx,
		o:       o,
		pair:    pair,
		capName: capName,
		run:     hex.EncodeToString(r[:]),
		pending: map[string]bool{},
	}
}

// subscribe opens the pair's subscription (again) as the current one.
func (e *env) subscribe() error {
	s, err := e.pair.Subscribe(e.ctx)
	if err != nil {
		return err
	}
	if s == nil {
		return errors.New("Pair.Subscribe returned a nil subscription and no error")
	}
	e.sub = s
	return nil
}

// shutdown shuts the current subscription down, with a bounded wait.
func (e *env) shutdown() error {
	if e.sub == nil {
		return nil
	}
	s := e.sub
	e.sub = nil
	return shutdownSub(e.ctx, s)
}

func shutdownSub(ctx context.Context, s *pubsub.Subscription) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return shutdown.Subscription(sctx, s)
}

// next returns a fresh message number.
func (e *env) next() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return fmt.Sprint(e.seq)
}

// tag is the "RUN/N" of message n.
func (e *env) tag(n string) string { return e.run + "/" + n }

// send sends message n with body BodyPrefix+tag+"\n"+payload and metadata
// md plus MetadataKey, waiting at most ReceiveTimeout. It records n as
// pending when the send succeeds.
func (e *env) send(n string, payload []byte, md map[string]string) error {
	return e.sendMsg(n, e.message(n, payload, md))
}

func (e *env) message(n string, payload []byte, md map[string]string) *pubsub.Message {
	head := BodyPrefix + e.tag(n) + "\n"
	body := make([]byte, 0, len(head)+len(payload))
	body = append(append(body, head...), payload...)
	m := map[string]string{MetadataKey: e.tag(n)}
	maps.Copy(m, md)
	return &pubsub.Message{Body: body, Metadata: m}
}

func (e *env) sendMsg(n string, m *pubsub.Message) error {
	sctx, cancel := context.WithTimeout(e.ctx, e.o.ReceiveTimeout)
	defer cancel()
	err := e.pair.Topic.Send(sctx, m)
	if err == nil {
		e.mu.Lock()
		e.pending[n] = true
		e.mu.Unlock()
	} else if sctx.Err() != nil && e.ctx.Err() == nil {
		err = fmt.Errorf("send did not finish within %v (Options.ReceiveTimeout): %w", e.o.ReceiveTimeout, err)
	}
	return err
}

// identify returns the number of m when m is one of this check's messages.
// It reads MetadataKey, or failing that the body's prefix.
func (e *env) identify(m *pubsub.Message) (n string, own bool) {
	t, ok := m.Metadata[MetadataKey]
	if !ok {
		rest, found := bytes.CutPrefix(m.Body, []byte(BodyPrefix))
		if !found {
			return "", false
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		t = string(line)
	}
	run, n, ok := strings.Cut(t, "/")
	if !ok || run != e.run {
		return "", false
	}
	return n, true
}

// payload returns m's body without the suite's prefix line.
func payload(m *pubsub.Message) []byte {
	rest, found := bytes.CutPrefix(m.Body, []byte(BodyPrefix))
	if !found {
		return m.Body
	}
	if _, p, ok := bytes.Cut(rest, []byte("\n")); ok {
		return p
	}
	return nil
}

// receive returns the next message of this check from s, acking every
// message that is not the check's own. It waits at most d; when nothing of
// the check's arrived by then it returns errNoMessage. Other errors are the
// subscription's (or e.ctx ending).
func (e *env) receive(s *pubsub.Subscription, d time.Duration) (*pubsub.Message, string, error) {
	return e.receiveCtx(e.ctx, s, d)
}

func (e *env) receiveCtx(ctx context.Context, s *pubsub.Subscription, d time.Duration) (*pubsub.Message, string, error) {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		m, err := s.Receive(rctx)
		if err != nil {
			if rctx.Err() != nil && ctx.Err() == nil {
				return nil, "", errNoMessage
			}
			return nil, "", err
		}
		if n, own := e.identify(m); own {
			// Some checks leave messages unacked on purpose (a receiver
			// that "dies"); gocloud's finalizer would log each of them as a
			// bug, on the user's terminal under civicport conform.
			runtime.SetFinalizer(m, nil)
			return m, n, nil
		}
		e.foreign.Add(1)
		m.Ack()
	}
}

// await receives on s until message n arrives, acking other messages of
// the check (duplicates of earlier ones) on the way. It waits at most d.
func (e *env) await(s *pubsub.Subscription, n string, d time.Duration) (*pubsub.Message, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, errNoMessage
		}
		m, got, err := e.receive(s, left)
		if err != nil {
			return nil, err
		}
		if got == n {
			return m, nil
		}
		e.ack(m, got)
	}
}

// ack acks m, one of the check's messages (number n), and marks n settled.
func (e *env) ack(m *pubsub.Message, n string) {
	m.Ack()
	e.mu.Lock()
	delete(e.pending, n)
	e.mu.Unlock()
}

// hold records that a message is deliberately left unacked, so cleanup
// waits long enough for it to come back.
func (e *env) hold() {
	e.mu.Lock()
	e.held = true
	e.mu.Unlock()
}

func (e *env) pendingCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// receiveErr turns a receive error into evidence.
func (e *env) receiveErr(what string, d time.Duration, err error) string {
	if errors.Is(err, errNoMessage) {
		return fmt.Sprintf("%s did not arrive within %v", what, d)
	}
	return fmt.Sprintf("receiving %s: %s", what, errText(err))
}

// cleanup drains what the check sent and is still pending (acking it on the
// current subscription, opening one if the check left none), then shuts the
// subscription down. Draining waits up to AckDeadline when a message was
// deliberately left unacked, else ReceiveTimeout but at most 5 s; it is skipped when the
// caller's context was cancelled (not merely timed out).
func (e *env) cleanup(ctx context.Context) {
	defer func() {
		if err := e.shutdown(); err != nil {
			e.o.Logf("%s: shutting down the subscription: %s", e.capName, errText(err))
		}
		if f := e.foreign.Load(); f > 0 {
			e.o.Logf("%s: acked and ignored %d message(s) the check did not send", e.capName, f)
		}
	}()
	if e.pendingCount() == 0 || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	budget := min(5*time.Second, e.o.ReceiveTimeout)
	if e.held {
		budget = e.o.AckDeadline
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	saved := e.ctx
	e.ctx = dctx
	defer func() { e.ctx = saved }()
	if e.sub == nil {
		if err := e.subscribe(); err != nil {
			e.o.Logf("%s: drain: opening the subscription: %s", e.capName, errText(err))
			return
		}
	}
	for e.pendingCount() > 0 {
		m, n, err := e.receive(e.sub, budget)
		if err != nil {
			break
		}
		e.ack(m, n)
	}
	if p := e.pendingCount(); p > 0 {
		e.o.Logf("%s: drain: %d message(s) the check sent were not received again within %v; they may stay on the subscription (the next check acks them as leftovers)", e.capName, p, budget)
	}
}

package pubsubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

type checkFunc func(e *env) verdict.Outcome

var checks = map[string]checkFunc{
	conformance.PubSubAtLeastOnce:    checkAtLeastOnce,
	conformance.PubSubNackRedelivery: checkNackRedelivery,
	conformance.PubSubAckDeadline:    checkAckDeadline,
	conformance.PubSubReceiverCrash:  checkReceiverCrash,
	conformance.PubSubMetadata:       checkMetadata,
	conformance.PubSubLargeMessage:   checkLargeMessage,
	conformance.PubSubOrdering:       checkOrdering,
	conformance.PubSubDeadLetter:     checkDeadLetter,
}

// receivers is how many goroutines receive in pubsub.at_least_once.
const receivers = 4

func checkAtLeastOnce(e *env) verdict.Outcome {
	n := e.o.Messages
	start := time.Now()
	var (
		mu       sync.Mutex
		counts   = make([]int, n)
		distinct int
		dups     int
		recvErr  error
		altered  = map[int]string{} // message number -> how a delivery differed from what was sent
		progress atomic.Int64       // unix nanos of the last new message
		all      = make(chan struct{})
		allAt    time.Time
	)
	progress.Store(time.Now().UnixNano())
	rctx, stop := context.WithCancel(e.ctx)
	defer stop()
	var wg sync.WaitGroup
	for range receivers {
		wg.Go(func() {
			for rctx.Err() == nil {
				m, id, err := e.receiveCtx(rctx, e.sub, time.Second)
				if errors.Is(err, errNoMessage) {
					continue
				}
				if err != nil {
					if rctx.Err() == nil {
						mu.Lock()
						recvErr = err
						mu.Unlock()
						stop()
					}
					return
				}
				e.ack(m, id)
				i, perr := strconv.Atoi(id)
				var diff string
				if perr == nil && i >= 1 && i <= n {
					md := atLeastOnceMetadata(i)
					md[MetadataKey] = e.tag(id)
					if diffs := diffMessage(m, atLeastOncePayload(i, n), md); len(diffs) > 0 {
						diff = diffs[0]
					}
				}
				mu.Lock()
				if diff != "" && altered[i] == "" {
					altered[i] = diff
				}
				if perr == nil && i >= 1 && i <= n {
					if counts[i-1] == 0 {
						distinct++
						progress.Store(time.Now().UnixNano())
						if distinct == n {
							allAt = time.Now()
							close(all)
						}
					} else {
						dups++
					}
					counts[i-1]++
				}
				mu.Unlock()
			}
		})
	}

	// Send concurrently.
	var (
		sendMu    sync.Mutex
		sendErrs  = map[int]error{}
		sendWG    sync.WaitGroup
		sem       = make(chan struct{}, e.o.Workers)
		sendsDone = make(chan struct{})
	)
	go func() {
		defer close(sendsDone)
		for i := 1; i <= n && rctx.Err() == nil; i++ {
			sem <- struct{}{}
			sendWG.Go(func() {
				defer func() { <-sem }()
				if err := e.send(strconv.Itoa(i), atLeastOncePayload(i, n), atLeastOnceMetadata(i)); err != nil {
					sendMu.Lock()
					sendErrs[i] = err
					sendMu.Unlock()
				}
			})
		}
		sendWG.Wait()
	}()

	// Wait for everything, for a receive error, or for no progress.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sendsFinished := false
	var sendTime time.Duration
wait:
	for {
		select {
		case <-all:
			break wait
		case <-rctx.Done():
			break wait
		case <-sendsDone:
			sendsFinished = true
			sendTime = time.Since(start)
			sendsDone = nil
			progress.Store(max(progress.Load(), time.Now().UnixNano()))
		case <-tick.C:
			if sendsFinished && time.Since(time.Unix(0, progress.Load())) > e.o.ReceiveTimeout {
				break wait
			}
		}
	}
	stop()
	wg.Wait()
	if !sendsFinished {
		<-sendsDone
		sendTime = time.Since(start)
	}
	mu.Lock()
	defer mu.Unlock()
	elapsed := allAt.Sub(start)
	var p verdict.Problems
	if len(sendErrs) > 0 {
		first := slices.Sorted(maps.Keys(sendErrs))[0]
		p.Add("%d of %d sends failed (first: message %d: %s)", len(sendErrs), n, first, errText(sendErrs[first]))
	}
	if recvErr != nil {
		p.Add("Receive failed: %s", errText(recvErr))
	}
	var missing []int
	for i, c := range counts {
		if c == 0 && sendErrs[i+1] == nil {
			missing = append(missing, i+1)
		}
	}
	if len(missing) > 0 && e.ctx.Err() == nil {
		p.Add("%d of %d sent messages never arrived (none new for %v after the sends finished): %s",
			len(missing), n-len(sendErrs), e.o.ReceiveTimeout, listInts(missing, 10))
	} else if len(missing) > 0 {
		p.Add("%d of %d sent messages had not arrived when the check ran out of time: %s", len(missing), n-len(sendErrs), listInts(missing, 10))
	}
	if len(altered) > 0 {
		first := slices.Sorted(maps.Keys(altered))[0]
		p.Add("%d of %d messages were delivered with a body or metadata other than what was sent (first: #%d: %s)", len(altered), n, first, altered[first])
	}
	if !p.Empty() {
		if dups > 0 {
			p.Add("%d duplicate deliveries", dups)
		}
		return p.Fail(maxEvidence)
	}
	dupNote := "no duplicates"
	if dups > 0 {
		dupNote = fmt.Sprintf("%d duplicate deliveries (allowed by at-least-once)", dups)
	}
	return verdict.Pass("all %d messages received; %s; sent in %v, all received after %v",
		n, dupNote, sendTime.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}

// atLeastOncePayload and atLeastOnceMetadata are what message i of n in
// pubsub.at_least_once carries, so that each delivery is compared with what
// was sent, not just counted.
func atLeastOncePayload(i, n int) []byte {
	return fmt.Appendf(nil, "at-least-once message %d of %d", i, n)
}

func atLeastOnceMetadata(i int) map[string]string {
	return map[string]string{"civicport-seq": strconv.Itoa(i)}
}

// diffMessage says how the delivery m differs from a message of this check
// sent with payload body and metadata md: the body (after the check's
// header), the value of each key of md, and the presence of the check's
// own MetadataKey. Keys a backend or decorator adds are not differences.
func diffMessage(m *pubsub.Message, body []byte, md map[string]string) []string {
	var diffs []string
	if got := payload(m); !bytes.Equal(got, body) {
		diffs = append(diffs, "body differs: "+diffBytes(got, body))
	}
	keys := slices.Sorted(maps.Keys(md))
	if _, ok := md[MetadataKey]; !ok {
		keys = append(keys, MetadataKey)
		slices.Sort(keys)
	}
	for _, k := range keys {
		got, ok := m.Metadata[k]
		want, compare := md[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("metadata %q missing", k))
		case compare && got != want:
			diffs = append(diffs, fmt.Sprintf("metadata %q: got %q, want %q", k, got, want))
		}
	}
	return diffs
}

// listInts lists up to max numbers as "#3, #17, ... (and 4 more)".
func listInts(xs []int, max int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == max {
			fmt.Fprintf(&b, " ... (and %d more)", len(xs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "#%d", x)
	}
	return b.String()
}

// sendOne sends one message and receives it, for the checks that work on a
// single message.
func (e *env) sendOne(what string) (*pubsub.Message, string, verdict.Outcome, bool) {
	n := e.next()
	if err := e.send(n, []byte(what), nil); err != nil {
		return nil, "", verdict.Fail("sending the %s message: %s", what, errText(err)), false
	}
	m, err := e.await(e.sub, n, e.o.ReceiveTimeout)
	if err != nil {
		return nil, "", verdict.Fail("the %s message was sent, but %s", what, e.receiveErr("it", e.o.ReceiveTimeout, err)), false
	}
	return m, n, verdict.Outcome{}, true
}

func checkNackRedelivery(e *env) verdict.Outcome {
	m, n, out, ok := e.sendOne("nack")
	if !ok {
		return out
	}
	if !m.Nackable() {
		e.ack(m, n)
		return verdict.Unsupported("the backend's messages are not Nackable (the driver cannot nack); an unacked message can only come back after the ack deadline, see %s", conformance.PubSubAckDeadline)
	}
	body := bytes.Clone(m.Body)
	nackedAt := time.Now()
	m.Nack()
	m2, err := e.await(e.sub, n, e.o.ReceiveTimeout)
	if err != nil {
		return verdict.Fail("after Nack, %s", e.receiveErr("the message", e.o.ReceiveTimeout, err))
	}
	took := time.Since(nackedAt)
	e.ack(m2, n)
	if !bytes.Equal(m2.Body, body) {
		return verdict.Fail("the redelivered message's body differs: %s", diffBytes(m2.Body, body))
	}
	return verdict.Pass("a nacked message was delivered again %v after Nack", took.Round(time.Millisecond))
}

func checkAckDeadline(e *env) verdict.Outcome {
	m, n, out, ok := e.sendOne("ack-deadline")
	if !ok {
		return out
	}
	_ = m // deliberately neither acked nor nacked
	e.hold()
	receivedAt := time.Now()
	m2, err := e.await(e.sub, n, e.o.AckDeadline)
	if err != nil {
		if errors.Is(err, errNoMessage) {
			return verdict.Fail("a message received and neither acked nor nacked was not delivered again within %v (Options.AckDeadline; it must be longer than the backend's ack deadline or visibility timeout)", e.o.AckDeadline)
		}
		return verdict.Fail("waiting for the unacked message to come back: %s", errText(err))
	}
	took := time.Since(receivedAt)
	e.ack(m2, n)
	return verdict.Pass("a message left unacked was delivered again %v after it was received", took.Round(100*time.Millisecond))
}

func checkReceiverCrash(e *env) verdict.Outcome {
	m, n, out, ok := e.sendOne("receiver-crash")
	if !ok {
		return out
	}
	_ = m // the receiver "dies" holding it
	e.hold()
	receivedAt := time.Now()
	if err := e.shutdown(); err != nil {
		e.o.Logf("%s: shutting down the first receiver: %s", e.capName, errText(err))
	}
	if err := e.subscribe(); err != nil {
		return verdict.Fail("opening the subscription again after the first receiver shut down: %s", errText(err))
	}
	m2, err := e.await(e.sub, n, e.o.AckDeadline)
	if err != nil {
		if errors.Is(err, errNoMessage) {
			return verdict.Fail("a message received by a subscription that was then shut down without acking was not delivered to the subscription opened again within %v (Options.AckDeadline; it must be longer than the backend's ack deadline)", e.o.AckDeadline)
		}
		return verdict.Fail("waiting for the message on the subscription opened again: %s", errText(err))
	}
	took := time.Since(receivedAt)
	e.ack(m2, n)
	return verdict.Pass("after the first receiver shut down without acking, the subscription opened again got the message %v after the first delivery", took.Round(100*time.Millisecond))
}

// Metadata test data.
var (
	unicodeMetadata = map[string]string{
		"unicode-latin":  "Grüße aus Köln, São Paulo, Ærøskøbing",
		"unicode-script": "選挙 ελληνικά עברית العربية हिन्दी 한국어",
		"unicode-emoji":  "🗳️✅ 👩‍👩‍👧 🇺🇸",
		"punctuation":    `  a=b; c,d "quoted" 'single' \back/slash %20 + & <tag> ` + "tab\there  ",
	}
	emptyMetadata = map[string]string{"empty-value": ""}
)

// binaryBody has every byte value, 0x00 runs and invalid UTF-8 sequences.
func binaryBody() []byte {
	var b []byte
	b = append(b, 0x00, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xed, 0xa0, 0x80, 0xc0, 0xaf)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, 0x00, '\n', 0x00)
}

func manyKeys(k int) map[string]string {
	md := make(map[string]string, k)
	for i := 1; i <= k; i++ {
		md[fmt.Sprintf("key-%d", i)] = fmt.Sprintf("value %d", i)
	}
	return md
}

// roundTrip sends one message with payload and md and compares what
// arrives. sendErr is the send's error (nothing else is checked then);
// diffs describe what arrived changed; added lists keys the backend added.
func (e *env) roundTrip(name string, body []byte, md map[string]string) (diffs, added []string, sendErr error) {
	n := e.next()
	if err := e.send(n, body, md); err != nil {
		return nil, nil, err
	}
	m, err := e.await(e.sub, n, e.o.ReceiveTimeout)
	if err != nil {
		return []string{fmt.Sprintf("%s: sent, but %s", name, e.receiveErr("it", e.o.ReceiveTimeout, err))}, nil, nil
	}
	e.ack(m, n)
	for _, d := range diffMessage(m, body, md) {
		diffs = append(diffs, name+": "+d)
	}
	for k := range m.Metadata {
		if _, ok := md[k]; !ok && k != MetadataKey {
			added = append(added, k)
		}
	}
	sort.Strings(added)
	return diffs, added, nil
}

func checkMetadata(e *env) verdict.Outcome {
	var p verdict.Problems
	addedKeys := map[string]bool{}
	one := func(name string, body []byte, md map[string]string) bool {
		diffs, added, err := e.roundTrip(name, body, md)
		if err != nil {
			p.Add("%s: the send was refused: %s", name, errText(err))
			return false
		}
		for _, d := range diffs {
			p.Add("%s", d)
		}
		for _, k := range added {
			addedKeys[k] = true
		}
		return len(diffs) == 0
	}
	one("unicode values", []byte("metadata with unicode values"), unicodeMetadata)
	one("empty value", []byte("metadata with an empty value"), emptyMetadata)
	one("binary body", binaryBody(), nil)

	// Many keys: find the most the backend accepts, from 9 down.
	var refusals []string
	worked := -1
	for _, k := range []int{9, 5, 2, 1} {
		name := fmt.Sprintf("%d keys", k)
		diffs, added, err := e.roundTrip(name, []byte(name), manyKeys(k))
		if err != nil {
			refusals = append(refusals, fmt.Sprintf("%d keys refused: %s", k, errText(err)))
			continue
		}
		for _, d := range diffs {
			p.Add("%s", d)
		}
		for _, k := range added {
			addedKeys[k] = true
		}
		if len(diffs) == 0 {
			worked = k
		}
		break
	}
	if worked < 0 && len(refusals) == 4 {
		p.Add("every many-keys message was refused (%s)", strings.Join(refusals, "; "))
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	note := fmt.Sprintf("Unicode values, an empty value and a binary body (0x00, invalid UTF-8) round-tripped; %d keys plus %s round-tripped", worked, MetadataKey)
	if len(refusals) > 0 {
		note += " (" + strings.Join(refusals, "; ") + ")"
	}
	if len(addedKeys) > 0 {
		note += "; the backend added metadata keys: " + strings.Join(slices.Sorted(maps.Keys(addedKeys)), ", ")
	}
	return verdict.Pass("%s", note)
}

// largeSizes returns the body sizes pubsub.large_message tries: the
// standard ones up to max, and max itself.
func largeSizes(max int64) []int64 {
	var out []int64
	for _, s := range []int64{64 << 10, 256 << 10, 1 << 20, 4 << 20, 10 << 20} {
		if s <= max {
			out = append(out, s)
		}
	}
	if len(out) == 0 || out[len(out)-1] != max {
		out = append(out, max)
	}
	return out
}

// largeMinimum is the size pubsub.large_message needs to pass.
const largeMinimum = 256 << 10

// filler returns size bytes of deterministic printable ASCII.
func filler(size int64, seed uint32) []byte {
	b := make([]byte, size)
	x := seed | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
		if i%100 == 99 {
			b[i] = '\n'
		}
	}
	return b
}

func checkLargeMessage(e *env) verdict.Outcome {
	var largest int64
	var refusal string
	for _, size := range largeSizes(e.o.LargeMessageMax) {
		n := e.next()
		// The whole body, prefix line included, is size bytes.
		head := int64(len(BodyPrefix) + len(e.tag(n)) + 1)
		body := filler(max(size-head, 0), uint32(size))
		start := time.Now()
		if err := e.send(n, body, nil); err != nil {
			if e.ctx.Err() != nil {
				return verdict.Fail("sending %s: %s", sizeText(size), errText(err))
			}
			refusal = fmt.Sprintf("%s refused: %s", sizeText(size), errText(err))
			break
		}
		m, err := e.await(e.sub, n, e.o.ReceiveTimeout)
		if err != nil {
			return verdict.Fail("the send of %s succeeded, but %s (largest round-trip before: %s)", sizeText(size), e.receiveErr("the message", e.o.ReceiveTimeout, err), sizeText(largest))
		}
		e.ack(m, n)
		if got := payload(m); !bytes.Equal(got, body) {
			return verdict.Fail("the send of %s succeeded, but the message arrived changed: %s", sizeText(size), diffBytes(got, body))
		}
		e.o.Logf("%s: %s round-tripped in %v", e.capName, sizeText(size), time.Since(start).Round(time.Millisecond))
		largest = size
	}
	need := min(int64(largeMinimum), e.o.LargeMessageMax)
	note := fmt.Sprintf("largest round-trip %s", sizeText(largest))
	if refusal != "" {
		note += "; " + refusal
	} else {
		note += " (the largest tried, Options.LargeMessageMax)"
	}
	if largest < need {
		return verdict.Unsupported("%s; at least %s is needed", note, sizeText(need))
	}
	return verdict.Pass("%s", note)
}

// sizeText is "256 KiB", "1 MiB", or bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// diffBytes describes how got differs from want.
func diffBytes(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	switch {
	case len(got) < len(want) && i == len(got):
		return fmt.Sprintf("got %d bytes, want %d (truncated: the first %d match)", len(got), len(want), len(got))
	case len(got) != len(want):
		return fmt.Sprintf("got %d bytes, want %d (first difference at offset %d)", len(got), len(want), i)
	}
	return fmt.Sprintf("%d bytes, first difference at offset %d: got 0x%02x, want 0x%02x", len(got), i, got[i], want[i])
}

func checkOrdering(e *env) verdict.Outcome {
	const n = orderingMessages
	for i := 1; i <= n; i++ {
		if err := e.send(strconv.Itoa(i), fmt.Appendf(nil, "ordering message %d of %d", i, n), nil); err != nil {
			return verdict.Fail("sending ordering message %d of %d: %s", i, n, errText(err))
		}
	}
	seen := make([]bool, n+1)
	var order []int
	dups := 0
	for len(order) < n {
		m, id, err := e.receive(e.sub, e.o.ReceiveTimeout)
		if err != nil {
			var missing []int
			for i := 1; i <= n; i++ {
				if !seen[i] {
					missing = append(missing, i)
				}
			}
			return verdict.Fail("%d of %d ordering messages received; %s; missing: %s",
				len(order), n, e.receiveErr("the next one", e.o.ReceiveTimeout, err), listInts(missing, 10))
		}
		e.ack(m, id)
		i, perr := strconv.Atoi(id)
		if perr != nil || i < 1 || i > n {
			continue
		}
		if seen[i] {
			dups++
			continue
		}
		seen[i] = true
		order = append(order, i)
	}
	late := 0
	first := ""
	hi := 0
	for pos, i := range order {
		if i < hi {
			late++
			if first == "" {
				first = fmt.Sprintf("#%d arrived after #%d (position %d)", i, hi, pos+1)
			}
		}
		hi = max(hi, i)
	}
	dupNote := ""
	if dups > 0 {
		dupNote = fmt.Sprintf("; %d redeliveries ignored", dups)
	}
	if late == 0 {
		return verdict.Pass("%d messages sent one after another by one publisher arrived at one receiver in send order%s", n, dupNote)
	}
	evidence := fmt.Sprintf("order not kept: %d of %d messages arrived after a message sent later; first: %s; arrival order starts %s%s",
		late, n, first, listInts(order[:min(len(order), 12)], 12), dupNote)
	if e.o.Ordered {
		return verdict.Fail("%s (Options.Ordered says the backend promises order)", evidence)
	}
	return verdict.Unsupported("%s (gocloud's portable API has no ordering keys and the backend is not declared ordered: Options.Ordered)", evidence)
}

func checkDeadLetter(e *env) verdict.Outcome {
	if e.pair.DeadLetter == nil {
		return verdict.Unsupported("gocloud's portable API can neither configure nor observe a dead-letter queue; give the suite the dead-letter subscription (Pair.DeadLetter, Pair.MaxDeliveries) to measure one")
	}
	dlq, err := e.pair.DeadLetter(e.ctx)
	if err != nil {
		return verdict.Fail("opening the dead-letter subscription: %s", errText(err))
	}
	if dlq == nil {
		return verdict.Fail("Pair.DeadLetter returned a nil subscription and no error")
	}
	defer func() {
		if err := shutdownSub(e.ctx, dlq); err != nil {
			e.o.Logf("%s: shutting down the dead-letter subscription: %s", e.capName, errText(err))
		}
	}()

	n := e.next()
	if err := e.send(n, []byte("dead-letter"), nil); err != nil {
		return verdict.Fail("sending the dead-letter message: %s", errText(err))
	}

	// Watch the dead-letter subscription.
	dctx, stop := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	arrived := make(chan *pubsub.Message, 1)
	dlqErr := make(chan error, 1)
	wg.Go(func() {
		for dctx.Err() == nil {
			m, got, err := e.receiveCtx(dctx, dlq, time.Second)
			if errors.Is(err, errNoMessage) {
				continue
			}
			if err != nil {
				if dctx.Err() == nil {
					dlqErr <- err
				}
				return
			}
			if got == n {
				arrived <- m
				return
			}
			e.ack(m, got) // a duplicate of an earlier message of this check
		}
	})

	// Deliver and nack on the subscription until the message moves.
	deliveries := 0
	var firstDelivery time.Time
	lastEvent := time.Now()
	idle := e.o.ReceiveTimeout
	max := e.pair.MaxDeliveries
	for {
		select {
		case m := <-arrived:
			e.ack(m, n)
			took := time.Since(firstDelivery).Round(100 * time.Millisecond)
			switch {
			case deliveries == 0:
				return verdict.Pass("the message reached the dead-letter subscription without being delivered on the subscription")
			case max > 0 && deliveries > max:
				return verdict.Fail("the message was delivered %d times on the subscription, more than Pair.MaxDeliveries (%d), before it reached the dead-letter subscription", deliveries, max)
			case max > 0:
				return verdict.Pass("dead-lettered after %d deliveries (Pair.MaxDeliveries %d), %v after the first", deliveries, max, took)
			}
			return verdict.Pass("dead-lettered after %d deliveries, %v after the first (Pair.MaxDeliveries not set)", deliveries, took)
		case err := <-dlqErr:
			return verdict.Fail("receiving from the dead-letter subscription: %s", errText(err))
		default:
		}
		if time.Since(lastEvent) > idle {
			return verdict.Fail("the message was delivered %d times on the subscription and nacked each time, but did not reach the dead-letter subscription within %v after the last delivery", deliveries, idle)
		}
		m, got, err := e.receive(e.sub, 200*time.Millisecond)
		if errors.Is(err, errNoMessage) {
			continue
		}
		if err != nil {
			if e.ctx.Err() != nil {
				return verdict.Fail("the message was delivered %d times on the subscription and had not reached the dead-letter subscription when the check ran out of time", deliveries)
			}
			return verdict.Fail("receiving from the subscription: %s", errText(err))
		}
		if got != n {
			e.ack(m, got)
			continue
		}
		deliveries++
		lastEvent = time.Now()
		if deliveries == 1 {
			firstDelivery = lastEvent
		}
		if max > 0 && deliveries > max+1 {
			// Clearly not dead-lettered: stop the redeliveries.
			e.ack(m, n)
			return verdict.Fail("the message was delivered %d times on the subscription, more than Pair.MaxDeliveries (%d), and did not reach the dead-letter subscription", deliveries, max)
		}
		if m.Nackable() {
			m.Nack()
		} else {
			e.hold() // it comes back after the ack deadline
			idle = e.o.AckDeadline
		}
	}
}

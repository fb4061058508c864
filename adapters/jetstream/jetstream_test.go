package jetstream

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/shutdown"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
)

// pair opens a topic and a subscription through jetstream:// URLs on a fresh
// stream and consumer, and shuts them down (and deletes the stream) when t
// ends. subParams are added to the subscription URL.
func pair(t *testing.T, subParams string) (top *pubsub.Topic, subURL string, stream string) {
	t.Helper()
	ctx := testenv.Context(t)
	srv := testenv.NATS(t)
	stream = srv.StreamName("cp-test")
	subject := srv.Subject("cp.test")
	top, err := pubsub.OpenTopic(ctx, "jetstream://"+stream+"/"+subject+"?create=true")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = shutdown.Topic(context.Background(), top)
		nc, err := Connect(srv.URL)
		if err == nil {
			js, _ := jetstream.New(nc)
			_ = js.DeleteStream(context.Background(), stream)
			nc.Close()
		}
	})
	subURL = "jetstream://" + stream + "/" + srv.StreamName("worker") + "?create=true"
	if subParams != "" {
		subURL += "&" + subParams
	}
	return top, subURL, stream
}

func openSub(t *testing.T, u string) *pubsub.Subscription {
	t.Helper()
	sub, err := pubsub.OpenSubscription(testenv.Context(t), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = shutdown.Subscription(context.Background(), sub) })
	return sub
}

func deliveries(t *testing.T, m *pubsub.Message) uint64 {
	t.Helper()
	var jm jetstream.Msg
	require.True(t, m.As(&jm))
	meta, err := jm.Metadata()
	require.NoError(t, err)
	return meta.NumDelivered
}

func TestAtLeastOnceThousand(t *testing.T) {
	const n = 1000
	top, subURL, _ := pair(t, "")
	sub := openSub(t, subURL)
	ctx, cancel := context.WithTimeout(testenv.Context(t), 60*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 20 {
				errs <- top.Send(ctx, &pubsub.Message{Body: []byte(strconv.Itoa(i)), Metadata: map[string]string{"i": strconv.Itoa(i)}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	seen := map[string]int{}
	for len(seen) < n {
		m, err := sub.Receive(ctx)
		require.NoError(t, err, "received %d of %d distinct messages", len(seen), n)
		assert.Equal(t, string(m.Body), m.Metadata["i"])
		seen[string(m.Body)]++
		m.Ack()
	}
	for i := range n {
		assert.Contains(t, seen, strconv.Itoa(i))
	}
	require.NoError(t, shutdown.Subscription(ctx, sub))

	// Every ack reached the server: nothing pending, nothing unacked.
	var c jetstream.Consumer
	require.True(t, sub.As(&c))
	info, err := c.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.NumPending, "messages never delivered")
	assert.Zero(t, info.NumAckPending, "messages delivered but not acked")
	assert.EqualValues(t, n, info.AckFloor.Stream)
}

// A receiver that takes a message and dies without acking: the next
// subscription on the same durable consumer gets the message again once the
// ack wait has passed.
func TestRedeliveryAfterReceiverDies(t *testing.T) {
	top, subURL, _ := pair(t, "ack_wait=1s")
	ctx, cancel := context.WithTimeout(testenv.Context(t), 30*time.Second)
	defer cancel()
	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte("ballot-42")}))

	sub1, err := pubsub.OpenSubscription(ctx, subURL)
	require.NoError(t, err)
	m, err := sub1.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "ballot-42", string(m.Body))
	firstID := m.LoggableID
	// The receiver dies: no ack, its subscription goes away.
	dctx, dcancel := context.WithCancel(ctx)
	dcancel()
	_ = shutdown.Subscription(dctx, sub1)
	died := time.Now()

	sub2 := openSub(t, subURL)
	m2, err := sub2.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ballot-42", string(m2.Body))
	assert.Equal(t, firstID, m2.LoggableID, "same stream sequence")
	assert.EqualValues(t, 2, deliveries(t, m2))
	assert.Less(t, time.Since(died), 10*time.Second)
	m2.Ack()
	m.Ack() // the dead receiver's late ack is harmless
}

func TestNackRedelivers(t *testing.T) {
	top, subURL, _ := pair(t, "ack_wait=30s")
	sub := openSub(t, subURL)
	ctx, cancel := context.WithTimeout(testenv.Context(t), 20*time.Second)
	defer cancel()
	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte("recount")}))

	m, err := sub.Receive(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, deliveries(t, m))
	start := time.Now()
	m.Nack()
	m2, err := sub.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "recount", string(m2.Body))
	assert.EqualValues(t, 2, deliveries(t, m2))
	assert.Less(t, time.Since(start), 5*time.Second, "nack must redeliver long before ack_wait (30s)")
	m2.Ack()
}

func TestMetadataAndBodyRoundTrip(t *testing.T) {
	top, subURL, _ := pair(t, "")
	sub := openSub(t, subURL)
	ctx, cancel := context.WithTimeout(testenv.Context(t), 20*time.Second)
	defer cancel()

	md := map[string]string{
		"county":            "Ωmega – 県",
		"empty":             "",
		"edge-spaces":       "  padded  ",
		"lines":             "a\r\nb\nc",
		"looks-encoded":     "=?utf-8?b?aGk=?=",
		"percent":           "100%",
		"Nats-Msg-Id":       "ballot-7",
		"schlüssel ünicode": "wert",
		"a:b/c d":           "x",
		"__0x41__":          "literal escape text",
		"tab\tkey":          "\t",
		"emoji 🗳":           "🗳️",
	}
	for i := range 100 {
		md["k"+strconv.Itoa(i)] = strings.Repeat("v", i)
	}
	body := []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n'}
	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: body, Metadata: md}))
	m, err := sub.Receive(ctx)
	require.NoError(t, err)
	m.Ack()
	assert.Equal(t, body, m.Body)
	assert.Equal(t, md, m.Metadata)

	err = top.Send(ctx, &pubsub.Message{Body: []byte("x"), Metadata: map[string]string{"": "v"}})
	require.Error(t, err)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
	assert.Contains(t, err.Error(), "empty")
}

func TestHeaderCodec(t *testing.T) {
	keys := []string{"plain", "with space", "__0x20__", "__0x", "_", "a__0x41__b", "ü", "Nats-Msg-Id", "x:y", "__0xzz__", "__0x00 ", "__0x41", "a__0x41 "}
	enc := map[string]string{}
	for _, k := range keys {
		e := encodeKey(k)
		for _, r := range e {
			require.True(t, plainKeyRune(r), "encoded key %q has %q", e, r)
		}
		assert.Equal(t, k, decodeKey(e), "key %q via %q", k, e)
		if prev, dup := enc[e]; dup {
			t.Errorf("keys %q and %q both encode to %q", prev, k, e)
		}
		enc[e] = k
	}
	assert.Equal(t, "plain", encodeKey("plain"))
	for _, v := range []string{"", "x", " x", "x ", "\x00", "ü", "=?utf-8?b?", "=?UTF-8?B?aGk=?=", "a\r\nb"} {
		assert.Equal(t, v, decodeValue(encodeValue(v)), "value %q", v)
	}
	assert.Equal(t, "ok value", encodeValue("ok value"))
}

// FuzzKeyCodec: every key round-trips, encodes to plain runes only, and
// the plain-key shortcut agrees with the full escaping.
func FuzzKeyCodec(f *testing.F) {
	for _, k := range []string{"plain", "with space", "__0x20__", "__0x", "a__0x41__b", "ü", "Nats-Msg-Id", "civicport-signature"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if k == "" || !utf8.ValidString(k) {
			return // refused by encodeHeaders
		}
		e := encodeKey(k)
		assert.Equal(t, escapeKey(k), e, "shortcut and escaping disagree on %q", k)
		for _, r := range e {
			require.True(t, plainKeyRune(r), "encoded key %q has %q", e, r)
		}
		assert.Equal(t, k, decodeKey(e))
	})
}

func TestMissingStreamAndConsumerAreNotFound(t *testing.T) {
	srv := testenv.NATS(t)
	ctx, cancel := context.WithTimeout(testenv.Context(t), 20*time.Second)
	defer cancel()

	missing := srv.StreamName("cp-nope")
	sub := openSub(t, "jetstream://"+missing+"/reader")
	_, err := sub.Receive(ctx)
	require.Error(t, err)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	assert.Contains(t, err.Error(), strconv.Quote(missing))
	assert.Contains(t, err.Error(), "stream")

	subject := srv.Subject("cp.nope")
	top, err := pubsub.OpenTopic(ctx, "jetstream://"+missing+"/"+subject)
	require.NoError(t, err)
	defer shutdown.Topic(ctx, top)
	err = top.Send(ctx, &pubsub.Message{Body: []byte("x")})
	require.Error(t, err)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	assert.Contains(t, err.Error(), strconv.Quote(subject))

	// An existing stream without the consumer: the error names the consumer.
	_, _, stream := pair(t, "")
	sub2 := openSub(t, "jetstream://"+stream+"/ghost")
	_, err = sub2.Receive(ctx)
	require.Error(t, err)
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))
	assert.Contains(t, err.Error(), `consumer "ghost"`)
	assert.Contains(t, err.Error(), strconv.Quote(stream))
}

func TestURLErrors(t *testing.T) {
	t.Setenv(ServerEnv, "nats://127.0.0.1:1")
	ctx := context.Background()
	for _, tc := range []struct {
		name, url, want string
		sub             bool
	}{
		{"unknown topic param", "jetstream://S/a.b?colour=red", `unknown query parameter "colour"; allowed: create`, false},
		{"unknown sub param", "jetstream://S/c?ackwait=1s", `unknown query parameter "ackwait"; allowed: ack_wait, create`, true},
		{"no stream", "jetstream:///a.b", "names no stream", false},
		{"no subject", "jetstream://S", "names no subject", false},
		{"no consumer", "jetstream://S/", "names no consumer", true},
		{"slash in subject", "jetstream://S/a/b", "no '/'", false},
		{"wildcard subject", "jetstream://S/a.*", "wildcard", false},
		{"port", "jetstream://S:4222/a", "names a port", false},
		{"credentials", "jetstream://u:p@S/a", "carries credentials", false},
		{"bad bool", "jetstream://S/a?create=maybe", `invalid value "maybe" for query parameter "create"`, false},
		{"bad duration", "jetstream://S/c?create=true&ack_wait=soon", `query parameter "ack_wait"`, true},
		{"shape without create", "jetstream://S/c?ack_wait=1s", "add create=true", true},
		{"bad max_deliver", "jetstream://S/c?create=true&max_deliver=0", "max_deliver", true},
		{"dotted stream", "jetstream://a.b/c", "stream name", true},
		{"unreachable", "jetstream://S/c", "127.0.0.1:1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.sub {
				_, err = pubsub.OpenSubscription(ctx, tc.url)
			} else {
				_, err = pubsub.OpenTopic(ctx, tc.url)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), ":p@")
		})
	}
	t.Run("no server env", func(t *testing.T) {
		t.Setenv(ServerEnv, "")
		_, err := pubsub.OpenTopic(ctx, "jetstream://S/a")
		require.Error(t, err)
		assert.Contains(t, err.Error(), ServerEnv)
	})
}

// natsServerBinary finds the nats-server that scripts/test-services.sh
// installs, for the tests that need a server of their own.
func natsServerBinary() string {
	if p := os.Getenv("CIVICPORT_NATS_SERVER_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	p := testenv.Binary("nats-server")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs a private nats-server with JetStream on port, storing in dir.
func startServer(t *testing.T, bin string, port int, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return cmd
		}
		require.True(t, time.Now().Before(deadline), "nats-server on port %d did not start", port)
		time.Sleep(50 * time.Millisecond)
	}
}

// The server is killed (SIGKILL) mid-stream and restarted on the same store:
// unacked messages are delivered after the restart, and a publish made while
// the server is down completes once it is back.
func TestServerKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own nats-server")
	}
	bin := natsServerBinary()
	if bin == "" {
		msg := "nats-server binary not found (install it with " + testenv.StartCommand + ", or set CIVICPORT_NATS_SERVER_BIN)"
		if testenv.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port, dir := freePort(t), t.TempDir()
	srvCmd := startServer(t, bin, port, dir)
	server := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc, err := Connect(server)
	require.NoError(t, err)
	defer nc.Close()
	js, err := newJetStream(nc)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	top, err := OpenTopic(ctx, js, "KILL", "kill.test", &TopicOptions{Create: true})
	require.NoError(t, err)
	defer shutdown.Topic(ctx, top)
	sub, err := OpenSubscription(ctx, js, "KILL", "w", &SubscriptionOptions{Create: true,
		ConsumerConfig: &jetstream.ConsumerConfig{AckWait: 2 * time.Second}})
	require.NoError(t, err)
	defer shutdown.Subscription(ctx, sub)

	for i := range 10 {
		require.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte(strconv.Itoa(i))}))
	}
	seen := map[string]bool{}
	for len(seen) < 5 {
		m, err := sub.Receive(ctx)
		require.NoError(t, err)
		seen[string(m.Body)] = true
		m.Ack()
	}
	time.Sleep(200 * time.Millisecond) // let the acks reach the server

	require.NoError(t, srvCmd.Process.Kill())
	_, _ = srvCmd.Process.Wait()

	sent := make(chan error, 1)
	go func() { sent <- top.Send(ctx, &pubsub.Message{Body: []byte("during-outage")}) }()
	time.Sleep(500 * time.Millisecond)
	startServer(t, bin, port, dir)

	require.NoError(t, <-sent, "a publish made while the server was down")
	for len(seen) < 11 {
		m, err := sub.Receive(ctx)
		require.NoError(t, err, "have %d of 11: %v", len(seen), seen)
		seen[string(m.Body)] = true
		m.Ack()
	}
	for i := range 10 {
		assert.True(t, seen[strconv.Itoa(i)], "message %d", i)
	}
	assert.True(t, seen["during-outage"])
}

func BenchmarkPublishReceiveAck(b *testing.B) {
	srv := testenv.NATS(b)
	nc, err := Connect(srv.URL)
	require.NoError(b, err)
	defer nc.Close()
	js, err := newJetStream(nc)
	require.NoError(b, err)
	ctx := context.Background()
	stream := srv.StreamName("cp-bench")
	top, err := OpenTopic(ctx, js, stream, srv.Subject("cp.bench"), &TopicOptions{Create: true})
	require.NoError(b, err)
	defer js.DeleteStream(ctx, stream)
	defer shutdown.Topic(ctx, top)
	sub, err := OpenSubscription(ctx, js, stream, "bench", &SubscriptionOptions{Create: true})
	require.NoError(b, err)
	defer shutdown.Subscription(ctx, sub)

	body := make([]byte, 256)
	md := map[string]string{"label": "value"}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	const senders = 32
	errs := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < b.N; i += senders {
				if err := top.Send(ctx, &pubsub.Message{Body: body, Metadata: md}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range b.N {
		m, err := sub.Receive(ctx)
		if err != nil {
			b.Fatal(err)
		}
		m.Ack()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// With the consumer at MaxAckPending, pull requests wait at the server while
// messages trickle in as acks free room. None may be lost to a request the
// client has given up on (that would stall it until the 30 s ack wait).
// memStream connects to the test server and creates a fresh in-memory
// stream named after name with a topic on it; both are removed when t ends.
func memStream(t *testing.T, name string) (js jetstream.JetStream, stream string, top *pubsub.Topic) {
	t.Helper()
	srv := testenv.NATS(t)
	nc, err := Connect(srv.URL)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err = newJetStream(nc)
	require.NoError(t, err)
	stream = srv.StreamName("cp-" + name)
	top, err = OpenTopic(testenv.Context(t), js, stream, srv.Subject("cp."+name), &TopicOptions{Create: true,
		StreamConfig: &jetstream.StreamConfig{Storage: jetstream.MemoryStorage}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = shutdown.Topic(context.Background(), top)
		_ = js.DeleteStream(context.Background(), stream)
	})
	return js, stream, top
}

func TestBacklogAboveMaxAckPending(t *testing.T) {
	js, stream, top := memStream(t, "backlog")
	ctx, cancel := context.WithTimeout(testenv.Context(t), 20*time.Second)
	defer cancel()
	sub, err := OpenSubscription(ctx, js, stream, "slow", &SubscriptionOptions{Create: true,
		ConsumerConfig: &jetstream.ConsumerConfig{MaxAckPending: 50, AckWait: 30 * time.Second}})
	require.NoError(t, err)
	defer shutdown.Subscription(context.Background(), sub)

	const n = 3000
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				assert.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte(strconv.Itoa(i))}))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for len(seen) < n {
		m, err := sub.Receive(ctx)
		require.NoError(t, err, "received %d of %d", len(seen), n)
		seen[string(m.Body)] = true
		m.Ack()
	}
}

// A message over the server's max_payload is refused before it is sent,
// with InvalidArgument and the limit in the error.
func TestOversizedMessageIsAClearError(t *testing.T) {
	top, _, _ := pair(t, "")
	err := top.Send(testenv.Context(t), &pubsub.Message{Body: make([]byte, 2<<20)})
	require.Error(t, err)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))
	assert.Regexp(t, `message too large: the server accepts at most \d+ bytes per message`, err.Error())
	// The topic still works for messages that fit.
	require.NoError(t, top.Send(testenv.Context(t), &pubsub.Message{Body: make([]byte, 64<<10)}))
}

// A ReceiveBatch that finds nothing waits MaxWait for a message only on an
// idle subscription. On a busy one it returns at once, empty: gocloud wakes
// the Receive calls waiting for the messages sibling calls fetched only when
// every call of the round has returned, so a call parked in a long wait
// would hold them back for up to MaxWait.
func TestEmptyPullWaitsOnlyWhenIdle(t *testing.T) {
	js, stream, top := memStream(t, "idle")
	ctx, cancel := context.WithTimeout(testenv.Context(t), 60*time.Second)
	defer cancel()
	const maxWait = 20 * time.Second
	busy, err := openSubscription(ctx, js, stream, "busy", &SubscriptionOptions{Create: true, MaxWait: maxWait})
	require.NoError(t, err)
	idle, err := openSubscription(ctx, js, stream, "idle", &SubscriptionOptions{Create: true, MaxWait: maxWait})
	require.NoError(t, err)

	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte("burst")}))
	msgs, err := busy.ReceiveBatch(ctx, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, busy.SendAcks(ctx, []driver.AckID{msgs[0].AckID}))

	start := time.Now()
	msgs, err = busy.ReceiveBatch(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, msgs)
	assert.Less(t, time.Since(start), maxWait/2, "a busy subscription's empty pull parked in the long wait")

	// The idle consumer has its own copy of "burst". Once that is acked and
	// the burst is older than MaxWait, an empty pull parks until a message
	// arrives.
	msgs, err = idle.ReceiveBatch(ctx, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, idle.SendAcks(ctx, []driver.AckID{msgs[0].AckID}))
	idle.lastMsgs.Store(time.Now().Add(-2 * maxWait).UnixNano()) // as if the burst was long ago
	got := make(chan int, 1)
	go func() {
		msgs, err := idle.ReceiveBatch(ctx, 10)
		assert.NoError(t, err)
		got <- len(msgs)
	}()
	select {
	case n := <-got:
		t.Fatalf("an idle subscription's pull returned %d messages before any was sent, instead of waiting", n)
	case <-time.After(2 * time.Second):
	}
	require.NoError(t, top.Send(ctx, &pubsub.Message{Body: []byte("later")}))
	select {
	case n := <-got:
		assert.Equal(t, 1, n, "the waiting pull gets the message")
	case <-time.After(maxWait / 2):
		t.Fatal("the waiting pull did not return when a message arrived")
	}
}

package testenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSServer is the nats-server test server with JetStream enabled.
type NATSServer struct {
	URL     string // client URL, e.g. nats://127.0.0.1:4222
	Monitor string // monitoring base URL, e.g. http://127.0.0.1:8222
}

var natsEnvOnce sync.Once

// NATS returns the nats-server test server, skipping t if it is not running
// with JetStream. The client URL is CIVICPORT_NATS_URL, else NATS_SERVER_URL,
// else nats://127.0.0.1:4222; readiness is checked on the monitoring port
// (CIVICPORT_NATS_MONITOR, default http://127.0.0.1:8222) at
// /healthz?js-enabled-only=true. It sets NATS_SERVER_URL for the test
// process when unset, so jetstream:// URLs find the server.
func NATS(t testing.TB) NATSServer {
	t.Helper()
	n := NATSServer{
		URL:     env("CIVICPORT_NATS_URL", env("NATS_SERVER_URL", "nats://127.0.0.1:4222")),
		Monitor: strings.TrimSuffix(env("CIVICPORT_NATS_MONITOR", "http://127.0.0.1:8222"), "/"),
	}
	if err := probeHTTP(n.Monitor + "/healthz?js-enabled-only=true"); err != nil {
		unavailable(t, "nats-server (JetStream)", n.Monitor, err)
	}
	natsEnvOnce.Do(func() {
		if os.Getenv("NATS_SERVER_URL") == "" {
			os.Setenv("NATS_SERVER_URL", n.URL)
		}
	})
	return n
}

// StreamName returns a fresh JetStream stream (or consumer) name: prefix,
// upper-cased, plus a random suffix. Stream names may not contain '.', '*',
// '>', '/', '\' or whitespace; such characters in prefix become '_'.
func (NATSServer) StreamName(prefix string) string {
	name := strings.ToUpper(UniqueName(prefix))
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(".*>/\\ \t\r\n", r) {
			return '_'
		}
		return r
	}, name)
}

// Subject returns a fresh subject under prefix (e.g. "cp.test" ->
// "cp.test.1a2b3c4d5e6f").
func (NATSServer) Subject(prefix string) string {
	return prefix + "." + strings.TrimPrefix(UniqueName("x"), "x-")
}

// NewQueue names a fresh stream (after prefix), a subject and a durable
// consumer, and returns their jetstream:// URLs: topicURL publishes to the
// subject and creates the stream on first use; subURL is the consumer (add
// "?create=true&..." to the first subscription to create it). subject is
// for a consumer's filter_subject.
func (n NATSServer) NewQueue(prefix string) (topicURL, subURL, subject string) {
	stream := n.StreamName(prefix)
	subject = n.Subject("civicport.test")
	return "jetstream://" + stream + "/" + subject + "?create=true", "jetstream://" + stream + "/" + n.StreamName("consumer"), subject
}

// DeleteStreamAtCleanup deletes the JetStream stream when the test ends,
// logging (not failing) when it cannot.
func (n NATSServer) DeleteStreamAtCleanup(t testing.TB, stream string) {
	t.Cleanup(func() {
		nc, err := nats.Connect(n.URL)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = js.DeleteStream(ctx, stream)
		}
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Logf("cleanup: deleting stream %s: %v", stream, err)
		}
	})
}

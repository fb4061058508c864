package testenv

import (
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Rabbit is the RabbitMQ test broker (AMQP 0-9-1).
type Rabbit struct {
	URL string // amqp://guest:guest@127.0.0.1:5672/
}

var rabbitEnvOnce sync.Once

// RabbitMQ returns the RabbitMQ test broker (RABBIT_SERVER_URL, default
// amqp://guest:guest@127.0.0.1:5672/), skipping t (or failing it when
// services are required) if an AMQP connection cannot be opened. It sets
// RABBIT_SERVER_URL for the test process when unset, so gocloud's rabbit://
// URLs find the broker (gocloud's default opener reads it when it first
// dials, then keeps that connection for the process).
func RabbitMQ(t testing.TB) Rabbit {
	t.Helper()
	r := Rabbit{URL: env("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")}
	if err := probeAMQP(r.URL); err != nil {
		unavailable(t, "RabbitMQ", redactURL(r.URL), err)
	}
	rabbitEnvOnce.Do(func() {
		if os.Getenv("RABBIT_SERVER_URL") == "" {
			os.Setenv("RABBIT_SERVER_URL", r.URL)
		}
	})
	return r
}

// probeAMQP opens (and closes) an AMQP connection; cached per URL for the
// process, like probeHTTP.
func probeAMQP(u string) error {
	key := "amqp " + u
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probeCache[key]; ok {
		return err
	}
	conn, err := dialAMQP(u)
	if err == nil {
		conn.Close()
	}
	probeCache[key] = err
	return err
}

func dialAMQP(u string) (*amqp.Connection, error) {
	return amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dial opens a raw AMQP connection to the broker (for set-up and checks that
// bypass gocloud); it is closed when t ends.
func (r Rabbit) Dial(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := dialAMQP(r.URL)
	if err != nil {
		t.Fatalf("RabbitMQ dial %s: %v", redactURL(r.URL), err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// NewExchangeAndQueue declares a fanout exchange and a durable queue bound to
// it, both uniquely named, and deletes them when t ends. gocloud's
// rabbitpubsub publishes to the exchange (TopicURL) and consumes from the
// queue (SubscriptionURL).
func (r Rabbit) NewExchangeAndQueue(t testing.TB) (exchange, queue string) {
	t.Helper()
	exchange, queue = UniqueName("cp-ex"), UniqueName("cp-q")
	conn, err := dialAMQP(r.URL)
	if err != nil {
		t.Fatalf("RabbitMQ dial %s: %v", redactURL(r.URL), err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("RabbitMQ channel: %v", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		t.Fatalf("RabbitMQ declare exchange %s: %v", exchange, err)
	}
	t.Cleanup(func() {
		r.cleanup(t, func(ch *amqp.Channel) error { return ch.ExchangeDelete(exchange, false, false) })
	})
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatalf("RabbitMQ declare queue %s: %v", queue, err)
	}
	t.Cleanup(func() {
		r.cleanup(t, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(queue, false, false, false); return err })
	})
	if err := ch.QueueBind(queue, "", exchange, false, nil); err != nil {
		t.Fatalf("RabbitMQ bind queue %s to exchange %s: %v", queue, exchange, err)
	}
	return exchange, queue
}

func (r Rabbit) cleanup(t testing.TB, f func(*amqp.Channel) error) {
	conn, err := dialAMQP(r.URL)
	if err != nil {
		t.Logf("cleanup: RabbitMQ dial: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err == nil {
		err = f(ch)
	}
	if err != nil {
		t.Logf("cleanup: RabbitMQ: %v", err)
	}
}

// TopicURL is the gocloud rabbit:// URL that publishes to exchange.
func (Rabbit) TopicURL(exchange string) string { return "rabbit://" + exchange }

// SubscriptionURL is the gocloud rabbit:// URL that consumes from queue.
func (Rabbit) SubscriptionURL(queue string) string { return "rabbit://" + queue }

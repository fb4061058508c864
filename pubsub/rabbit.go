package pubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	amqp "github.com/rabbitmq/amqp091-go"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/rabbitpubsub"

	"github.com/civicport/civicport/internal/driveradapter"
)

// openRabbitSubscription opens a rabbit:// subscription on an AMQP
// connection of its own, closed when the subscription is shut down.
//
// gocloud's rabbitpubsub shares one connection per process, and shutting a
// subscription down releases nothing: the messages it had received and not
// acked stay delivered to its channel, not redelivered, until the process
// exits. A receiver that stops (a bridge restarted in the same process, the
// conformance suite's receiver_crash) would strand them. Closing the
// connection makes RabbitMQ requeue them at once, as when a process dies.
func openRabbitSubscription(ctx context.Context, u *url.URL) (*gcpubsub.Subscription, error) {
	server := os.Getenv("RABBIT_SERVER_URL")
	if server == "" {
		return nil, errors.New("RABBIT_SERVER_URL is not set; want amqp://USER:PASSWORD@HOST:PORT/VHOST")
	}
	conn, err := amqp.Dial(server)
	if err != nil {
		return nil, fmt.Errorf("connect to RabbitMQ: %w", err)
	}
	sub, err := (&rabbitpubsub.URLOpener{Connection: conn}).OpenSubscriptionURL(ctx, u)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return gcpubsub.NewSubscription(&ownConnection{Subscription: driveradapter.Subscription(sub), conn: conn}, driveradapter.ReceiveBatching(), nil), nil
}

// ownConnection is a subscription that closes its AMQP connection last.
type ownConnection struct {
	driver.Subscription
	conn *amqp.Connection
}

func (s *ownConnection) Close() error {
	err := s.Subscription.Close()
	if cerr := s.conn.Close(); cerr != nil && !errors.Is(cerr, amqp.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	return err
}

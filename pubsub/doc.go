// Package pubsub opens any topic or subscription civicport supports by URL
// and returns gocloud.dev's portable *pubsub.Topic and *pubsub.Subscription.
//
// Results reporting and registration updates move as messages; during a
// cutover they must not be lost, counted twice, forged or left behind on the
// old provider. What a provider switch needs on top of the portable types
// lives in packages that import no provider, so that a program using one of
// them does not link every broker's SDK: pubsub/dedup (deduplication),
// pubsub/sign (signed messages with a quarantine), pubsub/bridge (drain one
// provider's subscription into another's topic), pubsub/fanout (dual
// publishing) and pubsub/meta (the metadata keys they share). They take and
// return gocloud's own types, so code written against gocloud.dev works
// unchanged; the examples show opening here and decorating there.
//
// Schemes registered by importing this package:
//
//	awssns:///ARN?region=R                     AWS SNS topic (publish only)
//	awssqs://HOST/ACCOUNT/QUEUE?region=R       AWS SQS queue (topic and subscription);
//	                                           endpoint=http://H:P for an SQS-compatible server
//	gcppubsub://projects/P/topics/T            Google Cloud Pub/Sub topic
//	gcppubsub://projects/P/subscriptions/S     ... and subscription (PUBSUB_EMULATOR_HOST honoured)
//	jetstream://STREAM/SUBJECT                 NATS JetStream, at-least-once (adapters/jetstream)
//	jetstream://STREAM/CONSUMER                ... durable pull consumer
//	rabbit://EXCHANGE, rabbit://QUEUE          RabbitMQ (RABBIT_SERVER_URL)
//	mem://TOPIC                                in-process topic; subscribe with mem://TOPIC too
//
// A rabbit:// subscription gets an AMQP connection of its own, closed when
// it is shut down, so that RabbitMQ requeues what it had not acked (gocloud's
// shared connection would keep those messages until the process exits).
//
// gocloud's nats:// driver (core NATS, at-most-once) is deliberately not
// registered: a message published while no subscriber listens is lost.
//
// Decorators stacked on each other, or on civicport's own JetStream driver,
// talk to the driver underneath directly rather than through one more
// gocloud portable layer each (see internal/driveradapter.TopicDriver), so
// a dedup.Wrap(sign.Verify(sub)) on JetStream costs little more than the checks
// themselves (BenchmarkDecorated in pubsub/sign).
//
// Open is lazy, like gocloud.dev: most backends contact the server only on
// the first Send or Receive. Errors never contain credentials.
package pubsub

package profile

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/wire"
	gcblob "gocloud.dev/blob"
	gcpubsub "gocloud.dev/pubsub"
	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/adapters/pkcs11"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
	"github.com/civicport/civicport/secrets"
)

// Stack is what a profile opens: gocloud's own portable types.
type Stack struct {
	Bucket       *gcblob.Bucket
	Keeper       *gcsecrets.Keeper
	Topic        *gcpubsub.Topic
	Subscription *gcpubsub.Subscription

	closeOnce sync.Once
	cleanup   func()
}

// NewStack gathers the four into a Stack (the Wire sets' final provider).
// Its Close does nothing: whoever opened the four closes them (Open and the
// OpenAWS... functions set Close to their cleanup).
func NewStack(b *gcblob.Bucket, k *gcsecrets.Keeper, t *gcpubsub.Topic, s *gcpubsub.Subscription) *Stack {
	return &Stack{Bucket: b, Keeper: k, Topic: t, Subscription: s}
}

// Close shuts down the subscription and the topic and closes the keeper and
// the bucket, in that order, once. Errors on the way are dropped (Topic.Send
// is synchronous, so nothing already sent successfully is lost).
func (s *Stack) Close() {
	s.closeOnce.Do(func() {
		if s.cleanup != nil {
			s.cleanup()
		}
	})
}

// withCleanup makes Close run cleanup, and returns Close as the cleanup.
func (s *Stack) withCleanup(cleanup func()) (*Stack, func(), error) {
	s.cleanup = cleanup
	return s, s.Close, nil
}

// shutdownTimeout bounds how long a cleanup waits for a topic or
// subscription to shut down.
const shutdownTimeout = 30 * time.Second

// Provider sets, one per profile, for github.com/google/wire. Each provides
// *blob.Bucket, *secrets.Keeper, *pubsub.Topic, *pubsub.Subscription (each
// with a cleanup) and *Stack from a context.Context and the profile's
// config struct; use them in your own injectors, or call OpenAWS etc.
var (
	AWSSet    = wire.NewSet(AWSBucket, AWSKeeper, AWSTopic, AWSSubscription, NewStack)
	GCPSet    = wire.NewSet(GCPBucket, GCPKeeper, GCPTopic, GCPSubscription, NewStack)
	OnPremSet = wire.NewSet(OnPremBucket, OnPremKeeper, OnPremTopic, OnPremSubscription, NewStack)
	LocalSet  = wire.NewSet(LocalBucket, LocalKeeper, LocalTopic, LocalSubscription, NewStack)
)

// Open validates c and opens the selected profile's stack. The returned
// cleanup (the same as Stack.Close) releases everything; call it when done.
// Most backends connect lazily, on first use: a server that is down shows
// up then (jetstream and rabbit connect at once).
func Open(ctx context.Context, c Config) (*Stack, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	switch c.Profile {
	case AWS:
		return OpenAWS(ctx, c.AWS)
	case GCP:
		return OpenGCP(ctx, c.GCP)
	case OnPrem:
		return OpenOnPrem(ctx, c.OnPrem)
	default:
		return OpenLocal(ctx, c.Local)
	}
}

// OpenAWS opens the aws profile's stack (see Open).
func OpenAWS(ctx context.Context, c AWSConfig) (*Stack, func(), error) {
	s, cleanup, err := injectAWS(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return s.withCleanup(cleanup)
}

// OpenGCP opens the gcp profile's stack (see Open).
func OpenGCP(ctx context.Context, c GCPConfig) (*Stack, func(), error) {
	s, cleanup, err := injectGCP(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return s.withCleanup(cleanup)
}

// OpenOnPrem opens the onprem profile's stack (see Open).
func OpenOnPrem(ctx context.Context, c OnPremConfig) (*Stack, func(), error) {
	s, cleanup, err := injectOnPrem(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return s.withCleanup(cleanup)
}

// OpenLocal opens the local profile's stack (see Open).
func OpenLocal(ctx context.Context, c LocalConfig) (*Stack, func(), error) {
	s, cleanup, err := injectLocal(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return s.withCleanup(cleanup)
}

// The helpers below open one URL through civicport's Open functions and
// return the matching cleanup; errors are prefixed with the profile.

func openBucket(ctx context.Context, profile, u string) (*gcblob.Bucket, func(), error) {
	b, err := blob.Open(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: %w", profile, err)
	}
	return b, func() { _ = b.Close() }, nil
}

func keeperCleanup(k *gcsecrets.Keeper) func() { return func() { _ = k.Close() } }

func openKeeper(ctx context.Context, profile, u string) (*gcsecrets.Keeper, func(), error) {
	k, err := secrets.Open(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: %w", profile, err)
	}
	return k, keeperCleanup(k), nil
}

func topicCleanup(t *gcpubsub.Topic) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = shutdown.Topic(ctx, t)
	}
}

func openTopic(ctx context.Context, profile, u string) (*gcpubsub.Topic, func(), error) {
	t, err := pubsub.OpenTopic(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: %w", profile, err)
	}
	return t, topicCleanup(t), nil
}

func openSubscription(ctx context.Context, profile, u string) (*gcpubsub.Subscription, func(), error) {
	s, err := pubsub.OpenSubscription(ctx, u)
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: %w", profile, err)
	}
	return s, func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = shutdown.Subscription(ctx, s)
	}, nil
}

// AWSBucket opens the aws profile's S3 bucket.
func AWSBucket(ctx context.Context, c AWSConfig) (*gcblob.Bucket, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openBucket(ctx, AWS, c.urls().Bucket)
}

// AWSKeeper opens the aws profile's KMS keeper.
func AWSKeeper(ctx context.Context, c AWSConfig) (*gcsecrets.Keeper, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openKeeper(ctx, AWS, c.urls().Keeper)
}

// AWSTopic opens the aws profile's topic: the SNS topic if sns_topic_arn is
// set, else the SQS queue.
func AWSTopic(ctx context.Context, c AWSConfig) (*gcpubsub.Topic, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openTopic(ctx, AWS, c.urls().Topic)
}

// AWSSubscription opens the aws profile's SQS subscription.
func AWSSubscription(ctx context.Context, c AWSConfig) (*gcpubsub.Subscription, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openSubscription(ctx, AWS, c.urls().Subscription)
}

// GCPBucket opens the gcp profile's Cloud Storage bucket.
func GCPBucket(ctx context.Context, c GCPConfig) (*gcblob.Bucket, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openBucket(ctx, GCP, c.urls().Bucket)
}

// GCPKeeper opens the gcp profile's Cloud KMS keeper.
func GCPKeeper(ctx context.Context, c GCPConfig) (*gcsecrets.Keeper, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openKeeper(ctx, GCP, c.urls().Keeper)
}

// GCPTopic opens the gcp profile's Pub/Sub topic.
func GCPTopic(ctx context.Context, c GCPConfig) (*gcpubsub.Topic, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openTopic(ctx, GCP, c.urls().Topic)
}

// GCPSubscription opens the gcp profile's Pub/Sub subscription.
func GCPSubscription(ctx context.Context, c GCPConfig) (*gcpubsub.Subscription, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openSubscription(ctx, GCP, c.urls().Subscription)
}

// OnPremBucket opens the onprem profile's bucket (s3:// with the endpoint,
// or minio://).
func OnPremBucket(ctx context.Context, c OnPremConfig) (*gcblob.Bucket, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openBucket(ctx, OnPrem, c.urls().Bucket)
}

// OnPremKeeper opens the onprem profile's PKCS#11 keeper. The PIN comes
// from pkcs11_pin_file, or the variable pkcs11_pin_env names (default
// PKCS11_PIN); it never appears in a URL or an error.
func OnPremKeeper(ctx context.Context, c OnPremConfig) (*gcsecrets.Keeper, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if c.PKCS11Module == "" && os.Getenv(pkcs11.EnvModule) == "" {
		return nil, nil, &FieldError{Profile: OnPrem, Field: "pkcs11_module", Problem: "$" + pkcs11.EnvModule + " is unset too",
			Want: "the absolute path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so"}
	}
	if c.PKCS11PINFile == "" {
		env := c.PKCS11PINEnv
		if env == "" {
			env = pkcs11.EnvPIN
		}
		if os.Getenv(env) == "" {
			return nil, nil, &FieldError{Profile: OnPrem, Field: "pkcs11_pin_env", Value: c.PKCS11PINEnv, Problem: "$" + env + " is unset or empty",
				Want: "the user PIN in $" + env + ", or pkcs11_pin_file naming a file holding it"}
		}
	}
	if c.pinFromURL() {
		return openKeeper(ctx, OnPrem, c.urls().Keeper)
	}
	// The adapter's URL reads only $PKCS11_PIN or pin_file=; a PIN from
	// another variable goes in through its Options instead.
	pin := strings.TrimRight(os.Getenv(c.PKCS11PINEnv), "\r\n")
	k, err := pkcs11.OpenKeeper(ctx, pkcs11.Options{Module: c.PKCS11Module, Token: c.PKCS11Token, Key: c.PKCS11Key, PIN: pin, Create: c.PKCS11CreateKey})
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: open keeper %s: %w", OnPrem, secrets.RedactURL(c.keeperURL()), err)
	}
	return k, keeperCleanup(k), nil
}

// OnPremTopic opens the onprem profile's JetStream or RabbitMQ topic.
func OnPremTopic(ctx context.Context, c OnPremConfig) (*gcpubsub.Topic, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openTopic(ctx, OnPrem, c.urls().Topic)
}

// OnPremSubscription opens the onprem profile's JetStream or RabbitMQ
// subscription. It takes the topic so that Wire opens the topic first (with
// jetstream_create, the topic creates the stream).
func OnPremSubscription(ctx context.Context, c OnPremConfig, _ *gcpubsub.Topic) (*gcpubsub.Subscription, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openSubscription(ctx, OnPrem, c.urls().Subscription)
}

// LocalBucket opens the local profile's directory bucket.
func LocalBucket(ctx context.Context, c LocalConfig) (*gcblob.Bucket, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	u, err := c.dirURL()
	if err != nil {
		return nil, nil, err
	}
	if !c.CreateDir {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			problem := "not a directory"
			if err != nil {
				problem = errText(err)
			}
			return nil, nil, &FieldError{Profile: Local, Field: "dir", Value: c.Dir, Problem: problem, Want: "an existing directory (or set create_dir)"}
		}
	}
	return openBucket(ctx, Local, u)
}

// LocalKeeper opens the local profile's keeper on the key from key_file or
// key_env.
func LocalKeeper(ctx context.Context, c LocalConfig) (*gcsecrets.Keeper, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	u, err := c.urls()
	if err != nil {
		return nil, nil, err
	}
	return openKeeper(ctx, Local, u.Keeper)
}

// LocalTopic opens the local profile's in-process topic, mem://TOPIC.
// gocloud keeps mem topics by name for the life of the process (a second
// open returns the same topic), so the cleanup leaves the topic open: a
// later OpenLocal with the same topic works again.
func LocalTopic(ctx context.Context, c LocalConfig) (*gcpubsub.Topic, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	t, _, err := openTopic(ctx, Local, "mem://"+c.topic())
	if err != nil {
		return nil, nil, err
	}
	return t, func() {}, nil
}

// LocalSubscription subscribes to the local profile's topic. It takes the
// topic because a mem subscription can only be opened once its topic
// exists, and gets only messages sent after it was opened.
func LocalSubscription(ctx context.Context, c LocalConfig, _ *gcpubsub.Topic) (*gcpubsub.Subscription, func(), error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return openSubscription(ctx, Local, "mem://"+c.topic())
}

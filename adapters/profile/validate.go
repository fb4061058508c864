package profile

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/civicport/civicport/internal/redact"
)

// FieldError says which field of which profile is wrong, what it holds and
// what was expected. Validate returns them (joined with errors.Join when
// there are several); find one with errors.As.
type FieldError struct {
	Profile string // "aws", "gcp", "onprem", "local"; "" for the field "profile"
	Field   string // JSON field name, e.g. "region"
	Value   string // the value given ("" for empty); URLs redacted
	Problem string // what is wrong besides the value, if anything
	Want    string // what is expected
	Env     string // the environment variable that set the field, if one did
	Hidden  bool   // the value is withheld: it may be a secret
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Profile != "" {
		fmt.Fprintf(&b, "profile %s: ", e.Profile)
	}
	fmt.Fprintf(&b, "field %q: ", e.Field)
	if e.Hidden {
		b.WriteString("got a value not shown here (it may be a secret)")
	} else if e.Value == "" {
		b.WriteString("empty")
	} else {
		fmt.Fprintf(&b, "got %q", e.Value)
	}
	if e.Env != "" {
		fmt.Fprintf(&b, " (from $%s)", e.Env)
	}
	if e.Problem != "" {
		b.WriteString(": " + e.Problem)
	}
	if e.Want != "" {
		b.WriteString("; want " + e.Want)
	}
	return b.String()
}

// checker collects the FieldErrors of one profile.
type checker struct {
	profile string
	env     map[string]string
	errs    []error
}

func (c *checker) fail(field, value, problem, want string) {
	c.errs = append(c.errs, &FieldError{Profile: c.profile, Field: field, Value: value, Problem: problem, Want: want, Env: c.env[field]})
}

// match checks value against re; empty values fail only when required.
func (c *checker) match(field, value string, required bool, re *regexp.Regexp, want string) {
	if value == "" {
		if required {
			c.fail(field, "", "", want)
		}
		return
	}
	if !re.MatchString(value) {
		c.fail(field, value, "", want)
	}
}

// oneOf checks value is one of allowed ("" allowed when not required).
func (c *checker) oneOf(field, value string, required bool, allowed ...string) {
	if value == "" && !required {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	c.fail(field, value, "", "one of "+strings.Join(allowed, ", "))
}

// endpoint checks an http(s)://HOST[:PORT] base URL.
func (c *checker) endpoint(field, value string, required bool, example string) {
	want := "an http:// or https:// base URL such as " + example
	if value == "" {
		if required {
			c.fail(field, "", "", want)
		}
		return
	}
	shown := redact.URL(value)
	if shown == redact.Mask && !strings.Contains(value, "@") {
		shown = value // unparsable, but holds no user info to hide
	}
	u, err := url.Parse(value)
	switch {
	case err != nil:
		c.fail(field, shown, "not a URL", want)
	case u.Scheme != "http" && u.Scheme != "https":
		c.fail(field, shown, "scheme is not http or https", want)
	case u.Host == "" || u.Hostname() == "":
		c.fail(field, shown, "no host", want)
	case u.User != nil:
		c.fail(field, shown, "credentials in the URL (they belong in the environment)", want)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		c.fail(field, shown, "has a path, query or fragment", want)
	case u.Port() != "" && !validPort(u.Port()):
		c.fail(field, shown, "bad port", want)
	}
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// hostPort checks HOST:PORT.
func (c *checker) hostPort(field, value string, want string) {
	if value == "" {
		return
	}
	h, p, err := net.SplitHostPort(value)
	if err != nil || h == "" || !validPort(p) || strings.ContainsAny(value, "/?#@ ") {
		c.fail(field, redact.URL(value), "", want)
	}
}

// envName checks the name of an environment variable.
// A bad value is not shown: it may be the secret itself, put where its
// variable's name belongs.
func (c *checker) envName(field, value string) {
	if value != "" && !envNameRE.MatchString(value) {
		c.errs = append(c.errs, &FieldError{Profile: c.profile, Field: field, Hidden: true, Env: c.env[field],
			Problem: "not a variable name", Want: "the name of an environment variable (letters, digits, _), not its value"})
	}
}

// path checks a file system path (absolute when abs).
func (c *checker) path(field, value string, required, abs bool, want string) {
	if value == "" {
		if required {
			c.fail(field, "", "", want)
		}
		return
	}
	if strings.ContainsRune(value, 0) || strings.TrimSpace(value) != value {
		c.fail(field, value, "control character or surrounding space", want)
		return
	}
	if abs && !filepath.IsAbs(value) {
		c.fail(field, value, "not an absolute path", want)
	}
}

var (
	awsRegionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	s3BucketRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	awsKMSKeyRE   = regexp.MustCompile(`^(alias/[A-Za-z0-9/_-]+|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$`)
	sqsQueueRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$|^[A-Za-z0-9_-]{1,75}\.fifo$`)
	snsTopicARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	awsProfileRE  = regexp.MustCompile(`^[A-Za-z0-9_.+@-]+$`)

	gcpProjectRE = regexp.MustCompile(`^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	gcsBucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
	gcpKMSKeyRE  = regexp.MustCompile(`^(projects/[^/\s]+/)?locations/[A-Za-z0-9_-]+/keyRings/[A-Za-z0-9_-]{1,63}/cryptoKeys/[A-Za-z0-9_-]{1,63}$`)
	gcpTopicRE   = regexp.MustCompile(`^(projects/[^/\s]+/topics/)?[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
	gcpSubRE     = regexp.MustCompile(`^(projects/[^/\s]+/subscriptions/)?[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)

	regionRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	hostLabelRE  = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,32}$`)
	jsNameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	jsSubjectRE  = regexp.MustCompile(`^[^./*>\s]+(\.[^./*>\s]+)*$`)
	amqpNameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	memTopicRE   = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	keyLabelWant = "the label of an AES-256 key on the token (no '/' or control characters)"
)

// Validate checks the selected profile's settings without contacting any
// service or reading any secret. It returns nil, or one *FieldError per bad
// field joined with errors.Join; each names the profile, the field, the
// value (URLs with credentials redacted) and what was expected.
func (c Config) Validate() error {
	switch c.Profile {
	case AWS:
		return c.AWS.validate(c.env)
	case GCP:
		return c.GCP.validate(c.env)
	case OnPrem:
		return c.OnPrem.validate(c.env)
	case Local:
		return c.Local.validate(c.env)
	}
	want := "one of " + strings.Join(Names(), ", ")
	if c.Profile == "" {
		want += fmt.Sprintf(" (set \"profile\" in the file or $%s)", EnvProfile)
	}
	return &FieldError{Field: "profile", Value: c.Profile, Want: want, Env: c.env["profile"]}
}

// Validate checks the aws profile's settings (see Config.Validate).
func (a AWSConfig) Validate() error { return a.validate(nil) }

func (a AWSConfig) validate(env map[string]string) error {
	c := &checker{profile: AWS, env: env}
	c.match("region", a.Region, true, awsRegionRE, "an AWS region such as us-east-1")
	c.match("bucket", a.Bucket, true, s3BucketRE, "an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'")
	c.match("kms_key", a.KMSKey, true, awsKMSKeyRE, "a KMS key id, key ARN, alias/NAME or alias ARN")
	c.sqsQueueURL("queue_url", a.QueueURL)
	c.match("sns_topic_arn", a.SNSTopicARN, false, snsTopicARNRE, "an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:results")
	c.match("aws_profile", a.SharedConfigProfile, false, awsProfileRE, "the name of a profile in the AWS shared config files")
	c.endpoint("s3_endpoint", a.S3Endpoint, false, "http://127.0.0.1:9000")
	c.endpoint("kms_endpoint", a.KMSEndpoint, false, "http://127.0.0.1:8081")
	c.endpoint("sqs_endpoint", a.SQSEndpoint, false, "http://127.0.0.1:4566")
	c.endpoint("sns_endpoint", a.SNSEndpoint, false, "http://127.0.0.1:4566")
	return errors.Join(c.errs...)
}

func (c *checker) sqsQueueURL(field, value string) {
	want := "an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/results"
	if value == "" {
		c.fail(field, "", "", want)
		return
	}
	shown := redact.URL(value)
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		c.fail(field, shown, "", want)
		return
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || !sqsQueueRE.MatchString(parts[1]) {
		c.fail(field, shown, "path is not /ACCOUNT/QUEUE", want)
	}
}

// Validate checks the gcp profile's settings (see Config.Validate).
func (g GCPConfig) Validate() error { return g.validate(nil) }

func (g GCPConfig) validate(env map[string]string) error {
	c := &checker{profile: GCP, env: env}
	c.match("project", g.Project, true, gcpProjectRE, "a Google Cloud project id such as county-elections (6-30 lower-case letters, digits, '-')")
	c.match("bucket", g.Bucket, true, gcsBucketRE, "a Cloud Storage bucket name: lower-case letters, digits, '-', '_' and '.'")
	c.match("kms_key", g.KMSKey, true, gcpKMSKeyRE, "a Cloud KMS key name projects/P/locations/L/keyRings/R/cryptoKeys/K (or locations/L/keyRings/R/cryptoKeys/K)")
	c.hostPort("kms_endpoint", g.KMSEndpoint, "HOST:PORT of a Cloud KMS-compatible gRPC server")
	c.match("topic", g.Topic, true, gcpTopicRE, "a Pub/Sub topic id (or projects/P/topics/T)")
	c.match("subscription", g.Subscription, true, gcpSubRE, "a Pub/Sub subscription id (or projects/P/subscriptions/S)")
	for field, v := range map[string]string{"topic": g.Topic, "subscription": g.Subscription} {
		if strings.HasPrefix(v, "goog") {
			c.fail(field, v, "ids starting with \"goog\" are reserved", "another id")
		}
	}
	return errors.Join(c.errs...)
}

// Validate checks the onprem profile's settings (see Config.Validate).
func (o OnPremConfig) Validate() error { return o.validate(nil) }

func (o OnPremConfig) validate(env map[string]string) error {
	c := &checker{profile: OnPrem, env: env}
	c.endpoint("s3_endpoint", o.S3Endpoint, true, "http://10.0.0.5:9000")
	c.match("bucket", o.Bucket, true, s3BucketRE, "a bucket name: 3-63 lower-case letters, digits, '.' and '-'")
	c.match("region", o.Region, false, regionRE, "the region the server expects, such as us-east-1 (the default)")
	c.oneOf("blob_driver", o.BlobDriver, false, "s3", "minio")

	c.path("pkcs11_module", o.PKCS11Module, false, true, "the absolute path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so (default $PKCS11_MODULE)")
	c.match("pkcs11_token", o.PKCS11Token, true, hostLabelRE, "the token label: 1-32 letters, digits, '.', '_', '~' or '-'")
	switch {
	case o.PKCS11Key == "":
		c.fail("pkcs11_key", "", "", keyLabelWant)
	case strings.Contains(o.PKCS11Key, "/") || strings.IndexFunc(o.PKCS11Key, unicode.IsControl) >= 0:
		c.fail("pkcs11_key", o.PKCS11Key, "", keyLabelWant)
	}
	c.envName("pkcs11_pin_env", o.PKCS11PINEnv)
	c.path("pkcs11_pin_file", o.PKCS11PINFile, false, false, "a file whose first line is the user PIN")
	if o.PKCS11PINEnv != "" && o.PKCS11PINFile != "" {
		c.fail("pkcs11_pin_file", o.PKCS11PINFile, "pkcs11_pin_env is set too", "only one of pkcs11_pin_env and pkcs11_pin_file")
	}

	c.oneOf("messaging", o.Messaging, true, "jetstream", "rabbit")
	switch o.Messaging {
	case "jetstream":
		c.match("jetstream_stream", o.JetStreamStream, true, jsNameRE, "a JetStream stream name (letters, digits, '_', '-')")
		c.match("jetstream_subject", o.JetStreamSubject, true, jsSubjectRE, "a NATS subject such as results.county (dot-separated tokens, no wildcards, '/' or spaces)")
		c.match("jetstream_consumer", o.JetStreamConsumer, true, jsNameRE, "a durable consumer name (letters, digits, '_', '-')")
	case "rabbit":
		c.match("rabbit_exchange", o.RabbitExchange, true, amqpNameRE, "a RabbitMQ exchange name (letters, digits, '.', '_', '-')")
		c.match("rabbit_queue", o.RabbitQueue, true, amqpNameRE, "a RabbitMQ queue name (letters, digits, '.', '_', '-')")
	}
	return errors.Join(c.errs...)
}

// Validate checks the local profile's settings (see Config.Validate).
func (l LocalConfig) Validate() error { return l.validate(nil) }

func (l LocalConfig) validate(env map[string]string) error {
	c := &checker{profile: Local, env: env}
	c.path("dir", l.Dir, true, false, "the directory holding the objects")
	c.path("key_file", l.KeyFile, false, false, "a file holding a base64-encoded 32-byte key")
	c.envName("key_env", l.KeyEnv)
	if l.KeyEnv != "" && l.KeyFile != "" {
		c.fail("key_file", l.KeyFile, "key_env is set too", "only one of key_env and key_file")
	}
	c.match("topic", l.Topic, false, memTopicRE, "an in-process topic name (letters, digits, '.', '_', '-', '/'); default "+DefaultLocalTopic)
	return errors.Join(c.errs...)
}

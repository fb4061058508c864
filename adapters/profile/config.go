package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Profile names.
const (
	AWS    = "aws"
	GCP    = "gcp"
	OnPrem = "onprem"
	Local  = "local"
)

// Names lists the profile names, in the order the documentation uses.
func Names() []string { return []string{AWS, GCP, OnPrem, Local} }

// EnvPrefix starts every environment variable Load reads: CIVICPORT_PROFILE
// selects the profile, and CIVICPORT_<FIELD> (the JSON field name in upper
// case) sets that field of the selected profile.
const EnvPrefix = "CIVICPORT_"

// EnvProfile names the environment variable that selects the profile.
const EnvProfile = EnvPrefix + "PROFILE"

// DefaultLocalKeyEnv is the variable the local profile reads its key from
// when neither key_env nor key_file is set.
const DefaultLocalKeyEnv = "CIVICPORT_LOCAL_KEY"

// DefaultLocalTopic is the local profile's topic when none is set.
const DefaultLocalTopic = "civicport"

// Config selects a profile and holds the settings of each. Only the section
// of the selected profile is used (and validated); a file may carry several.
//
// Its JSON form, read by Load and ReadFile:
//
//	{"profile": "aws", "aws": {"region": "us-east-1", "bucket": "records", ...}}
type Config struct {
	Profile string       `json:"profile"`
	AWS     AWSConfig    `json:"aws"`
	GCP     GCPConfig    `json:"gcp"`
	OnPrem  OnPremConfig `json:"onprem"`
	Local   LocalConfig  `json:"local"`

	// env records, per JSON field name ("profile", "region", ...), the
	// environment variable that set it, for error messages.
	env map[string]string
}

// AWSConfig is the aws profile: S3, KMS, and SQS (optionally fed by SNS).
// Credentials come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE / aws_profile, an instance role...),
// never from this configuration.
type AWSConfig struct {
	// Region is the AWS region of every service, e.g. "us-east-1". Required.
	Region string `json:"region"`
	// Bucket is the S3 bucket name. Required.
	Bucket string `json:"bucket"`
	// KMSKey is the KMS key: a key id, a key ARN, "alias/NAME" or an alias
	// ARN. Required.
	KMSKey string `json:"kms_key"`
	// QueueURL is the SQS queue URL the subscription reads
	// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME); the topic sends to it
	// too unless SNSTopicARN is set. Required.
	QueueURL string `json:"queue_url"`
	// SNSTopicARN, if set, is the SNS topic the topic publishes to
	// (subscribe QueueURL to it, with raw message delivery).
	SNSTopicARN string `json:"sns_topic_arn"`
	// SharedConfigProfile is a profile of the AWS shared config files
	// (~/.aws/config); empty means the SDK's default (AWS_PROFILE).
	SharedConfigProfile string `json:"aws_profile"`
	// S3Endpoint, KMSEndpoint, SQSEndpoint and SNSEndpoint override the
	// service endpoints (http(s)://HOST[:PORT]), for S3-, KMS- or
	// SQS-compatible servers such as MinIO, local-kms or fauxqs. With
	// S3Endpoint set, path-style addressing is used.
	S3Endpoint  string `json:"s3_endpoint"`
	KMSEndpoint string `json:"kms_endpoint"`
	SQSEndpoint string `json:"sqs_endpoint"`
	SNSEndpoint string `json:"sns_endpoint"`
}

// GCPConfig is the gcp profile: Cloud Storage, Cloud KMS and Pub/Sub.
// Credentials are Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the metadata server); emulators
// are found through STORAGE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST.
type GCPConfig struct {
	// Project is the Google Cloud project id. Required.
	Project string `json:"project"`
	// Bucket is the Cloud Storage bucket name. Required.
	Bucket string `json:"bucket"`
	// KMSKey is the Cloud KMS key: its full resource name
	// projects/P/locations/L/keyRings/R/cryptoKeys/K, or
	// locations/L/keyRings/R/cryptoKeys/K in Project. Required.
	KMSKey string `json:"kms_key"`
	// KMSEndpoint, if set, is the HOST:PORT of a Cloud KMS-compatible gRPC
	// server (plaintext without credentials on a loopback address, TLS with
	// the default credentials elsewhere).
	KMSEndpoint string `json:"kms_endpoint"`
	// Topic is the Pub/Sub topic: an id in Project or
	// projects/P/topics/T. Required.
	Topic string `json:"topic"`
	// Subscription is the Pub/Sub subscription: an id in Project or
	// projects/P/subscriptions/S. Required.
	Subscription string `json:"subscription"`
}

// OnPremConfig is the onprem profile: an S3-compatible server (MinIO,
// versitygw, Ceph...), a PKCS#11 HSM, and NATS JetStream or RabbitMQ.
//
// Secrets come from the environment: S3 credentials from AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY (with blob_driver "minio", MINIO_ACCESS_KEY and
// MINIO_SECRET_KEY first); the HSM PIN from the variable pkcs11_pin_env names
// (default PKCS11_PIN) or the file pkcs11_pin_file names; the NATS server
// (with any credentials) from NATS_SERVER_URL; the RabbitMQ server from
// RABBIT_SERVER_URL.
type OnPremConfig struct {
	// S3Endpoint is the server's base URL, http(s)://HOST:PORT. Required.
	S3Endpoint string `json:"s3_endpoint"`
	// Bucket is the bucket name. Required.
	Bucket string `json:"bucket"`
	// Region is the region the server expects; default "us-east-1".
	Region string `json:"region"`
	// BlobDriver is "s3" (the default: gocloud's s3blob, path-style) or
	// "minio" (civicport's native minio:// adapter, with object lock).
	BlobDriver string `json:"blob_driver"`

	// PKCS11Module is the PKCS#11 library; default $PKCS11_MODULE.
	PKCS11Module string `json:"pkcs11_module"`
	// PKCS11Token is the token label. Required.
	PKCS11Token string `json:"pkcs11_token"`
	// PKCS11Key is the label of the AES-256 key on the token. Required.
	PKCS11Key string `json:"pkcs11_key"`
	// PKCS11PINEnv names the variable holding the user PIN; default
	// PKCS11_PIN. Set at most one of PKCS11PINEnv and PKCS11PINFile.
	PKCS11PINEnv string `json:"pkcs11_pin_env"`
	// PKCS11PINFile is a file whose first line is the user PIN.
	PKCS11PINFile string `json:"pkcs11_pin_file"`
	// PKCS11CreateKey generates the key on the token if no key has the label.
	PKCS11CreateKey bool `json:"pkcs11_create_key"`

	// Messaging is "jetstream" or "rabbit". Required.
	Messaging string `json:"messaging"`
	// JetStreamStream is the stream, JetStreamSubject the subject the topic
	// publishes to (captured by the stream), JetStreamConsumer the durable
	// consumer the subscription reads. Required with messaging "jetstream".
	JetStreamStream   string `json:"jetstream_stream"`
	JetStreamSubject  string `json:"jetstream_subject"`
	JetStreamConsumer string `json:"jetstream_consumer"`
	// JetStreamCreate creates a missing stream (capturing the subject) and
	// consumer (filtered on the subject); meant for tests and first
	// deployments.
	JetStreamCreate bool `json:"jetstream_create"`
	// RabbitExchange is the exchange the topic publishes to, RabbitQueue the
	// queue (bound to it) the subscription reads. Required with messaging
	// "rabbit".
	RabbitExchange string `json:"rabbit_exchange"`
	RabbitQueue    string `json:"rabbit_queue"`
}

// LocalConfig is the local profile: a directory, a local AES-256 key and an
// in-process topic. It needs no server.
type LocalConfig struct {
	// Dir is the directory holding the bucket's objects. Required.
	Dir string `json:"dir"`
	// CreateDir creates Dir if it is missing.
	CreateDir bool `json:"create_dir"`
	// KeyFile is a file holding the key: 32 bytes, base64-encoded (standard
	// or URL alphabet, e.g. from `openssl rand -base64 32`).
	KeyFile string `json:"key_file"`
	// KeyEnv names the variable holding the key (base64, as KeyFile) when
	// KeyFile is empty; default CIVICPORT_LOCAL_KEY.
	KeyEnv string `json:"key_env"`
	// Topic names the in-process topic (gocloud mem://); default
	// "civicport". Other code in the process can subscribe to mem://TOPIC.
	Topic string `json:"topic"`
}

// section returns the struct of the named profile, or nil.
func (c *Config) section(name string) any {
	switch name {
	case AWS:
		return &c.AWS
	case GCP:
		return &c.GCP
	case OnPrem:
		return &c.OnPrem
	case Local:
		return &c.Local
	}
	return nil
}

// Load reads the profile configuration: the JSON file at path (skipped when
// path is ""), then the environment (CIVICPORT_PROFILE and CIVICPORT_<FIELD>,
// which win over the file), and validates the result.
func Load(path string) (Config, error) {
	var c Config
	if path != "" {
		var err error
		if c, err = ReadFile(path); err != nil {
			return Config{}, err
		}
	}
	if err := c.ApplyEnv(os.LookupEnv); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ReadFile reads a JSON configuration file without looking at the
// environment and without validating it. Unknown fields are errors naming
// the field.
func ReadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("profile config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("profile config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a JSON configuration (see Config). Unknown fields, in the top
// level or in a profile's section, are errors naming the field and listing
// the known ones.
func Parse(data []byte) (Config, error) {
	var c Config
	var top map[string]json.RawMessage
	if err := strictDecode(data, &top); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset)
			return Config{}, fmt.Errorf("line %d, column %d: not JSON: %v", line, col, err)
		case errors.As(err, &te):
			return Config{}, fmt.Errorf("got a JSON %s; want a JSON object such as {\"profile\": \"local\", \"local\": {...}}", te.Value)
		}
		return Config{}, err
	}
	if top == nil {
		return Config{}, errors.New("want a JSON object such as {\"profile\": \"local\", \"local\": {...}}")
	}
	known := jsonFields(reflect.TypeFor[Config]())
	for _, k := range sortedKeys(top) {
		if !slices.Contains(known, k) {
			return Config{}, fmt.Errorf("unknown field %q; known fields: %s", k, strings.Join(known, ", "))
		}
	}
	if raw, ok := top["profile"]; ok {
		if err := json.Unmarshal(raw, &c.Profile); err != nil {
			return Config{}, fmt.Errorf("field \"profile\": want a string, one of %s", strings.Join(Names(), ", "))
		}
	}
	for _, name := range Names() {
		raw, ok := top[name]
		if !ok {
			continue
		}
		sec := c.section(name)
		if err := strictDecode(raw, sec); err != nil {
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &te) && te.Field == "":
				return Config{}, fmt.Errorf("field %q: got a JSON %s; want an object of %s settings", name, te.Value, name)
			case errors.As(err, &te):
				return Config{}, fmt.Errorf("%s: field %q: got a JSON %s; want a %s", name, te.Field, te.Value, te.Type)
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				f := strings.TrimPrefix(err.Error(), "json: unknown field ")
				return Config{}, fmt.Errorf("%s: unknown field %s; known fields: %s", name, f,
					strings.Join(jsonFields(reflect.TypeOf(sec).Elem()), ", "))
			}
			return Config{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return c, nil
}

// position is the 1-based line and column of byte offset off in data
// (json.SyntaxError.Offset counts the bytes read, so the bad one is last).
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 1), int64(len(data)))
	before := data[:off-1]
	line = 1 + bytes.Count(before, []byte("\n"))
	return line, int(off) - bytes.LastIndexByte(before, '\n') - 1
}

func strictDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file; want a JSON object")
		}
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value; want a single object")
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonFields lists the JSON names of t's exported fields, in order.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// EnvVar returns the environment variable that sets the JSON field of a
// profile: "CIVICPORT_" + the field name in upper case.
func EnvVar(field string) string { return EnvPrefix + strings.ToUpper(field) }

// EnvVars lists, for profile name, the variables ApplyEnv reads (besides
// CIVICPORT_PROFILE), in field order; nil for an unknown profile.
func EnvVars(name string) []string {
	var c Config
	sec := c.section(name)
	if sec == nil {
		return nil
	}
	var out []string
	for _, f := range jsonFields(reflect.TypeOf(sec).Elem()) {
		out = append(out, EnvVar(f))
	}
	return out
}

// ApplyEnv overrides c with the environment, as lookup (os.LookupEnv) sees
// it: CIVICPORT_PROFILE sets the profile, then CIVICPORT_<FIELD> sets each
// field of the selected profile (e.g. CIVICPORT_BUCKET sets aws.bucket
// under the aws profile, gcp.bucket under gcp). Variables set to "" are
// ignored, as are those of fields the selected profile does not have.
// Boolean fields take true/false/1/0.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	if v, ok := lookup(EnvProfile); ok && v != "" {
		c.Profile = v
		c.setFrom("profile", EnvProfile)
	}
	sec := c.section(c.Profile)
	if sec == nil {
		return nil // Validate names the profile
	}
	rv := reflect.ValueOf(sec).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		env := EnvVar(name)
		v, ok := lookup(env)
		if !ok || v == "" {
			continue
		}
		fv := rv.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(v)
		case reflect.Bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return &FieldError{Profile: c.Profile, Field: name, Value: v, Env: env, Want: "true or false"}
			}
			fv.SetBool(b)
		default:
			panic("profile: field kind " + fv.Kind().String())
		}
		c.setFrom(name, env)
	}
	return nil
}

func (c *Config) setFrom(field, env string) {
	if c.env == nil {
		c.env = map[string]string{}
	}
	c.env[field] = env
}

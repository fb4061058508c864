package profile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
)

func goodAWS() profile.Config {
	return profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{
		Region:   "us-east-1",
		Bucket:   "county-records",
		KMSKey:   "alias/elections",
		QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/results",
	}}
}

func goodGCP() profile.Config {
	return profile.Config{Profile: profile.GCP, GCP: profile.GCPConfig{
		Project:      "county-elections",
		Bucket:       "county-records",
		KMSKey:       "locations/us/keyRings/elections/cryptoKeys/records",
		Topic:        "results",
		Subscription: "results-tabulator",
	}}
}

func goodOnPrem() profile.Config {
	return profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
		S3Endpoint:        "http://10.0.0.5:9000",
		Bucket:            "county-records",
		PKCS11Module:      "/usr/lib/softhsm/libsofthsm2.so",
		PKCS11Token:       "county-hsm",
		PKCS11Key:         "elections",
		Messaging:         "jetstream",
		JetStreamStream:   "RESULTS",
		JetStreamSubject:  "results.county",
		JetStreamConsumer: "tabulator",
	}}
}

func goodLocal() profile.Config {
	return profile.Config{Profile: profile.Local, Local: profile.LocalConfig{Dir: "/srv/records"}}
}

func TestValidateAcceptsGoodConfigs(t *testing.T) {
	for name, c := range map[string]profile.Config{
		"aws": goodAWS(), "gcp": goodGCP(), "onprem": goodOnPrem(), "local": goodLocal(),
		"aws with sns and endpoints": func() profile.Config {
			c := goodAWS()
			c.AWS.SNSTopicARN = "arn:aws:sns:us-east-1:123456789012:results"
			c.AWS.S3Endpoint, c.AWS.KMSEndpoint = "http://127.0.0.1:9100", "http://127.0.0.1:8081/"
			c.AWS.SQSEndpoint, c.AWS.SNSEndpoint = "http://127.0.0.1:4566", "https://sns.example.org"
			c.AWS.KMSKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
			return c
		}(),
		"aws key id": func() profile.Config { c := goodAWS(); c.AWS.KMSKey = "1234abcd-12ab-34cd-56ef-1234567890ab"; return c }(),
		"gcp full names": func() profile.Config {
			c := goodGCP()
			c.GCP.KMSKey = "projects/other-project/locations/global/keyRings/r/cryptoKeys/k"
			c.GCP.Topic, c.GCP.Subscription = "projects/p-123456/topics/results", "projects/p-123456/subscriptions/s-1"
			c.GCP.KMSEndpoint = "127.0.0.1:9010"
			return c
		}(),
		"onprem rabbit minio": func() profile.Config {
			c := goodOnPrem()
			c.OnPrem.Messaging, c.OnPrem.RabbitExchange, c.OnPrem.RabbitQueue = "rabbit", "results", "tabulator"
			c.OnPrem.BlobDriver, c.OnPrem.PKCS11PINFile = "minio", "/run/secrets/hsm-pin"
			return c
		}(),
	} {
		assert.NoError(t, c.Validate(), name)
	}
}

// TestValidateRejectsBadFields: every bad field is named, with the bad value
// and what was expected.
func TestValidateRejectsBadFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  func() profile.Config
		set   func(*profile.Config)
		field string
		value string // the value the message must show ("" for empty)
		want  string // a part of the expectation
	}{
		{"aws region empty", goodAWS, func(c *profile.Config) { c.AWS.Region = "" }, "region", "", "an AWS region such as us-east-1"},
		{"aws region bad", goodAWS, func(c *profile.Config) { c.AWS.Region = "US East" }, "region", "US East", "us-east-1"},
		{"aws bucket empty", goodAWS, func(c *profile.Config) { c.AWS.Bucket = "" }, "bucket", "", "S3 bucket name"},
		{"aws bucket bad", goodAWS, func(c *profile.Config) { c.AWS.Bucket = "County_Records" }, "bucket", "County_Records", "S3 bucket name"},
		{"aws kms_key empty", goodAWS, func(c *profile.Config) { c.AWS.KMSKey = "" }, "kms_key", "", "alias/NAME"},
		{"aws kms_key bad", goodAWS, func(c *profile.Config) { c.AWS.KMSKey = "elections" }, "kms_key", "elections", "alias/NAME"},
		{"aws queue_url empty", goodAWS, func(c *profile.Config) { c.AWS.QueueURL = "" }, "queue_url", "", "SQS queue URL"},
		{"aws queue_url not a URL", goodAWS, func(c *profile.Config) { c.AWS.QueueURL = "results" }, "queue_url", "results", "SQS queue URL"},
		{"aws queue_url no account", goodAWS, func(c *profile.Config) { c.AWS.QueueURL = "https://sqs.us-east-1.amazonaws.com/results" }, "queue_url", "https://sqs.us-east-1.amazonaws.com/results", "/ACCOUNT/QUEUE"},
		{"aws sns_topic_arn bad", goodAWS, func(c *profile.Config) { c.AWS.SNSTopicARN = "results" }, "sns_topic_arn", "results", "SNS topic ARN"},
		{"aws aws_profile bad", goodAWS, func(c *profile.Config) { c.AWS.SharedConfigProfile = "my profile" }, "aws_profile", "my profile", "shared config"},
		{"aws s3_endpoint no scheme", goodAWS, func(c *profile.Config) { c.AWS.S3Endpoint = "127.0.0.1:9000" }, "s3_endpoint", "127.0.0.1:9000", "http:// or https://"},
		{"aws kms_endpoint path", goodAWS, func(c *profile.Config) { c.AWS.KMSEndpoint = "http://h:1/x" }, "kms_endpoint", "http://h:1/x", "base URL"},
		{"aws sqs_endpoint port", goodAWS, func(c *profile.Config) { c.AWS.SQSEndpoint = "http://h:99999" }, "sqs_endpoint", "http://h:99999", "base URL"},
		{"aws sns_endpoint ftp", goodAWS, func(c *profile.Config) { c.AWS.SNSEndpoint = "ftp://h" }, "sns_endpoint", "ftp://h", "http:// or https://"},

		{"gcp project empty", goodGCP, func(c *profile.Config) { c.GCP.Project = "" }, "project", "", "project id"},
		{"gcp project bad", goodGCP, func(c *profile.Config) { c.GCP.Project = "County Elections" }, "project", "County Elections", "project id"},
		{"gcp bucket empty", goodGCP, func(c *profile.Config) { c.GCP.Bucket = "" }, "bucket", "", "Cloud Storage bucket"},
		{"gcp bucket bad", goodGCP, func(c *profile.Config) { c.GCP.Bucket = "gs://records" }, "bucket", "gs://records", "Cloud Storage bucket"},
		{"gcp kms_key empty", goodGCP, func(c *profile.Config) { c.GCP.KMSKey = "" }, "kms_key", "", "cryptoKeys/K"},
		{"gcp kms_key bad", goodGCP, func(c *profile.Config) { c.GCP.KMSKey = "keyRings/r/cryptoKeys/k" }, "kms_key", "keyRings/r/cryptoKeys/k", "cryptoKeys/K"},
		{"gcp kms_endpoint bad", goodGCP, func(c *profile.Config) { c.GCP.KMSEndpoint = "http://127.0.0.1:9010" }, "kms_endpoint", "http://127.0.0.1:9010", "HOST:PORT"},
		{"gcp topic empty", goodGCP, func(c *profile.Config) { c.GCP.Topic = "" }, "topic", "", "Pub/Sub topic"},
		{"gcp topic bad", goodGCP, func(c *profile.Config) { c.GCP.Topic = "projects/p/subscriptions/s" }, "topic", "projects/p/subscriptions/s", "Pub/Sub topic"},
		{"gcp topic reserved", goodGCP, func(c *profile.Config) { c.GCP.Topic = "google-results" }, "topic", "google-results", "another id"},
		{"gcp subscription empty", goodGCP, func(c *profile.Config) { c.GCP.Subscription = "" }, "subscription", "", "Pub/Sub subscription"},
		{"gcp subscription bad", goodGCP, func(c *profile.Config) { c.GCP.Subscription = "1st" }, "subscription", "1st", "Pub/Sub subscription"},

		{"onprem s3_endpoint empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.S3Endpoint = "" }, "s3_endpoint", "", "http://10.0.0.5:9000"},
		{"onprem s3_endpoint bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.S3Endpoint = "minio:9000" }, "s3_endpoint", "minio:9000", "http:// or https://"},
		{"onprem bucket empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.Bucket = "" }, "bucket", "", "bucket name"},
		{"onprem bucket bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.Bucket = "a" }, "bucket", "a", "bucket name"},
		{"onprem region bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.Region = "us east" }, "region", "us east", "region"},
		{"onprem blob_driver bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.BlobDriver = "ceph" }, "blob_driver", "ceph", "one of s3, minio"},
		{"onprem pkcs11_module relative", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11Module = "libsofthsm2.so" }, "pkcs11_module", "libsofthsm2.so", "absolute path"},
		{"onprem pkcs11_token empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11Token = "" }, "pkcs11_token", "", "token label"},
		{"onprem pkcs11_token bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11Token = "county hsm" }, "pkcs11_token", "county hsm", "token label"},
		{"onprem pkcs11_key empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11Key = "" }, "pkcs11_key", "", "AES-256 key"},
		{"onprem pkcs11_key slash", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11Key = "a/b" }, "pkcs11_key", "a/b", "no '/'"},
		{"onprem pkcs11_pin_file and env", goodOnPrem, func(c *profile.Config) { c.OnPrem.PKCS11PINEnv, c.OnPrem.PKCS11PINFile = "HSM_PIN", "/run/pin" }, "pkcs11_pin_file", "/run/pin", "only one of"},
		{"onprem messaging empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.Messaging = "" }, "messaging", "", "one of jetstream, rabbit"},
		{"onprem messaging bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.Messaging = "kafka" }, "messaging", "kafka", "one of jetstream, rabbit"},
		{"onprem jetstream_stream empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamStream = "" }, "jetstream_stream", "", "stream name"},
		{"onprem jetstream_stream bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamStream = "RESULTS.2026" }, "jetstream_stream", "RESULTS.2026", "stream name"},
		{"onprem jetstream_subject empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamSubject = "" }, "jetstream_subject", "", "NATS subject"},
		{"onprem jetstream_subject wildcard", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamSubject = "results.*" }, "jetstream_subject", "results.*", "no wildcards"},
		{"onprem jetstream_consumer empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamConsumer = "" }, "jetstream_consumer", "", "consumer name"},
		{"onprem jetstream_consumer bad", goodOnPrem, func(c *profile.Config) { c.OnPrem.JetStreamConsumer = "tab ulator" }, "jetstream_consumer", "tab ulator", "consumer name"},
		{"onprem rabbit_exchange empty", goodOnPrem, func(c *profile.Config) { c.OnPrem.Messaging, c.OnPrem.RabbitQueue = "rabbit", "q" }, "rabbit_exchange", "", "exchange name"},
		{"onprem rabbit_queue bad", goodOnPrem, func(c *profile.Config) {
			c.OnPrem.Messaging, c.OnPrem.RabbitExchange, c.OnPrem.RabbitQueue = "rabbit", "x", "a:b"
		}, "rabbit_queue", "a:b", "queue name"},

		{"local dir empty", goodLocal, func(c *profile.Config) { c.Local.Dir = "" }, "dir", "", "directory"},
		{"local dir spaces", goodLocal, func(c *profile.Config) { c.Local.Dir = " /srv/records" }, "dir", " /srv/records", "directory"},
		{"local key_file and key_env", goodLocal, func(c *profile.Config) { c.Local.KeyFile, c.Local.KeyEnv = "/k", "K" }, "key_file", "/k", "only one of"},
		{"local topic bad", goodLocal, func(c *profile.Config) { c.Local.Topic = "results?x=1" }, "topic", "results?x=1", "topic name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base()
			tc.set(&c)
			err := c.Validate()
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, "profile "+c.Profile+": ")
			assert.Contains(t, msg, `field "`+tc.field+`"`)
			if tc.value == "" {
				assert.Contains(t, msg, `field "`+tc.field+`": empty`)
			} else {
				assert.Contains(t, msg, `got "`+tc.value+`"`)
			}
			assert.Contains(t, msg, "; want ")
			assert.Contains(t, msg, tc.want)
			var fe *profile.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Equal(t, c.Profile, fe.Profile)
		})
	}
}

func TestValidateUnknownProfile(t *testing.T) {
	err := profile.Config{Profile: "azure"}.Validate()
	require.Error(t, err)
	assert.Equal(t, `field "profile": got "azure"; want one of aws, gcp, onprem, local`, err.Error())

	err = profile.Config{}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "profile": empty; want one of aws, gcp, onprem, local`)
	assert.Contains(t, err.Error(), "$CIVICPORT_PROFILE")
}

func TestValidateReportsEveryBadField(t *testing.T) {
	c := goodAWS()
	c.AWS.Region, c.AWS.Bucket = "", "B"
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "region"`)
	assert.Contains(t, err.Error(), `field "bucket"`)
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 2)
}

func TestValidateHidesCredentials(t *testing.T) {
	c := goodOnPrem()
	c.OnPrem.S3Endpoint = "http://admin:hunter22@10.0.0.5:9000/x"
	c.OnPrem.PKCS11PINEnv = "123456" // the PIN itself, where its variable's name belongs
	err := c.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter22")
	assert.NotContains(t, err.Error(), "123456")
	assert.Contains(t, err.Error(), `field "s3_endpoint"`)
	assert.Contains(t, err.Error(), `field "pkcs11_pin_env": got a value not shown here`)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.json")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestParseRejectsUnknownFields(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"profil": "aws"}`, `unknown field "profil"; known fields: profile, aws, gcp, onprem, local`},
		{`{"profile": "aws", "aws": {"regoin": "us-east-1"}}`, `aws: unknown field "regoin"; known fields: region, bucket,`},
		{`{"profile": "onprem", "onprem": {"pkcs11_pin": "1234"}}`, `onprem: unknown field "pkcs11_pin"`},
		{`{"local": {"create_dir": "yes"}}`, `local: field "create_dir": got a JSON string; want a bool`},
		{`{"profile": 3}`, `field "profile": want a string`},
		{`{"aws": 3}`, `field "aws": got a JSON number; want an object of aws settings`},
		{`{"profile": "aws"} {}`, `more than one JSON value`},
		{``, `empty file`},
		{`[]`, `got a JSON array; want a JSON object such as {"profile"`},
		{`not json`, `line 1, column 2: not JSON: invalid character 'o'`},
		{"{\n  \"profile\": \"aws\",\n  \"aws\": {\"region\": \"us-east-1\",}\n}", `line 3, column 33: not JSON: invalid character '}'`},
	} {
		_, err := profile.ReadFile(writeFile(t, tc.json))
		require.Error(t, err, tc.json)
		assert.Contains(t, err.Error(), tc.want, tc.json)
		assert.Contains(t, err.Error(), "profile.json", "the error names the file")
	}
}

// clearEnv unsets every variable the package reads, for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	vars := []string{profile.EnvProfile, profile.DefaultLocalKeyEnv}
	for _, p := range profile.Names() {
		vars = append(vars, profile.EnvVars(p)...)
	}
	for _, v := range vars {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestLoadEnvOverridesFile(t *testing.T) {
	clearEnv(t)
	path := writeFile(t, `{
	  "profile": "aws",
	  "aws": {"region": "us-east-1", "bucket": "from-file", "kms_key": "alias/elections",
	          "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/results"},
	  "local": {"dir": "/srv/from-file", "topic": "file-topic"}
	}`)
	c, err := profile.Load(path)
	require.NoError(t, err)
	assert.Equal(t, "from-file", c.AWS.Bucket)

	t.Setenv("CIVICPORT_BUCKET", "from-env")
	t.Setenv("CIVICPORT_REGION", "eu-west-1")
	t.Setenv("CIVICPORT_S3_ENDPOINT", "") // empty: ignored
	c, err = profile.Load(path)
	require.NoError(t, err)
	assert.Equal(t, profile.AWS, c.Profile)
	assert.Equal(t, "from-env", c.AWS.Bucket)
	assert.Equal(t, "eu-west-1", c.AWS.Region)
	assert.Equal(t, "alias/elections", c.AWS.KMSKey, "kept from the file")
	assert.Empty(t, c.AWS.S3Endpoint)

	// CIVICPORT_PROFILE picks another section; the same variables then set its fields.
	t.Setenv("CIVICPORT_PROFILE", "local")
	t.Setenv("CIVICPORT_DIR", "/srv/from-env")
	t.Setenv("CIVICPORT_CREATE_DIR", "true")
	c, err = profile.Load(path)
	require.NoError(t, err)
	assert.Equal(t, profile.Local, c.Profile)
	assert.Equal(t, profile.LocalConfig{Dir: "/srv/from-env", CreateDir: true, Topic: "file-topic"}, c.Local)
	assert.Equal(t, "from-file", c.AWS.Bucket, "CIVICPORT_BUCKET applies to the selected profile only")
}

func TestLoadEnvOnly(t *testing.T) {
	clearEnv(t)
	t.Setenv("CIVICPORT_PROFILE", "gcp")
	t.Setenv("CIVICPORT_PROJECT", "county-elections")
	t.Setenv("CIVICPORT_BUCKET", "county-records")
	t.Setenv("CIVICPORT_KMS_KEY", "locations/us/keyRings/elections/cryptoKeys/records")
	t.Setenv("CIVICPORT_TOPIC", "results")
	t.Setenv("CIVICPORT_SUBSCRIPTION", "results-tabulator")
	c, err := profile.Load("")
	require.NoError(t, err)
	assert.Equal(t, goodGCP(), withoutEnv(c))
}

// withoutEnv drops the record of which variables set which fields.
func withoutEnv(c profile.Config) profile.Config {
	return profile.Config{Profile: c.Profile, AWS: c.AWS, GCP: c.GCP, OnPrem: c.OnPrem, Local: c.Local}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	clearEnv(t)
	_, err := profile.Load("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "profile": empty`)

	t.Setenv("CIVICPORT_PROFILE", "aws ")
	_, err = profile.Load("")
	assert.EqualError(t, err, `field "profile": got "aws " (from $CIVICPORT_PROFILE); want one of aws, gcp, onprem, local`)

	t.Setenv("CIVICPORT_PROFILE", "local")
	t.Setenv("CIVICPORT_DIR", "/srv/records")
	t.Setenv("CIVICPORT_CREATE_DIR", "maybe")
	_, err = profile.Load("")
	assert.EqualError(t, err, `profile local: field "create_dir": got "maybe" (from $CIVICPORT_CREATE_DIR); want true or false`)

	t.Setenv("CIVICPORT_CREATE_DIR", "1")
	t.Setenv("CIVICPORT_TOPIC", "a b")
	_, err = profile.Load("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `profile local: field "topic": got "a b" (from $CIVICPORT_TOPIC); want an in-process topic name`)

	_, err = profile.Load(filepath.Join(t.TempDir(), "missing.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}

// TestDocsListEveryVariable: the package doc and the README document every
// variable Load reads.
func TestDocsListEveryVariable(t *testing.T) {
	vars := []string{profile.EnvProfile, profile.DefaultLocalKeyEnv, "PKCS11_PIN", "PKCS11_MODULE",
		"NATS_SERVER_URL", "RABBIT_SERVER_URL", "STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"}
	for _, p := range profile.Names() {
		vars = append(vars, profile.EnvVars(p)...)
	}
	for _, file := range []string{"doc.go", "README.md"} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, v := range vars {
			assert.Contains(t, string(b), v, "%s documents %s", file, v)
		}
	}
	assert.Equal(t, []string{"CIVICPORT_DIR", "CIVICPORT_CREATE_DIR", "CIVICPORT_KEY_FILE", "CIVICPORT_KEY_ENV", "CIVICPORT_TOPIC"},
		profile.EnvVars(profile.Local))
	assert.Nil(t, profile.EnvVars("azure"))
}

func TestDescribe(t *testing.T) {
	c := goodAWS()
	c.AWS.S3Endpoint = "http://127.0.0.1:9100"
	c.AWS.SNSTopicARN = "arn:aws:sns:us-east-1:123456789012:results"
	d, err := profile.Describe(c)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"profile:      aws",
		"bucket:       s3://county-records?endpoint=http%3A%2F%2F127.0.0.1%3A9100&region=us-east-1&use_path_style=true",
		"keeper:       awskms:///alias/elections?region=us-east-1",
		"topic:        awssns:///arn:aws:sns:us-east-1:123456789012:results?region=us-east-1",
		"subscription: awssqs://sqs.us-east-1.amazonaws.com/123456789012/results?region=us-east-1",
		""}, "\n"), d)

	d, err = profile.Describe(goodGCP())
	require.NoError(t, err)
	assert.Contains(t, d, "keeper:       gcpkms://projects/county-elections/locations/us/keyRings/elections/cryptoKeys/records\n")
	assert.Contains(t, d, "topic:        gcppubsub://projects/county-elections/topics/results\n")
	assert.Contains(t, d, "subscription: gcppubsub://projects/county-elections/subscriptions/results-tabulator\n")

	o := goodOnPrem()
	o.OnPrem.JetStreamCreate = true
	d, err = profile.Describe(o)
	require.NoError(t, err)
	assert.Contains(t, d, "bucket:       s3://county-records?endpoint=http%3A%2F%2F10.0.0.5%3A9000&region=us-east-1&use_path_style=true\n")
	assert.Contains(t, d, "keeper:       pkcs11://county-hsm/elections?module=%2Fusr%2Flib%2Fsofthsm%2Flibsofthsm2.so\n")
	assert.Contains(t, d, "topic:        jetstream://RESULTS/results.county?create=true\n")
	assert.Contains(t, d, "subscription: jetstream://RESULTS/tabulator?create=true&filter_subject=results.county\n")
	o.OnPrem.BlobDriver, o.OnPrem.S3Endpoint = "minio", "https://minio.county.example:9000"
	o.OnPrem.Messaging, o.OnPrem.RabbitExchange, o.OnPrem.RabbitQueue = "rabbit", "results", "tabulator"
	d, err = profile.Describe(o)
	require.NoError(t, err)
	assert.Contains(t, d, "bucket:       minio://minio.county.example:9000/county-records?region=us-east-1&secure=true\n")
	assert.Contains(t, d, "topic:        rabbit://results\nsubscription: rabbit://tabulator\n")

	// The local key is shown as a fingerprint only, and Describe works before it exists.
	clearEnv(t)
	l := goodLocal()
	d, err = profile.Describe(l)
	require.NoError(t, err)
	assert.Contains(t, d, "keeper:       base64key://($CIVICPORT_LOCAL_KEY)\n")
	assert.Contains(t, d, "bucket:       file:///srv/records\n")
	assert.Contains(t, d, "topic:        mem://civicport\nsubscription: mem://civicport\n")
	key := newKey(t)
	t.Setenv(profile.DefaultLocalKeyEnv, key)
	d, err = profile.Describe(l)
	require.NoError(t, err)
	assert.Contains(t, d, "keeper:       base64key://sha256:")
	assert.NotContains(t, d, key)
	assert.NotContains(t, d, strings.TrimRight(key, "="))

	_, err = profile.Describe(profile.Config{Profile: "azure"})
	assert.Error(t, err)
}

func TestFieldErrorOnItsOwn(t *testing.T) {
	assert.EqualError(t, profile.AWSConfig{}.Validate().(interface{ Unwrap() []error }).Unwrap()[0],
		`profile aws: field "region": empty; want an AWS region such as us-east-1`)
	assert.NoError(t, goodGCP().GCP.Validate())
	assert.NoError(t, goodOnPrem().OnPrem.Validate())
	assert.NoError(t, goodLocal().Local.Validate())
	err := errors.Join(&profile.FieldError{Profile: "local", Field: "dir", Value: "x", Problem: "no such file or directory", Want: "an existing directory"})
	assert.EqualError(t, err, `profile local: field "dir": got "x": no such file or directory; want an existing directory`)
}

func TestURLs(t *testing.T) {
	u, err := goodAWS().URLs()
	require.NoError(t, err)
	assert.Equal(t, "awskms:///alias/elections?region=us-east-1", u.Keeper)
	assert.True(t, strings.HasPrefix(u.Bucket, "s3://county-records?"), u.Bucket)

	key := newKey(t)
	t.Setenv("CIVICPORT_TEST_URLS_KEY", key)
	dir := t.TempDir()
	u, err = profile.Config{Profile: profile.Local, Local: profile.LocalConfig{Dir: dir, KeyEnv: "CIVICPORT_TEST_URLS_KEY"}}.URLs()
	require.NoError(t, err)
	assert.Equal(t, "file://"+filepath.ToSlash(dir), strings.SplitN(u.Bucket, "?", 2)[0])
	assert.True(t, strings.HasPrefix(u.Keeper, "base64key://"), "the local key is in the URL")
	assert.Equal(t, u.Topic, u.Subscription)

	_, err = profile.Config{Profile: profile.AWS}.URLs()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "region": empty`)
}

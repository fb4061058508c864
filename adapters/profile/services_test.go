package profile_test

// Each profile against the test servers scripts/test-services.sh starts;
// a test skips (through internal/testing/testenv) when a server it needs is down.

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/internal/testing/profiletest"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// TestAWSProfile: MinIO as the S3 endpoint, local-kms as the KMS endpoint,
// fauxqs as the SQS (and SNS) endpoint.
func TestAWSProfile(t *testing.T) {
	s3 := testenv.MinIO(t)
	kms := testenv.LocalKMS(t)
	sqs := testenv.Fauxqs(t)
	base := func(t *testing.T) (profile.Config, string) {
		queue := sqs.NewQueue(t)
		return profile.Config{Profile: profile.AWS, AWS: profile.AWSConfig{
			Region:      s3.Region,
			Bucket:      s3.NewBucket(t),
			KMSKey:      kms.NewKey(t),
			QueueURL:    queue,
			S3Endpoint:  s3.Endpoint(),
			KMSEndpoint: kms.Endpoint(),
			SQSEndpoint: sqs.Endpoint(),
		}}, queue
	}
	t.Run("sqs", func(t *testing.T) {
		c, _ := base(t)
		exercise(t, open(t, c))
	})
	t.Run("sns to sqs", func(t *testing.T) {
		c, queue := base(t)
		u, err := url.Parse(sqs.NewSNSTopic(t, queue))
		require.NoError(t, err)
		c.AWS.SNSTopicARN = strings.TrimPrefix(u.Path, "/")
		c.AWS.SNSEndpoint = sqs.Endpoint()
		exercise(t, open(t, c))
	})
}

// TestOnPremProfile: MinIO (s3:// and minio://) + SoftHSM2 + NATS
// JetStream, with the PIN from $PKCS11_PIN, another variable, or a file.
func TestOnPremProfile(t *testing.T) {
	s3 := testenv.MinIO(t)
	hsm := testenv.SoftHSM(t)
	n := testenv.NATS(t)
	t.Setenv("MINIO_ACCESS_KEY", s3.AccessKey)
	t.Setenv("MINIO_SECRET_KEY", s3.SecretKey)
	pinFile := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(pinFile, []byte(hsm.PIN+"\n"), 0o600))

	for _, tc := range []struct {
		name, driver, pinEnv, pinFile string
		env                           map[string]string
	}{
		{name: "s3 PKCS11_PIN", driver: "", env: map[string]string{"PKCS11_PIN": hsm.PIN}},
		{name: "minio pin_env", driver: "minio", pinEnv: "COUNTY_HSM_PIN", env: map[string]string{"COUNTY_HSM_PIN": hsm.PIN, "PKCS11_PIN": ""}},
		{name: "s3 pin_file", driver: "s3", pinFile: pinFile, env: map[string]string{"PKCS11_PIN": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stream := n.StreamName("CP_PROFILE")
			n.DeleteStreamAtCleanup(t, stream)
			c := profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
				S3Endpoint:        s3.Endpoint(),
				Bucket:            s3.NewBucket(t),
				Region:            s3.Region,
				BlobDriver:        tc.driver,
				PKCS11Module:      hsm.Module,
				PKCS11Token:       hsm.Token,
				PKCS11Key:         testenv.UniqueName("cp-profile"),
				PKCS11PINEnv:      tc.pinEnv,
				PKCS11PINFile:     tc.pinFile,
				PKCS11CreateKey:   true,
				Messaging:         "jetstream",
				JetStreamStream:   stream,
				JetStreamSubject:  n.Subject("cp.profile"),
				JetStreamConsumer: n.StreamName("tabulator"),
				JetStreamCreate:   true,
			}}
			exercise(t, open(t, c))
		})
	}
}

// TestOnPremProfileVersitygwRabbit: versitygw + SoftHSM2 + RabbitMQ.
func TestOnPremProfileVersitygwRabbit(t *testing.T) {
	s3 := testenv.Versitygw(t)
	hsm := testenv.SoftHSM(t)
	r := testenv.RabbitMQ(t)
	t.Setenv("PKCS11_PIN", hsm.PIN)
	exchange, queue := r.NewExchangeAndQueue(t)
	c := profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
		S3Endpoint:      s3.Endpoint(),
		Bucket:          s3.NewBucket(t),
		PKCS11Module:    hsm.Module,
		PKCS11Token:     hsm.Token,
		PKCS11Key:       testenv.UniqueName("cp-profile"),
		PKCS11CreateKey: true,
		Messaging:       "rabbit",
		RabbitExchange:  exchange,
		RabbitQueue:     queue,
	}}
	exercise(t, open(t, c))
}

// TestGCPProfile: fake-gcs-server, the in-repo fake Cloud KMS
// (internal/testing/gcpkmsfake) through kms_endpoint, and the in-process Pub/Sub
// fake (pstest).
func TestGCPProfile(t *testing.T) {
	g := testenv.FakeGCS(t)
	ps := testenv.PubSubFake(t)
	c := profiletest.GCP(t, g, ps)
	exercise(t, open(t, c))
}

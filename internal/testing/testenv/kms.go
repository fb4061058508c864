package testenv

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS is the local-kms test server (AWS KMS API).
type KMS struct {
	Host   string // host:port, e.g. 127.0.0.1:8081
	Region string
}

// LocalKMS returns the local-kms test server (CIVICPORT_KMS_ADDR, default
// 127.0.0.1:8081), skipping t (or failing it when services are required) if
// it is not running. It also sets static AWS test credentials and disables
// the cloud metadata endpoint for the process.
func LocalKMS(t testing.TB) KMS {
	t.Helper()
	k := KMS{Host: serviceHost(t, "local-kms", "CIVICPORT_KMS_ADDR", "127.0.0.1:8081", probeTCP), Region: DefaultRegion}
	ensureAWSEnv()
	return k
}

// Endpoint is the server's base URL.
func (k KMS) Endpoint() string { return "http://" + k.Host }

// Client returns an AWS SDK KMS client for the server, with static test
// credentials (it never asks a metadata endpoint).
func (k KMS) Client() *kms.Client {
	return kms.NewFromConfig(awsConfig(k.Region, k.Endpoint()))
}

// NewKey creates a fresh symmetric (AES-256) key and returns its key id.
func (k KMS) NewKey(t testing.TB) string {
	t.Helper()
	out, err := k.Client().CreateKey(context.Background(), &kms.CreateKeyInput{
		KeySpec:     types.KeySpecSymmetricDefault,
		KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
		Description: aws.String("civicport test " + t.Name()),
	})
	if err != nil {
		t.Fatalf("local-kms CreateKey at %s: %v", k.Host, err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// URL is a gocloud awskms:// URL for keyID on this server.
func (k KMS) URL(keyID string) string {
	q := url.Values{}
	q.Set("region", k.Region)
	q.Set("endpoint", k.Endpoint())
	return "awskms://" + keyID + "?" + q.Encode()
}

// NewKeyURL creates a fresh key and returns its awskms:// URL.
func (k KMS) NewKeyURL(t testing.TB) string {
	t.Helper()
	return k.URL(k.NewKey(t))
}

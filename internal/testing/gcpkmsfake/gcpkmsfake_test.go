package gcpkmsfake_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"
	"gocloud.dev/secrets/gcpkms"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	kms "cloud.google.com/go/kms/apiv1"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/gcpkmsfake"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets/envelope"
)

func start(t *testing.T) (*gcpkmsfake.Server, *kms.KeyManagementClient) {
	t.Helper()
	s, err := gcpkmsfake.NewServer()
	require.NoError(t, err)
	t.Cleanup(s.Close)
	c, err := s.Client(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return s, c
}

var keyN atomic.Int64

func newKey(t *testing.T, s *gcpkmsfake.Server) string {
	t.Helper()
	name, err := s.CreateKey("civicport-test", "us-east1", "ring", fmt.Sprintf("key-%d", keyN.Add(1)))
	require.NoError(t, err)
	return name
}

type harness struct {
	s *gcpkmsfake.Server
	c *kms.KeyManagementClient
	t *testing.T
}

func (h harness) MakeDriver(context.Context) (driver.Keeper, driver.Keeper, error) {
	return driveradapter.Keeper(gcpkms.OpenKeeper(h.c, newKey(h.t, h.s), nil)),
		driveradapter.Keeper(gcpkms.OpenKeeper(h.c, newKey(h.t, h.s), nil)), nil
}

func (harness) Close() {}

// verifyAs checks that gcpkms's ErrorAs (a *status.Status) reaches the
// fake's gRPC status through the adapter.
type verifyAs struct{}

func (verifyAs) Name() string { return "verify As reaches the gRPC status" }
func (verifyAs) ErrorCheck(k *gcsecrets.Keeper, err error) error {
	var s *status.Status
	if !k.ErrorAs(err, &s) {
		return fmt.Errorf("ErrorAs(%v) found no *status.Status", err)
	}
	if s.Code() != codes.InvalidArgument {
		return fmt.Errorf("got code %v, want InvalidArgument", s.Code())
	}
	return nil
}

func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		s, c := start(t)
		return harness{s: s, c: c, t: t}, nil
	}, []drivertest.AsTest{verifyAs{}})
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	name := newKey(t, s)
	k := gcpkms.OpenKeeper(c, name, nil)
	defer k.Close()

	old, err := k.Encrypt(ctx, []byte("v1 secret"))
	require.NoError(t, err)
	v2, err := s.Rotate(name)
	require.NoError(t, err)
	assert.Equal(t, name+"/cryptoKeyVersions/2", v2)

	resp, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: name, Plaintext: []byte("v2 secret")})
	require.NoError(t, err)
	assert.Equal(t, v2, resp.Name, "the primary version encrypts")

	// The old version still decrypts (not as primary).
	d, err := c.Decrypt(ctx, &kmspb.DecryptRequest{Name: name, Ciphertext: old})
	require.NoError(t, err)
	assert.Equal(t, "v1 secret", string(d.Plaintext))
	assert.False(t, d.UsedPrimary)
	pt, err := k.Decrypt(ctx, resp.Ciphertext)
	require.NoError(t, err)
	assert.Equal(t, "v2 secret", string(pt))

	// Destroying version 1 makes its ciphertexts undecryptable.
	_, err = c.DestroyCryptoKeyVersion(ctx, &kmspb.DestroyCryptoKeyVersionRequest{Name: name + "/cryptoKeyVersions/1"})
	require.NoError(t, err)
	_, err = k.Decrypt(ctx, old)
	require.Error(t, err)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	pt, err = k.Decrypt(ctx, resp.Ciphertext)
	require.NoError(t, err)
	assert.Equal(t, "v2 secret", string(pt))

	got, err := c.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: name})
	require.NoError(t, err)
	assert.Equal(t, v2, got.Primary.Name)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	name := newKey(t, s)

	_, err := gcpkms.OpenKeeper(c, name+"-missing", nil).Encrypt(ctx, []byte("x"))
	assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err))

	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: name, Plaintext: make([]byte, gcpkmsfake.MaxPlaintext+1)})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))

	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: name, Plaintext: []byte("x"), PlaintextCrc32C: wrapperspb.Int64(1)})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "CRC32C checked")

	// Additional authenticated data is bound to the ciphertext.
	aad := gcpkms.OpenKeeper(c, name, &gcpkms.KeeperOptions{AdditionalAuthenticatedData: []byte("county=7")})
	ct, err := aad.Encrypt(ctx, []byte("x"))
	require.NoError(t, err)
	_, err = gcpkms.OpenKeeper(c, name, nil).Decrypt(ctx, ct)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))

	// A ciphertext of one key does not decrypt under another.
	_, err = gcpkms.OpenKeeper(c, newKey(t, s), &gcpkms.KeeperOptions{AdditionalAuthenticatedData: []byte("county=7")}).Decrypt(ctx, ct)
	assert.Equal(t, gcerrors.InvalidArgument, gcerrors.Code(err))

	_, err = c.CreateKeyRing(ctx, &kmspb.CreateKeyRingRequest{Parent: "projects/civicport-test/locations/us-east1", KeyRingId: "ring"})
	assert.Equal(t, codes.AlreadyExists, status.Code(err))
	_, err = c.ListKeyRings(ctx, &kmspb.ListKeyRingsRequest{Parent: "projects/p/locations/l"}).Next()
	assert.Equal(t, codes.Unimplemented, status.Code(err))
}

func TestEnvelope(t *testing.T) {
	s, c := start(t)
	testenv.EnvelopeRoundTrip(t, envelope.KEK{ID: "gcpkms/test", Keeper: gcpkms.OpenKeeper(c, newKey(t, s), nil)}, 850_000)
}

// Package gcpkmsfake is a FAKE Google Cloud KMS, for tests only. It is not
// Google's service, not an emulator Google supports, and offers no
// protection for real secrets: keys live in process memory.
//
// It serves the real KeyManagementService gRPC API
// (cloud.google.com/go/kms/apiv1/kmspb) on 127.0.0.1, implementing just what
// civicport's tests need: CreateKeyRing, CreateCryptoKey (purpose
// ENCRYPT_DECRYPT), GetCryptoKey, CreateCryptoKeyVersion,
// UpdateCryptoKeyPrimaryVersion, DestroyCryptoKeyVersion, Encrypt and
// Decrypt. Encryption is real AES-256-GCM under a random key per key
// version; Encrypt uses the primary version (or the version named) and the
// ciphertext records the version, so ciphertexts of older versions decrypt
// after a rotation until that version is destroyed. Ciphertexts are not
// compatible with Google's. The CRC32C integrity fields are checked and set
// as the real service does. Every other RPC returns Unimplemented.
//
// Drive it with the real client: NewServer, then Client (or Conn), then
// gocloud's gcpkms.OpenKeeper(client, keyName, nil).
package gcpkmsfake

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"sync"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// MaxPlaintext is the largest plaintext Encrypt accepts (as Google's, 64 KiB).
const MaxPlaintext = 64 << 10

// Server is a running fake.
type Server struct {
	kmspb.UnimplementedKeyManagementServiceServer

	addr string
	gs   *grpc.Server

	mu    sync.Mutex
	rings map[string]*kmspb.KeyRing
	keys  map[string]*cryptoKey
}

type cryptoKey struct {
	pb       *kmspb.CryptoKey
	versions []*version // versions[i] is version i+1
	primary  int        // version number; 0 = none
}

type version struct {
	pb   *kmspb.CryptoKeyVersion
	aead cipher.AEAD // nil once destroyed
}

// NewServer starts a fake on a free 127.0.0.1 port.
func NewServer() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{addr: ln.Addr().String(), gs: grpc.NewServer(),
		rings: map[string]*kmspb.KeyRing{}, keys: map[string]*cryptoKey{}}
	kmspb.RegisterKeyManagementServiceServer(s.gs, s)
	go s.gs.Serve(ln)
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() { s.gs.Stop() }

// Conn returns a new plaintext gRPC connection to the server.
func (s *Server) Conn() (*grpc.ClientConn, error) {
	return grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// Client returns the real Cloud KMS client connected to the fake, without
// credentials. Closing the client closes its connection.
func (s *Server) Client(ctx context.Context) (*kms.KeyManagementClient, error) {
	conn, err := s.Conn()
	if err != nil {
		return nil, err
	}
	return kms.NewKeyManagementClient(ctx, option.WithGRPCConn(conn))
}

// CreateKey creates (if needed) the key ring and an ENCRYPT_DECRYPT key
// projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY, and
// returns the key's name.
func (s *Server) CreateKey(project, location, ring, key string) (string, error) {
	ctx := context.Background()
	parent := fmt.Sprintf("projects/%s/locations/%s", project, location)
	_, err := s.CreateKeyRing(ctx, &kmspb.CreateKeyRingRequest{Parent: parent, KeyRingId: ring})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return "", err
	}
	k, err := s.CreateCryptoKey(ctx, &kmspb.CreateCryptoKeyRequest{
		Parent: parent + "/keyRings/" + ring, CryptoKeyId: key,
		CryptoKey: &kmspb.CryptoKey{Purpose: kmspb.CryptoKey_ENCRYPT_DECRYPT},
	})
	if err != nil {
		return "", err
	}
	return k.Name, nil
}

// Rotate adds a new version to the key and makes it primary, returning the
// version's name (like CreateCryptoKeyVersion + UpdateCryptoKeyPrimaryVersion).
func (s *Server) Rotate(keyName string) (string, error) {
	ctx := context.Background()
	v, err := s.CreateCryptoKeyVersion(ctx, &kmspb.CreateCryptoKeyVersionRequest{Parent: keyName})
	if err != nil {
		return "", err
	}
	_, err = s.UpdateCryptoKeyPrimaryVersion(ctx, &kmspb.UpdateCryptoKeyPrimaryVersionRequest{
		Name: keyName, CryptoKeyVersionId: v.Name[strings.LastIndex(v.Name, "/")+1:]})
	return v.Name, err
}

func validID(id string) bool {
	if id == "" || len(id) > 63 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) CreateKeyRing(_ context.Context, r *kmspb.CreateKeyRingRequest) (*kmspb.KeyRing, error) {
	p := strings.Split(r.Parent, "/")
	if len(p) != 4 || p[0] != "projects" || p[2] != "locations" || p[1] == "" || p[3] == "" {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/P/locations/L", r.Parent)
	}
	if !validID(r.KeyRingId) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid key ring id %q", r.KeyRingId)
	}
	name := r.Parent + "/keyRings/" + r.KeyRingId
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rings[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "KeyRing %s already exists", name)
	}
	kr := &kmspb.KeyRing{Name: name, CreateTime: timestamppb.Now()}
	s.rings[name] = kr
	return kr, nil
}

func (s *Server) CreateCryptoKey(_ context.Context, r *kmspb.CreateCryptoKeyRequest) (*kmspb.CryptoKey, error) {
	if !validID(r.CryptoKeyId) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid crypto key id %q", r.CryptoKeyId)
	}
	if r.CryptoKey == nil || r.CryptoKey.Purpose != kmspb.CryptoKey_ENCRYPT_DECRYPT {
		return nil, status.Errorf(codes.Unimplemented, "the fake supports only purpose ENCRYPT_DECRYPT")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rings[r.Parent]; !ok {
		return nil, status.Errorf(codes.NotFound, "KeyRing %s not found", r.Parent)
	}
	name := r.Parent + "/cryptoKeys/" + r.CryptoKeyId
	if _, ok := s.keys[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "CryptoKey %s already exists", name)
	}
	k := &cryptoKey{pb: &kmspb.CryptoKey{Name: name, Purpose: kmspb.CryptoKey_ENCRYPT_DECRYPT,
		CreateTime: timestamppb.Now(), Labels: r.CryptoKey.Labels}}
	if !r.SkipInitialVersionCreation {
		k.addVersion()
		k.primary = 1
	}
	s.keys[name] = k
	return k.proto(), nil
}

// addVersion adds an enabled version with a fresh key (s.mu held).
func (k *cryptoKey) addVersion() *version {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key cannot fail
	}
	// The random-nonce form is the one Go's FIPS 140-3 mode approves.
	aead, err := cipher.NewGCMWithRandomNonce(b)
	if err != nil {
		panic(err)
	}
	v := &version{aead: aead, pb: &kmspb.CryptoKeyVersion{
		Name:            fmt.Sprintf("%s/cryptoKeyVersions/%d", k.pb.Name, len(k.versions)+1),
		State:           kmspb.CryptoKeyVersion_ENABLED,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
		Algorithm:       kmspb.CryptoKeyVersion_GOOGLE_SYMMETRIC_ENCRYPTION,
		CreateTime:      timestamppb.Now(),
	}}
	k.versions = append(k.versions, v)
	return v
}

// proto returns a copy of the key with its primary (s.mu held).
func (k *cryptoKey) proto() *kmspb.CryptoKey {
	pb := &kmspb.CryptoKey{Name: k.pb.Name, Purpose: k.pb.Purpose, CreateTime: k.pb.CreateTime, Labels: k.pb.Labels}
	if k.primary > 0 {
		pb.Primary = k.versions[k.primary-1].pb
	}
	return pb
}

func (s *Server) key(name string) (*cryptoKey, error) {
	k, ok := s.keys[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found", name)
	}
	return k, nil
}

// splitVersion splits KEY/cryptoKeyVersions/N.
func (s *Server) version(name string) (*cryptoKey, int, error) {
	i := strings.LastIndex(name, "/cryptoKeyVersions/")
	if i < 0 {
		return nil, 0, status.Errorf(codes.InvalidArgument, "%q is not a CryptoKeyVersion name", name)
	}
	k, err := s.key(name[:i])
	if err != nil {
		return nil, 0, err
	}
	n, err := strconv.Atoi(name[i+len("/cryptoKeyVersions/"):])
	if err != nil || n < 1 || n > len(k.versions) {
		return nil, 0, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found", name)
	}
	return k, n, nil
}

func (s *Server) GetCryptoKey(_ context.Context, r *kmspb.GetCryptoKeyRequest) (*kmspb.CryptoKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.key(r.Name)
	if err != nil {
		return nil, err
	}
	return k.proto(), nil
}

func (s *Server) CreateCryptoKeyVersion(_ context.Context, r *kmspb.CreateCryptoKeyVersionRequest) (*kmspb.CryptoKeyVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.key(r.Parent)
	if err != nil {
		return nil, err
	}
	return k.addVersion().pb, nil
}

func (s *Server) UpdateCryptoKeyPrimaryVersion(_ context.Context, r *kmspb.UpdateCryptoKeyPrimaryVersionRequest) (*kmspb.CryptoKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, n, err := s.version(r.Name + "/cryptoKeyVersions/" + r.CryptoKeyVersionId)
	if err != nil {
		return nil, err
	}
	if k.versions[n-1].aead == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "version %d is destroyed", n)
	}
	k.primary = n
	return k.proto(), nil
}

func (s *Server) DestroyCryptoKeyVersion(_ context.Context, r *kmspb.DestroyCryptoKeyVersionRequest) (*kmspb.CryptoKeyVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, n, err := s.version(r.Name)
	if err != nil {
		return nil, err
	}
	v := k.versions[n-1]
	v.aead = nil
	v.pb.State = kmspb.CryptoKeyVersion_DESTROYED
	v.pb.DestroyEventTime = timestamppb.Now()
	if k.primary == n {
		k.primary = 0
	}
	return v.pb, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) int64 { return int64(crc32.Checksum(b, castagnoli)) }

func checkCRC(what string, b []byte, want *wrapperspb.Int64Value) (bool, error) {
	if want == nil {
		return false, nil
	}
	if want.Value != crc(b) {
		return false, status.Errorf(codes.InvalidArgument, "%s CRC32C mismatch", what)
	}
	return true, nil
}

// Ciphertext layout: version number (uint32, big endian), then
// cipher.NewGCMWithRandomNonce's output: 12-byte random nonce, AES-256-GCM
// ciphertext and tag. The GCM additional data is the key's name,
// a zero byte and the request's additional authenticated data.
const headerLen = 4 + 12

func gcmAD(keyName string, aad []byte) []byte {
	return append(append([]byte(keyName), 0), aad...)
}

func (s *Server) Encrypt(_ context.Context, r *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	if len(r.Plaintext) > MaxPlaintext {
		return nil, status.Errorf(codes.InvalidArgument, "plaintext is %d bytes; at most %d", len(r.Plaintext), MaxPlaintext)
	}
	vp, err := checkCRC("plaintext", r.Plaintext, r.PlaintextCrc32C)
	if err != nil {
		return nil, err
	}
	va, err := checkCRC("additional authenticated data", r.AdditionalAuthenticatedData, r.AdditionalAuthenticatedDataCrc32C)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var k *cryptoKey
	n := 0
	if strings.Contains(r.Name, "/cryptoKeyVersions/") {
		k, n, err = s.version(r.Name)
	} else if k, err = s.key(r.Name); err == nil {
		n = k.primary
		if n == 0 {
			err = status.Errorf(codes.FailedPrecondition, "CryptoKey %s has no primary version", r.Name)
		}
	}
	var v *version
	if err == nil {
		if v = k.versions[n-1]; v.aead == nil {
			err = status.Errorf(codes.FailedPrecondition, "%s is destroyed", v.pb.Name)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ct := make([]byte, 4, headerLen+len(r.Plaintext)+16)
	binary.BigEndian.PutUint32(ct, uint32(n))
	ct = v.aead.Seal(ct, nil, r.Plaintext, gcmAD(k.pb.Name, r.AdditionalAuthenticatedData))
	return &kmspb.EncryptResponse{
		Name:                    v.pb.Name,
		Ciphertext:              ct,
		CiphertextCrc32C:        wrapperspb.Int64(crc(ct)),
		VerifiedPlaintextCrc32C: vp,
		VerifiedAdditionalAuthenticatedDataCrc32C: va,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}

func (s *Server) Decrypt(_ context.Context, r *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	if _, err := checkCRC("ciphertext", r.Ciphertext, r.CiphertextCrc32C); err != nil {
		return nil, err
	}
	if _, err := checkCRC("additional authenticated data", r.AdditionalAuthenticatedData, r.AdditionalAuthenticatedDataCrc32C); err != nil {
		return nil, err
	}
	s.mu.Lock()
	k, err := s.key(r.Name)
	var v *version
	var n int
	if err == nil {
		if len(r.Ciphertext) < headerLen+16 {
			err = status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
		} else if n = int(binary.BigEndian.Uint32(r.Ciphertext)); n < 1 || n > len(k.versions) {
			err = status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
		} else if v = k.versions[n-1]; v.aead == nil {
			err = status.Errorf(codes.FailedPrecondition, "%s is destroyed", v.pb.Name)
		}
	}
	primary := err == nil && n == k.primary
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	pt, err := v.aead.Open(nil, nil, r.Ciphertext[4:], gcmAD(k.pb.Name, r.AdditionalAuthenticatedData))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	return &kmspb.DecryptResponse{
		Plaintext:       pt,
		PlaintextCrc32C: wrapperspb.Int64(crc(pt)),
		UsedPrimary:     primary,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}

package profile_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func newKey(t testing.TB) string {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k) // as `openssl rand -base64 32` prints it
}

// exercise writes and reads a blob, encrypts and decrypts, and sends and
// receives a message through s.
func exercise(t *testing.T, s *profile.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testenv.Context(t), 90*time.Second)
	defer cancel()

	key := "2026-general/" + strings.ReplaceAll(t.Name(), "/", "-") + ".json"
	data := []byte(`{"precinct":"0001","ballots":1234}`)
	require.NoError(t, s.Bucket.WriteAll(ctx, key, data, nil), "write blob")
	got, err := s.Bucket.ReadAll(ctx, key)
	require.NoError(t, err, "read blob")
	assert.Equal(t, data, got)

	plain := []byte("data key for " + t.Name())
	ct, err := s.Keeper.Encrypt(ctx, plain)
	require.NoError(t, err, "encrypt")
	assert.False(t, bytes.Contains(ct, plain), "ciphertext holds the plaintext")
	pt, err := s.Keeper.Decrypt(ctx, ct)
	require.NoError(t, err, "decrypt")
	assert.Equal(t, plain, pt)

	body := []byte("results ready: " + t.Name())
	require.NoError(t, s.Topic.Send(ctx, &gcpubsub.Message{Body: body, Metadata: map[string]string{"precinct": "0001"}}), "send")
	m, err := s.Subscription.Receive(ctx)
	require.NoError(t, err, "receive")
	m.Ack()
	assert.Equal(t, string(body), string(m.Body))
	assert.Equal(t, "0001", m.Metadata["precinct"])
}

func open(t *testing.T, c profile.Config) *profile.Stack {
	t.Helper()
	s, cleanup, err := profile.Open(testenv.Context(t), c)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	return s
}

func TestLocalStack(t *testing.T) {
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "records")
	t.Setenv(profile.DefaultLocalKeyEnv, newKey(t))
	c := profile.Config{Profile: profile.Local, Local: profile.LocalConfig{Dir: dir, CreateDir: true, Topic: "local-stack-test"}}

	s := open(t, c)
	exercise(t, s)
	ct, err := s.Keeper.Encrypt(context.Background(), []byte("kept"))
	require.NoError(t, err)
	s.Close()
	s.Close() // idempotent
	_, err = os.Stat(dir)
	require.NoError(t, err, "create_dir made the directory")

	// Reopened in the same process (same mem topic, same directory, same key).
	s2 := open(t, c)
	exercise(t, s2)
	pt, err := s2.Keeper.Decrypt(context.Background(), ct)
	require.NoError(t, err, "the key comes from the same variable")
	assert.Equal(t, "kept", string(pt))
	keys, err := s2.Bucket.List(nil).Next(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, keys.Key, "objects written through the first stack are there")
}

func TestLocalStackKeyFileAndKeyEnv(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(newKey(t)+"\n"), 0o600))
	exercise(t, open(t, profile.Config{Profile: profile.Local, Local: profile.LocalConfig{Dir: dir, KeyFile: keyFile, Topic: "key-file-test"}}))

	t.Setenv("COUNTY_RECORDS_KEY", strings.TrimRight(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "="))
	exercise(t, open(t, profile.Config{Profile: profile.Local, Local: profile.LocalConfig{Dir: dir, KeyEnv: "COUNTY_RECORDS_KEY", Topic: "key-env-test"}}))
}

func TestLocalStackErrors(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	badKeyFile := filepath.Join(dir, "bad-key")
	require.NoError(t, os.WriteFile(badKeyFile, []byte("s3cr3t-but-not-base64!"), 0o600))
	shortKeyFile := filepath.Join(dir, "short-key")
	require.NoError(t, os.WriteFile(shortKeyFile, []byte(base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))), 0o600))

	for _, tc := range []struct {
		name string
		c    profile.LocalConfig
		want string
	}{
		{"no key", profile.LocalConfig{Dir: dir},
			`profile local: field "key_env": empty: $CIVICPORT_LOCAL_KEY is unset or empty; want a base64-encoded 32-byte key in $CIVICPORT_LOCAL_KEY`},
		{"key not base64", profile.LocalConfig{Dir: dir, KeyFile: badKeyFile},
			`field "key_file": got "` + badKeyFile + `": the key is not base64; want a base64-encoded 32-byte key`},
		{"key too short", profile.LocalConfig{Dir: dir, KeyFile: shortKeyFile},
			`field "key_file": got "` + shortKeyFile + `": the key is 16 bytes; want a base64-encoded 32-byte key`},
		{"key file missing", profile.LocalConfig{Dir: dir, KeyFile: filepath.Join(dir, "nope")},
			`field "key_file": got "` + filepath.Join(dir, "nope") + `": cannot read it: no such file or directory`},
		{"dir missing", profile.LocalConfig{Dir: filepath.Join(dir, "nope"), KeyFile: badKeyFile},
			`profile local: field "dir": got "` + filepath.Join(dir, "nope") + `": no such file or directory; want an existing directory (or set create_dir)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, cleanup, err := profile.Open(ctx, profile.Config{Profile: profile.Local, Local: tc.c})
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Nil(t, cleanup)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}

// The onprem keeper checks that a PIN is there before it loads any module.
func TestOnPremKeeperNeedsPIN(t *testing.T) {
	clearEnv(t)
	t.Setenv("PKCS11_PIN", "")
	t.Setenv("PKCS11_MODULE", "")
	c := goodOnPrem().OnPrem
	_, _, err := profile.OnPremKeeper(context.Background(), c)
	assert.EqualError(t, err, `profile onprem: field "pkcs11_pin_env": empty: $PKCS11_PIN is unset or empty; want the user PIN in $PKCS11_PIN, or pkcs11_pin_file naming a file holding it`)

	c.PKCS11PINEnv = "COUNTY_HSM_PIN"
	_, _, err = profile.OnPremKeeper(context.Background(), c)
	assert.ErrorContains(t, err, `field "pkcs11_pin_env": got "COUNTY_HSM_PIN": $COUNTY_HSM_PIN is unset or empty`)

	c.PKCS11Module = ""
	_, _, err = profile.OnPremKeeper(context.Background(), c)
	assert.ErrorContains(t, err, `field "pkcs11_module": empty: $PKCS11_MODULE is unset too; want the absolute path of the PKCS#11 library`)

	// Wire providers validate their config too.
	_, _, err = profile.OnPremBucket(context.Background(), profile.OnPremConfig{})
	assert.ErrorContains(t, err, `profile onprem: field "s3_endpoint": empty`)
}

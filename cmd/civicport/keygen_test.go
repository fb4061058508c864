package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/internal/testing/testenv"
)

// keygen's key signs a manifest that verify --pubkey accepts; the private
// key file is private, and --sign-key takes a file:// URL as well as a path.
func TestKeygenSignsManifests(t *testing.T) {
	work := t.TempDir()
	key := filepath.Join(work, "clerk.key")
	code, out, errOut := runCLI(t, "keygen", "--name", "county-clerk.example.gov", "--out", key)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "verifier key: "+key+".pub\ncounty-clerk.example.gov+")
	st, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	_, src := testenv.FileBucket(t, 5, 1000)
	_, dst := emptyBucket(t)
	mf := filepath.Join(work, "m.jsonl")
	code, out, errOut = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", "file://"+key)
	require.Equal(t, exitOK, code, out+errOut)
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", key+".pub")
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "signature: "+mf+".sig verified")

	// Never overwrite a key; a bad name says why.
	code, _, errOut = runCLI(t, "keygen", "--name", "again", "--out", key)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, key+" exists: keygen never overwrites a key")
	code, _, errOut = runCLI(t, "keygen", "--name", "county clerk", "--out", filepath.Join(work, "x.key"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `--name "county clerk"`)
	assert.NoFileExists(t, filepath.Join(work, "x.key"))
	code, _, errOut = runCLI(t, "keygen", "--out", filepath.Join(work, "y.key"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--name and --out are both required")
}

// A sealed key is useless without its keeper: signing without it, or with
// another keeper, is refused (exit 2, nothing written); with it, the
// manifest is signed and verifies.
func TestKeygenSealedKey(t *testing.T) {
	t.Run("local key", func(t *testing.T) { sealedKeyRoundTrip(t, keyURL(t), keyURL(t)) })
	t.Run("AWS KMS (local-kms)", func(t *testing.T) {
		// Another key of the same KMS would unseal it: AWS KMS finds the key
		// from the ciphertext, and IAM, not the URL, decides who may use it.
		sealedKeyRoundTrip(t, testenv.LocalKMS(t).NewKeyURL(t), keyURL(t))
	})
}

func sealedKeyRoundTrip(t *testing.T, keeper, otherKeeper string) {
	work := t.TempDir()
	key := filepath.Join(work, "clerk.key")
	code, out, errOut := runCLI(t, "keygen", "--name", "county-clerk", "--out", key, "--keeper", keeper)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "(sealed by ")
	if k, ok := strings.CutPrefix(keeper, "base64key://"); ok {
		assert.NotContains(t, out+errOut, k, "a local key is never printed")
	}
	data, err := os.ReadFile(key)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "PRIVATE+KEY", "the private key is stored sealed")

	_, src := testenv.FileBucket(t, 3, 100)
	_, dst := emptyBucket(t)
	mf := filepath.Join(work, "m.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "if keygen sealed it, add --sign-key-keeper URL"},
		{[]string{"--sign-key-keeper", otherKeeper}, "cannot unseal it with --sign-key-keeper"},
		{[]string{"--sign-key-keeper", "nope://x"}, "--sign-key-keeper: "},
	} {
		args := append([]string{"migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", key}, tc.args...)
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.NoFileExists(t, mf, "nothing is written when the key cannot be read")
	}

	code, _, errOut = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key-keeper", keeper)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--sign-key-keeper goes with --sign-key")
	assert.NoFileExists(t, mf)

	code, out, errOut = runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", mf, "--sign-key", key, "--sign-key-keeper", keeper)
	require.Equal(t, exitOK, code, out+errOut)
	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", key+".pub")
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "verified")
}

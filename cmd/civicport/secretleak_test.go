package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/internal/testing/testenv"
)

// Planted secrets: each must never appear in anything the CLI prints or
// writes, whatever the command and however it fails.
const (
	leakPassword = "userinfoPW9731"   // a password in a URL's user info
	leakToken    = "queryTOKEN5581"   // a secret query parameter
	leakEnvPW    = "envNATSpw6620"    // a password in NATS_SERVER_URL
	leakAWS      = "awsSECRETenv4411" // AWS_SECRET_ACCESS_KEY
)

// TestNoSecretInAnyOutput runs every command in its failure modes (and a
// few successes that write reports and manifests) with credentials planted
// in URLs, keeper keys and the environment, and checks stdout, stderr and
// every file the command wrote (JSON, JUnit, Markdown reports, manifests,
// signatures, rejected-item records) for each secret, raw or %-escaped.
func TestNoSecretInAnyOutput(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPLANTED")
	t.Setenv("AWS_SECRET_ACCESS_KEY", leakAWS)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("NATS_SERVER_URL", "nats://civic:"+leakEnvPW+"@127.0.0.1:1")

	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	key := base64.URLEncoding.EncodeToString(raw)
	_, _ = rand.Read(raw)
	key2 := base64.URLEncoding.EncodeToString(raw)
	keeper, keeper2 := "base64key://"+key, "base64key://"+key2
	badKeeper := "base64key://" + strings.TrimSuffix(key, "=") + "x" + leakToken // not a key

	_, src := testenv.FileBucket(t, 3, 100)
	_, dst := emptyBucket(t)
	s3Bad := "s3://bkt?endpoint=http://civic:" + leakPassword + "@127.0.0.1:1&region=us-east-1"
	s3Tok := "s3://bkt?region=us-east-1&endpoint=http://127.0.0.1:1&x-amz-security-token=" + leakToken
	fileTok := src + "?token=" + leakToken
	mirrorTok := dst + "?secret=" + leakToken
	memTok := "mem://topic?api_key=" + leakToken
	js := "jetstream://S/x"

	work := t.TempDir()
	out := func(name string) string { return filepath.Join(work, name) }
	_, vkey := keyFiles(t, work)
	good := out("good.jsonl")
	code, o, e := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", good)
	require.Equal(t, exitOK, code, o+e)
	sealedKey := out("sealed.key")
	code, o, e = runCLI(t, "keygen", "--name", "clerk", "--out", sealedKey, "--keeper", keeper)
	require.Equal(t, exitOK, code, o+e)
	mdir := out("items")
	require.NoError(t, os.MkdirAll(mdir, 0o755))

	for _, tc := range []struct {
		name string
		args []string
		ok   bool // the command succeeds
	}{
		{"migrate to unreachable endpoint with userinfo", []string{"migrate", "--from", src, "--to", s3Bad, "--manifest", out("m1.jsonl")}, false},
		{"migrate between two secret URLs", []string{"migrate", "--from", fileTok, "--to", s3Tok, "--manifest", out("m2.jsonl")}, false},
		{"migrate to a URL with a malformed escape", []string{"migrate", "--from", src, "--to", "s3://bkt?region=%zz&endpoint=http://civic:" + leakPassword + "@127.0.0.1:1", "--manifest", out("m4.jsonl")}, false},
		{"migrate from an unparseable URL", []string{"migrate", "--from", "s3://civic:" + leakPassword + "@bkt\x7f", "--to", dst, "--manifest", out("m5.jsonl")}, false},
		{"migrate dry run", []string{"migrate", "--from", src, "--to", s3Bad, "--dry-run"}, false},
		{"migrate resume", []string{"migrate", "--from", fileTok, "--to", dst, "--resume", "--manifest", good}, false},
		{"migrate signed with a bad keeper", []string{"migrate", "--from", src, "--to", out("nodir"), "--sign-key", sealedKey, "--sign-key-keeper", badKeeper}, false},
		{"migrate signed with the wrong keeper", []string{"migrate", "--from", src, "--to", "file://" + out("d3"), "--manifest", out("m3.jsonl"), "--sign-key", sealedKey, "--sign-key-keeper", keeper2}, false},
		{"coordinator", []string{"migrate", "--from", src, "--to", s3Bad, "--work-to", js}, false},
		{"coordinator to a secret topic", []string{"migrate", "--from", src, "--to", dst, "--work-to", memTok}, false},
		{"worker", []string{"migrate", "--worker", "--work-from", js + "?token=" + leakToken, "--manifest-dir", mdir, "--pubkey", vkey}, false},
		{"worker scoped", []string{"migrate", "--worker", "--work-from", js, "--manifest-dir", mdir, "--from", fileTok, "--to", s3Bad}, false},
		{"merge with a bad keeper", []string{"migrate", "--merge-manifests", mdir, "--manifest", out("merged.jsonl"), "--sign-key", sealedKey, "--sign-key-keeper", badKeeper}, false},
		{"verify two URLs", []string{"verify", "--from", fileTok, "--to", s3Bad}, false},
		{"verify manifest", []string{"verify", "--manifest", good, "--bucket", s3Bad}, false},
		{"verify manifest with key", []string{"verify", "--manifest", good, "--bucket", mirrorTok, "--pubkey", vkey}, false},
		{"scrub", []string{"scrub", "--mirror", fileTok + "," + s3Bad + "," + mirrorTok}, false},
		{"scrub with manifest", []string{"scrub", "--mirror", src + "," + s3Tok, "--manifest", good}, false},
		{"rewrap unreachable", []string{"rewrap", "--bucket", s3Bad, "--from-keeper", keeper, "--to-keeper", keeper2}, false},
		{"rewrap bad keeper", []string{"rewrap", "--bucket", dst, "--from-keeper", badKeeper, "--to-keeper", keeper2}, false},
		{"rewrap wrong keeper", []string{"rewrap", "--bucket", dst, "--from-keeper", keeper2, "--to-keeper", keeper}, true},
		{"conform blob json", []string{"conform", "--blob", s3Bad, "--format", "json", "--out", out("c1.json")}, false},
		{"conform blob junit", []string{"conform", "--blob", fileTok, "--format", "junit", "--out", out("c2.xml")}, false},
		{"conform secrets json", []string{"conform", "--secrets", keeper, "--format", "json", "--out", out("c3.json")}, true},
		{"conform secrets junit", []string{"conform", "--secrets", keeper, "--format", "junit", "--out", out("c4.xml")}, true},
		{"conform secrets markdown", []string{"conform", "--secrets", keeper, "--format", "markdown", "--out", out("c5.md")}, true},
		{"conform secrets table", []string{"conform", "--secrets", keeper}, true},
		{"conform bad keeper", []string{"conform", "--secrets", badKeeper, "--format", "json"}, false},
		{"conform sealed blob", []string{"conform", "--blob", s3Tok, "--seal-keeper", keeper, "--format", "markdown"}, false},
		{"conform pubsub", []string{"conform", "--topic", memTok, "--subscription", "mem://topic?token=" + leakToken, "--format", "junit"}, false},
		{"conform jetstream", []string{"conform", "--topic", js, "--subscription", "jetstream://S/c"}, false},
		{"plan", []string{"plan", "--from-blob", fileTok, "--to-blob", s3Bad}, false},
		{"plan json", []string{"plan", "--from-blob", s3Tok, "--to-blob", src, "--format", "json"}, false},
		{"audit verify", []string{"audit", "verify", "--log", s3Bad}, false},
		{"audit verify token", []string{"audit", "verify", "--log", fileTok, "--pubkey", vkey}, false},
		{"keygen bad keeper", []string{"keygen", "--name", "clerk", "--out", out("k2.key"), "--keeper", badKeeper}, false},
		{"keygen sealed", []string{"keygen", "--name", "clerk", "--out", out("k3.key"), "--keeper", keeper2}, true},
		{"bridge", []string{"bridge", "--from-subscription", "jetstream://S/c?token=" + leakToken, "--to-topic", memTok, "--until-idle", "1s"}, false},
		{"bridge to jetstream", []string{"bridge", "--from-subscription", "mem://topic", "--to-topic", js, "--until-idle", "1s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if !tc.ok {
				assert.NotEqual(t, exitOK, code, "planted failure did not fail: %s%s", stdout, stderr)
			}
			t.Logf("exit %d: %s", code, firstLine(stderr+stdout))
			assert.NotContains(t, stderr, "goroutine ", "no panic")
			assertNoSecret(t, "stdout", stdout, key, key2)
			assertNoSecret(t, "stderr", stderr, key, key2)
		})
	}
	// Every file any command wrote.
	n := 0
	require.NoError(t, filepath.Walk(work, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		assertNoSecret(t, p, string(data), key, key2)
		return nil
	}))
	t.Logf("checked the output of every run and %d files written", n)
	for _, f := range []string{"c3.json", "c4.xml", "c5.md", "k3.key"} {
		assert.FileExists(t, out(f), "the report or key was written, so it was checked")
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func assertNoSecret(t *testing.T, where, s string, keys ...string) {
	t.Helper()
	for _, secret := range append([]string{leakPassword, leakToken, leakEnvPW, leakAWS}, keys...) {
		for _, form := range []string{secret, strings.TrimRight(secret, "="), strings.ReplaceAll(secret, "=", "%3D")} {
			if !assert.NotContains(t, s, form, "%s leaks a planted secret", where) {
				return
			}
		}
	}
}

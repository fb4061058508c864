package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets"
)

const small = "--large-object-size=1048576"

// noCloudCredentials keeps the AWS SDK from looking for credentials outside
// this machine (the cloud metadata endpoint) in tests that give none.
func noCloudCredentials(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", testenv.DefaultAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testenv.DefaultSecretKey)
}

func TestConformMemAllFormats(t *testing.T) {
	code, out, errOut := runCLI(t, "conform", "--blob", "mem://", small, "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, rep.Backends, 1)
	assert.Equal(t, "mem://", rep.Backends[0].URL)
	assert.Equal(t, "blob", rep.Backends[0].Kind)
	assert.GreaterOrEqual(t, len(rep.Backends[0].Results), 15)

	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--format", "junit", "--capability", "blob.read_write,blob.signed_url")
	require.Equal(t, exitOK, code)
	var suites struct {
		Tests   int `xml:"tests,attr"`
		Skipped int `xml:"skipped,attr"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &suites))
	assert.Equal(t, 2, suites.Tests)
	assert.Equal(t, 1, suites.Skipped, "signed_url is unsupported on mem")

	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--format", "markdown", "--capability", "blob.read_write")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "| `blob.read_write` | pass |")

	path := filepath.Join(t.TempDir(), "report.txt")
	code, out, _ = runCLI(t, "conform", "--blob", "mem://", small, "--out", path, "--capability", "blob.md5")
	require.Equal(t, exitOK, code)
	assert.Empty(t, out)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Regexp(t, `blob\.md5\s+pass`, string(data))
}

// The embedded default passes the whole suite (issue: file:// exited 1 on
// conditional_write and special_keys).
func TestConformFilePassesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "conform", "--blob", "file://"+dir, small)
	assert.Equal(t, exitOK, code, "%s\n%s", out, errOut)
	assert.NotRegexp(t, `\sfail\s`, out)
	assert.Regexp(t, `blob\.special_keys\s+pass`, out)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "conform must remove everything it wrote")
}

func TestConformBadInputExits2(t *testing.T) {
	noCloudCredentials(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform"}, "--blob URL is required"},
		{[]string{"conform", "--blob", "ftp://x"}, `unknown scheme "ftp"`},
		{[]string{"conform", "--blob", "mem://", "--format", "yaml"}, `--format "yaml": want one of table, json, markdown, junit`},
		{[]string{"conform", "--blob", "s3://b?endpoint=http://127.0.0.1:1&use_path_style=true&region=us-east-1"}, "server unreachable"},
		{[]string{"conform", "--blob", "file://" + filepath.Join(t.TempDir(), "missing")}, "not found"},
		{[]string{"plan", "--from-blob", "mem://"}, "--from-blob and --to-blob are both required"},
		{[]string{"plan"}, "give --from-blob URL --to-blob URL, or --from-report FILE --to-report FILE"},
		{[]string{"plan", "--from-report", "/nonexistent.json", "--to-report", "/nonexistent.json"}, "no such file"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.NotContains(t, errOut, "goroutine", "no stack traces")
	}
}

func TestConformMinIOWrongCredentialsExits2(t *testing.T) {
	s := testenv.MinIO(t)
	u := s.S3URL(s.NewBucket(t))
	t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-5555")
	code, _, errOut := runCLI(t, "conform", "--blob", u, small)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "access denied (check the credentials)")
	assert.NotContains(t, errOut, "wrong-secret-5555")
}

func TestConformMinIOLeavesBucketAsFound(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	open(t, s.S3URL(bucket)).WriteAll(testenv.Context(t), "existing/record.csv", []byte("keep me"), nil)
	code, out, errOut := runCLI(t, "conform", "--blob", s.S3URL(bucket), small, "--format", "json")
	require.Contains(t, []int{exitOK, exitProblem}, code, errOut)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	var keys []string
	for o := range s.Client(t).ListObjects(testenv.Context(t), bucket, listAll) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"existing/record.csv"}, keys)
}

func TestPlanFromReports(t *testing.T) {
	dir := t.TempDir()
	memJSON, fileJSON := filepath.Join(dir, "mem.json"), filepath.Join(dir, "file.json")
	code, _, _ := runCLI(t, "conform", "--blob", "mem://", small, "--format", "json", "--out", memJSON)
	require.Equal(t, exitOK, code)
	fdir := filepath.Join(dir, "fb")
	require.NoError(t, os.Mkdir(fdir, 0o755))
	code, _, _ = runCLI(t, "conform", "--blob", "file://"+fdir, small, "--format", "json", "--out", fileJSON)
	require.Equal(t, exitOK, code)
	// mem and file measure the same today: make the target's report say
	// special_keys fails, as a report of a backend that loses keys would.
	data, err := os.ReadFile(fileJSON)
	require.NoError(t, err)
	rep, err := report.Read(bytes.NewReader(data))
	require.NoError(t, err)
	for i, r := range rep.Backends[0].Results {
		if r.Capability == conformance.BlobSpecialKeys {
			rep.Backends[0].Results[i].Status, rep.Backends[0].Results[i].Detail = conformance.Fail, "2 of 30 keys did not round-trip (edited for the test)"
		}
	}
	var buf bytes.Buffer
	require.NoError(t, report.WriteJSON(&buf, rep))
	require.NoError(t, os.WriteFile(fileJSON, buf.Bytes(), 0o600))

	code, out, _ := runCLI(t, "plan", "--from-report", memJSON, "--to-report", fileJSON)
	assert.Equal(t, exitProblem, code, "mem -> file loses special keys")
	assert.Regexp(t, `(?s)LOST: passes on the source, not on the target \(\d+\)\n.*  blob.special_keys\s+pass -> fail.*gained`, out)

	code, out, _ = runCLI(t, "plan", "--from-report", fileJSON, "--to-report", memJSON, "--format", "json")
	assert.Equal(t, exitOK, code, out)
	var p report.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Empty(t, p.Lost)
	assert.NotEmpty(t, p.Gained)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{"), 0o600))
	code, _, errOut := runCLI(t, "plan", "--from-report", filepath.Join(dir, "junk.json"), "--to-report", memJSON)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not a civicport conformance report")
}

// pubsubFast keeps the CLI's pubsub runs short: fewer messages and a short
// wait for unacked messages (the mem:// and JetStream URLs below redeliver
// after 1-2 s).
var pubsubFast = []string{"--messages", "200", "--ack-deadline", "10s"}

// A mem:// pair, run in-process by runCLI: mem topics live in this test
// process, so the CLI's pair is this process's. mempubsub delivers in map
// order and has no dead-letter queue: ordering and dead_letter are
// unsupported, everything else passes.
func TestConformPubSubMem(t *testing.T) {
	name := testenv.UniqueName("conform-mem")
	topic, sub := "mem://"+name, "mem://"+name+"?ackdeadline=1s"
	args := append([]string{"conform", "--topic", topic, "--subscription", sub, "--format", "json"}, pubsubFast...)
	code, out, errOut := runCLI(t, args...)
	require.Equal(t, exitOK, code, errOut)
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, rep.Backends, 1)
	b := rep.Backends[0]
	assert.Equal(t, "pubsub", b.Kind)
	assert.Equal(t, topic, b.URL)
	assert.Equal(t, "subscription "+sub, b.Via)
	var caps []string
	for _, r := range b.Results {
		caps = append(caps, r.Capability)
		want := conformance.Pass
		if r.Capability == conformance.PubSubOrdering || r.Capability == conformance.PubSubDeadLetter {
			want = conformance.Unsupported
		}
		assert.Equal(t, want, r.Status, "%s", r)
	}
	assert.Equal(t, conformance.PubSubCapabilities(), caps)
	var raw struct {
		Backends []map[string]any `json:"backends"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	assert.Equal(t, "pubsub", raw.Backends[0]["kind"])

	// With --blob too, and --capability naming one of each kind; table and
	// markdown name the kind / the capability.
	code, out, errOut = runCLI(t, append([]string{"conform", "--blob", "mem://", small, "--topic", topic, "--subscription", sub,
		"--capability", "blob.read_write,pubsub.metadata"}, pubsubFast...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `(?m)^mem://  \(blob, 1 pass`, out)
	assert.Regexp(t, `(?m)^mem://\S+ via subscription mem://\S+  \(pubsub, 1 pass, 0 fail`, out)
	assert.Regexp(t, `pubsub\.metadata\s+pass`, out)
	assert.NotContains(t, out, "pubsub.at_least_once")

	code, out, errOut = runCLI(t, append([]string{"conform", "--topic", topic, "--subscription", sub, "--format", "markdown",
		"--capability", "pubsub.nack_redelivery"}, pubsubFast...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "| `pubsub.nack_redelivery` | pass |")
}

// newJetStreamPair returns create=true JetStream URLs of a fresh stream and
// durable consumer (ack wait 2 s), deleted when t ends.
func newJetStreamPair(t *testing.T) (srv testenv.NATSServer, stream, topic, sub string) {
	t.Helper()
	srv = testenv.NATS(t)
	stream = srv.StreamName("cp-conform")
	subject := srv.Subject("cp.conform")
	consumer := srv.StreamName("cp-conform-sub")
	srv.DeleteStreamAtCleanup(t, stream)
	return srv, stream,
		fmt.Sprintf("jetstream://%s/%s?create=true", stream, subject),
		fmt.Sprintf("jetstream://%s/%s?create=true&ack_wait=2s&max_deliver=20", stream, consumer)
}

// A JetStream pair through civicport's jetstream:// driver, JUnit output:
// nothing fails; dead_letter (no --dead-letter) is a skipped testcase.
func TestConformPubSubJetStreamJUnit(t *testing.T) {
	_, _, topic, sub := newJetStreamPair(t)
	code, out, errOut := runCLI(t, append([]string{"conform", "--topic", topic, "--subscription", sub, "--format", "junit"}, pubsubFast...)...)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Skipped   *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &suites))
	assert.Equal(t, len(conformance.PubSubCapabilities()), suites.Tests)
	assert.Zero(t, suites.Failures, out)
	require.Len(t, suites.Suites, 1)
	assert.Equal(t, "pubsub "+topic, suites.Suites[0].Name)
	for _, c := range suites.Suites[0].Cases {
		assert.Equal(t, "civicport.conform.pubsub", c.Classname)
		if c.Name == conformance.PubSubDeadLetter {
			require.NotNil(t, c.Skipped)
			assert.Contains(t, c.Skipped.Message, "unsupported: ")
		}
	}
}

// A subscription that cannot be opened or reached is bad input (exit 2),
// found before the suite runs, not a report of failed capabilities (exit 1):
// here a JetStream consumer that does not exist, opened without create=true.
func TestConformPubSubMissingConsumerExits2(t *testing.T) {
	srv, stream, topic, sub := newJetStreamPair(t)
	missing := "jetstream://" + stream + "/" + srv.StreamName("no-such-consumer")
	code, out, errOut := runCLI(t, "conform", "--topic", topic, "--subscription", missing, "--format", "json")
	assert.Equal(t, exitUsage, code, errOut)
	assert.Empty(t, out, "no report")
	assert.Contains(t, errOut, "--subscription: receive from "+missing)
	assert.Contains(t, errOut, "not found")

	// The same for the dead-letter subscription.
	code, _, errOut = runCLI(t, "conform", "--topic", topic, "--subscription", sub, "--dead-letter", missing)
	assert.Equal(t, exitUsage, code, errOut)
	assert.Contains(t, errOut, "--dead-letter: receive from "+missing)
}

func TestConformPubSubUsageExits2(t *testing.T) {
	noCloudCredentials(t)
	mem := "mem://" + testenv.UniqueName("conform-usage")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform", "--topic", mem}, "--subscription URL is required with --topic"},
		{[]string{"conform", "--blob", "mem://", "--topic", mem}, "--subscription URL is required with --topic"},
		{[]string{"conform", "--subscription", mem}, "--topic URL is required with --subscription"},
		{[]string{"conform", "--dead-letter", mem}, "--dead-letter needs --topic URL --subscription URL"},
		{[]string{"conform", "--topic", mem, "--subscription", mem, "--max-deliveries", "3"}, "--max-deliveries needs --dead-letter"},
		{[]string{"conform", "--topic", mem, "--subscription", mem, "--dead-letter", mem, "--max-deliveries", "-1"}, "--max-deliveries -1"},
		{[]string{"conform", "--topic", mem, "--subscription", mem, "--capability", "pubsub.nope"},
			`--capability: unknown capability "pubsub.nope"; valid names: pubsub.at_least_once, pubsub.nack_redelivery`},
		{[]string{"conform", "--blob", "mem://", "--capability", "blob.nope,pubsub.nope"},
			`unknown capabilities "blob.nope, pubsub.nope"; valid names: blob.read_write`},
		{[]string{"conform", "--blob", "mem://", "--topic", mem, "--subscription", mem, "--capability", "pubsub.metadata"},
			"--capability names no blob capability, but --blob is given"},
		{[]string{"conform", "--blob", "mem://", "--topic", mem, "--subscription", mem, "--capability", "blob.md5"},
			"--capability names no pubsub capability, but --topic is given"},
		{[]string{"conform", "--topic", "ftp://x", "--subscription", mem}, `unknown topic scheme "ftp"`},
		{[]string{"conform", "--topic", mem, "--subscription", "mem://" + testenv.UniqueName("no-topic")}, "--subscription"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
	}
	// Credentials in a URL never reach the error message.
	code, _, errOut := runCLI(t, "conform", "--topic", mem+"?api_key=hunter2-secret", "--subscription", mem)
	assert.Equal(t, exitUsage, code)
	assert.NotContains(t, errOut, "hunter2-secret")
	assert.NotEmpty(t, errOut)
}

// A base64key:// keeper, run in-process: every secrets capability passes,
// the report's kind is "secrets" and the key is never printed.
func TestConformSecretsBase64Key(t *testing.T) {
	const key = "smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	u := "base64key://" + key
	code, out, errOut := runCLI(t, "conform", "--secrets", u, "--large-plaintext-size", "1048576", "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, out+errOut, key)
	assert.NotContains(t, out+errOut, strings.TrimSuffix(key, "="))
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, rep.Backends, 1)
	b := rep.Backends[0]
	assert.Equal(t, "secrets", b.Kind)
	assert.True(t, strings.HasPrefix(b.URL, "base64key://"), b.URL)
	var caps []string
	for _, r := range b.Results {
		caps = append(caps, r.Capability)
		assert.Equal(t, conformance.Pass, r.Status, "%s", r)
	}
	assert.Equal(t, conformance.SecretsCapabilities(), caps)
	r, _ := conformance.Find(b.Results, conformance.SecretsLargePlaintext)
	assert.Contains(t, r.Detail, "1 MiB streamed through an envelope")
	var raw struct {
		Backends []map[string]any `json:"backends"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	assert.Equal(t, "secrets", raw.Backends[0]["kind"])

	// Table, Markdown and JUnit; with --blob too, --capability naming one
	// of each kind.
	code, out, errOut = runCLI(t, "conform", "--blob", "mem://", small, "--secrets", u, "--capability", "blob.read_write,secrets.tamper_detect")
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `(?m)^mem://  \(blob, 1 pass`, out)
	assert.Regexp(t, `(?m)^base64key://\S*  \(secrets, 1 pass, 0 fail`, out)
	assert.Regexp(t, `secrets\.tamper_detect\s+pass`, out)
	assert.NotContains(t, out, "secrets.roundtrip")
	assert.NotContains(t, out, key)

	code, out, errOut = runCLI(t, "conform", "--secrets", "base64key://", "--format", "markdown", "--capability", "secrets.roundtrip")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "| `secrets.roundtrip` | pass |")

	code, out, errOut = runCLI(t, "conform", "--secrets", u, "--format", "junit", "--capability", "secrets.roundtrip,secrets.key_rotation")
	require.Equal(t, exitOK, code, errOut)
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &suites))
	assert.Equal(t, 2, suites.Tests)
	assert.Zero(t, suites.Failures)
	require.Len(t, suites.Suites, 1)
	assert.Equal(t, "civicport.conform.secrets", suites.Suites[0].Cases[0].Classname)
	assert.NotContains(t, out, key)
}

// faultySecretsScheme is a keeper scheme registered by this test file whose
// keeper does not encrypt (the ciphertext is the plaintext).
const faultySecretsScheme = "cptestidentity"

func init() {
	gcsecrets.DefaultURLMux().RegisterKeeper(faultySecretsScheme, identityOpener{})
}

type identityOpener struct{}

func (identityOpener) OpenKeeperURL(context.Context, *url.URL) (*gcsecrets.Keeper, error) {
	return gcsecrets.NewKeeper(identityKeeper{}), nil
}

type identityKeeper struct{}

func (identityKeeper) Encrypt(_ context.Context, p []byte) ([]byte, error) {
	return append([]byte{}, p...), nil
}
func (identityKeeper) Decrypt(_ context.Context, c []byte) ([]byte, error) {
	return append([]byte{}, c...), nil
}
func (identityKeeper) Close() error                       { return nil }
func (identityKeeper) ErrorAs(error, any) bool            { return false }
func (identityKeeper) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }

// A keeper that does not encrypt fails secrets.roundtrip: exit 1, with the
// evidence in the report.
func TestConformSecretsFailingKeeperExits1(t *testing.T) {
	code, out, errOut := runCLI(t, "conform", "--secrets", faultySecretsScheme+"://k", "--capability", "secrets.roundtrip,secrets.tamper_detect", "--format", "json")
	assert.Equal(t, exitProblem, code, errOut)
	assert.Contains(t, errOut, "a capability failed")
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, rep.Backends, 1)
	assert.Equal(t, "secrets", rep.Backends[0].Kind)
	r, _ := conformance.Find(rep.Backends[0].Results, conformance.SecretsRoundtrip)
	assert.Equal(t, conformance.Fail, r.Status)
	assert.Contains(t, r.Detail, "the ciphertext equals the plaintext (no encryption)")
	r, _ = conformance.Find(rep.Backends[0].Results, conformance.SecretsTamperDetect)
	assert.Equal(t, conformance.Fail, r.Status)
}

func TestConformSecretsBadInputExits2(t *testing.T) {
	noCloudCredentials(t)
	const shortKey = "c2hvcnQta2V5LXNlY3JldA==" // "short-key-secret": not 32 bytes
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform", "--secrets", "nosuch://x"}, `--secrets: open keeper nosuch://x: unknown scheme "nosuch"`},
		{[]string{"conform", "--secrets", "base64key://" + shortKey}, "--secrets: open keeper base64key://sha256:"},
		{[]string{"conform", "--secrets", "awskms://alias/none?region=us-east-1&endpoint=" + url.QueryEscape("http://127.0.0.1:1")}, "--secrets: encrypt with awskms://alias/none"},
		{[]string{"conform", "--blob", "mem://", "--secrets", "nosuch://x"}, "--secrets: open keeper nosuch://x"},
		{[]string{"conform", "--secrets", "base64key://", "--capability", "secrets.nope"},
			`--capability: unknown capability "secrets.nope"; valid names: secrets.roundtrip, secrets.tamper_detect, secrets.large_plaintext, secrets.key_rotation`},
		{[]string{"conform", "--secrets", "base64key://", "--capability", "blob.md5"},
			"--capability names no secrets capability, but --secrets is given; secrets capabilities: secrets.roundtrip"},
		{[]string{"conform", "--blob", "mem://", "--secrets", "base64key://", "--capability", "secrets.roundtrip"},
			"--capability names no blob capability, but --blob is given"},
		{[]string{"conform", "--secrets", "base64key://", "--large-plaintext-size", "0"}, "--large-plaintext-size 0: want a positive number of bytes"},
		{[]string{"conform", "--format", "json"}, "--blob URL is required, or --secrets URL"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.NotContains(t, errOut, shortKey, "%v", tc.args)
		assert.NotContains(t, errOut, "goroutine", "no stack traces")
	}
}

// A key that does not exist on a reachable KMS is exit 2 too, found by the
// probe before the suite runs.
func TestConformSecretsUnknownKMSKeyExits2(t *testing.T) {
	kms := testenv.LocalKMS(t)
	u := kms.URL("00000000-0000-0000-0000-000000000000")
	code, out, errOut := runCLI(t, "conform", "--secrets", u)
	assert.Equal(t, exitUsage, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "--secrets: encrypt with "+secrets.RedactURL(u))
}

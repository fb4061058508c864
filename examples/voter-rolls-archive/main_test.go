package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/examples/internal/exmain"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

const date = "2026-07-01"

func runArchive(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(testenv.Context(t), args, &out)
	t.Logf("voter-rolls-archive %s\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

// noProfileEnv makes sure the default local profile is used.
func noProfileEnv(t *testing.T) {
	t.Setenv(profile.EnvProfile, "")
}

// TestLocalDefault: `go run ./examples/voter-rolls-archive` with no flag,
// no variable and no server.
func TestLocalDefault(t *testing.T) {
	noProfileEnv(t)
	out, err := runArchive(t, "-rows", "500")
	require.NoError(t, err)
	assert.Contains(t, out, "profile:      local")
	assert.Contains(t, out, ": 500 voters,")
	assert.Contains(t, out, "retention   NOT ENFORCED by this bucket")
	assert.Contains(t, out, "warn  retention")
	assert.Equal(t, 2, strings.Count(out, "ok    read with one key"), "each ring key alone reads the file")
	assert.Contains(t, out, "ok    audit log              6 entries, all under a checkpoint signed by voter-rolls-clerk")
	assert.Contains(t, out, "result: OK (8 checks)")
}

// localKEK is the KEK the example builds from a key file in DIR/keys.
func localKEK(t *testing.T, ctx context.Context, dir, name string) envelope.KEK {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dir, "keys", name))
	require.NoError(t, err)
	u := "base64key://" + strings.TrimSpace(string(key))
	k, err := secrets.Open(ctx, u)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	return envelope.KEK{ID: secrets.RedactURL(u), Keeper: k}
}

// TestLocalDir: an export kept in -dir; each key of the ring reads it, a
// third key does not; the same date is not exported twice; every kind of
// tampering after the fact makes -verify-only fail and names the check.
func TestLocalDir(t *testing.T) {
	noProfileEnv(t)
	ctx := testenv.Context(t)
	dir := t.TempDir()
	out, err := runArchive(t, "-dir", dir, "-date", date, "-rows", "300")
	require.NoError(t, err)
	require.Contains(t, out, "result: OK (8 checks)")
	key := recordsPrefix + date + "/registrations.csv"
	bucketURL := "file://" + filepath.ToSlash(filepath.Join(dir, "bucket"))
	want, _ := syntheticRolls(date, 300)

	t.Run("each ring key alone decrypts", func(t *testing.T) {
		for _, name := range []string{"county.key", "offline.key"} {
			raw, err := blob.Open(ctx, bucketURL)
			require.NoError(t, err)
			b, err := seal.Wrap(raw, []envelope.KEK{localKEK(t, ctx, dir, name)}, nil)
			require.NoError(t, err)
			got, err := b.ReadAll(ctx, key)
			require.NoError(t, b.Close())
			require.NoError(t, err, name)
			assert.Equal(t, want, got, name)
		}
		stranger, err := secrets.Open(ctx, "base64key://")
		require.NoError(t, err)
		defer stranger.Close()
		raw, err := blob.Open(ctx, bucketURL)
		require.NoError(t, err)
		b, err := seal.Wrap(raw, []envelope.KEK{{ID: "stranger", Keeper: stranger}}, nil)
		require.NoError(t, err)
		defer b.Close()
		_, err = b.ReadAll(ctx, key)
		assert.ErrorIs(t, err, envelope.ErrWrongKey)
		// The provider holds ciphertext only.
		stored, err := os.ReadFile(filepath.Join(dir, "bucket", filepath.FromSlash(key)))
		require.NoError(t, err)
		assert.NotContains(t, string(stored), "voter_id")
	})

	t.Run("verify-only on the untouched export", func(t *testing.T) {
		out, err := runArchive(t, "-dir", dir, "-date", date, "-verify-only")
		require.NoError(t, err)
		assert.Contains(t, out, "result: OK (8 checks)")
		assert.NotContains(t, out, "export ")
	})

	t.Run("the same date is not archived twice", func(t *testing.T) {
		_, err := runArchive(t, "-dir", dir, "-date", date)
		require.ErrorContains(t, err, "already archived")
	})

	// Each tampering works on a copy of the archive.
	tamper := func(t *testing.T, change func(t *testing.T, dir string)) string {
		t.Helper()
		cp := t.TempDir()
		require.NoError(t, os.CopyFS(cp, os.DirFS(dir)))
		change(t, cp)
		out, err := runArchive(t, "-dir", cp, "-date", date, "-verify-only")
		require.ErrorContains(t, err, "verification failed")
		assert.Contains(t, out, "result: FAILED")
		return out
	}
	stored := func(dir, key string) string { return filepath.Join(dir, "bucket", filepath.FromSlash(key)) }

	t.Run("a flipped byte in the stored file", func(t *testing.T) {
		out := tamper(t, func(t *testing.T, dir string) {
			p := stored(dir, key)
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			data[len(data)/2] ^= 0x01
			require.NoError(t, os.WriteFile(p, data, 0o600))
		})
		assert.Regexp(t, `FAIL  bucket vs manifest .*tampered`, out)
		assert.Equal(t, 2, strings.Count(out, "FAIL  read with one key"))
		assert.Contains(t, out, "ok    audit log ")
	})

	t.Run("an insider with the keys rewrites the file, bypassing the audit log", func(t *testing.T) {
		out := tamper(t, func(t *testing.T, dir string) {
			raw, err := blob.Open(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "bucket")))
			require.NoError(t, err)
			b, err := seal.Wrap(raw, []envelope.KEK{localKEK(t, ctx, dir, "county.key"), localKEK(t, ctx, dir, "offline.key")}, nil)
			require.NoError(t, err)
			defer b.Close()
			extra := append(append([]byte(nil), want...), []byte("EX99999999,Mallory,Eve,1970,1 Fake St,Exampleville,99001,P-001,IND,2026-06-30,active\n")...)
			require.NoError(t, b.WriteAll(ctx, key, extra, nil))
		})
		assert.Regexp(t, `FAIL  bucket vs manifest .*mismatch`, out)
		assert.Equal(t, 2, strings.Count(out, "FAIL  read with one key"))
		assert.Contains(t, out, "ok    audit log ")
	})

	t.Run("the manifest edited to match a rewritten file", func(t *testing.T) {
		out := tamper(t, func(t *testing.T, dir string) {
			p := stored(dir, manifestPrefix+date+".jsonl")
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			var e migrate.Entry
			require.NoError(t, json.Unmarshal(data, &e))
			e.SHA256 = strings.Repeat("0", 64)
			line, err := json.Marshal(e)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, append(line, '\n'), 0o600))
		})
		assert.Contains(t, out, "FAIL  manifest signature")
	})

	t.Run("an audit log entry edited", func(t *testing.T) {
		out := tamper(t, func(t *testing.T, dir string) {
			p := stored(dir, auditPrefix+audit.EntryKey(0))
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			e, err := audit.ParseEntry(data)
			require.NoError(t, err)
			require.Equal(t, key, e.Key)
			changed := bytes.Replace(data, []byte(e.SHA256), []byte(strings.Repeat("f", 64)), 1)
			require.NotEqual(t, data, changed)
			require.NoError(t, os.WriteFile(p, changed, 0o600))
		})
		assert.Regexp(t, `FAIL  audit log +\d+ problems, first bad entry 0`, out)
	})
}

func TestUsage(t *testing.T) {
	noProfileEnv(t)
	for _, args := range [][]string{{"-date", "tomorrow"}, {"-retention", "forever"}, {"-verify-only"}, {"extra"}} {
		_, err := runArchive(t, args...)
		assert.ErrorIs(t, err, exmain.ErrUsage, "%v", args)
	}
}

// TestOnPremObjectLock: the onprem profile from a file (MinIO bucket with
// object lock, SoftHSM2 key, NATS JetStream), with the second key on
// local-kms (AWS KMS API): retention is set and enforced, and tampering is
// caught.
func TestOnPremObjectLock(t *testing.T) {
	s3 := testenv.MinIO(t)
	hsm := testenv.SoftHSM(t)
	n := testenv.NATS(t)
	kms := testenv.LocalKMS(t)
	ctx := testenv.Context(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	t.Setenv("PKCS11_PIN", hsm.PIN)
	noProfileEnv(t)

	stream := n.StreamName("VOTER_ROLLS")
	cfg := profile.Config{Profile: profile.OnPrem, OnPrem: profile.OnPremConfig{
		S3Endpoint:        s3.Endpoint(),
		Bucket:            s3.NewBucket(t, testenv.WithObjectLock()),
		Region:            s3.Region,
		PKCS11Module:      hsm.Module,
		PKCS11Token:       hsm.Token,
		PKCS11Key:         testenv.UniqueName("voter-rolls"),
		PKCS11CreateKey:   true,
		Messaging:         "jetstream",
		JetStreamStream:   stream,
		JetStreamSubject:  n.Subject("voter.rolls"),
		JetStreamConsumer: n.StreamName("archive"),
		JetStreamCreate:   true,
	}}
	data, err := json.Marshal(cfg)
	require.NoError(t, err)
	dir := t.TempDir()
	profileFile := filepath.Join(dir, "civicport.json")
	require.NoError(t, os.WriteFile(profileFile, data, 0o600))

	args := []string{"-profile", profileFile, "-dir", dir, "-date", date, "-rows", "300", "-second-keeper", kms.NewKeyURL(t)}
	out, err := runArchive(t, args...)
	require.NoError(t, err)
	assert.Contains(t, out, "profile:      onprem")
	assert.Contains(t, out, "retention   3 objects retained (governance) until 2028-09-04")
	assert.Contains(t, out, "ok    retention              governance until 2028-09-04")
	assert.Regexp(t, `ok    wrapped keys .*pkcs11://.*awskms://`, out)
	assert.Equal(t, 2, strings.Count(out, "ok    read with one key"))
	assert.Contains(t, out, "result: OK (8 checks)")

	// Retention is enforced: the archived version cannot be deleted.
	bucketURL := s3.S3URL(cfg.OnPrem.Bucket)
	raw, err := blob.Open(ctx, bucketURL)
	require.NoError(t, err)
	defer raw.Close()
	key := recordsPrefix + date + "/registrations.csv"
	version, err := retention.CurrentVersion(ctx, raw, key)
	require.NoError(t, err)
	err = retention.Delete(ctx, raw, key, retention.VersionID(version))
	require.Error(t, err)
	assert.Equal(t, gcerrors.PermissionDenied, gcerrors.Code(err), "%v", err)

	// An overwrite adds a version (the retained one stays): verification
	// of the current version fails.
	require.NoError(t, raw.WriteAll(ctx, key, []byte("voter_id\nEX00000001\n"), nil))
	out, err = runArchive(t, append(slices.Clone(args), "-verify-only")...)
	require.ErrorContains(t, err, "verification failed")
	assert.Contains(t, out, "FAIL  bucket vs manifest")
	assert.Contains(t, out, "ok    audit log ")
	assert.Contains(t, out, "ok    manifest signature")
}

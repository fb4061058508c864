package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

func keyURL(t *testing.T) string {
	k, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	return "base64key://" + base64.URLEncoding.EncodeToString(k[:])
}

func sealedWith(t *testing.T, keeperURL, bucketURL string) *sealed {
	ctx := context.Background()
	k, err := secrets.Open(ctx, keeperURL)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	return &sealed{kek: envelope.KEK{ID: secrets.RedactURL(keeperURL), Keeper: k}, url: bucketURL, t: t}
}

type sealed struct {
	kek envelope.KEK
	url string
	t   *testing.T
}

func (s *sealed) write(key, body string) {
	b, err := seal.Wrap(open(s.t, s.url), []envelope.KEK{s.kek}, nil)
	require.NoError(s.t, err)
	require.NoError(s.t, b.WriteAll(context.Background(), key, []byte(body), nil))
}

func (s *sealed) read(key string) (string, error) {
	b, err := seal.Wrap(open(s.t, s.url), []envelope.KEK{s.kek}, nil)
	require.NoError(s.t, err)
	got, err := b.ReadAll(context.Background(), key)
	return string(got), err
}

func TestRewrap(t *testing.T) {
	_, bucket := emptyBucket(t)
	oldURL, newURL := keyURL(t), keyURL(t)
	old := sealedWith(t, oldURL, bucket)
	for i := range 5 {
		old.write(fmt.Sprintf("rolls/%d.csv", i), strings.Repeat("voter,", 1000+i))
	}
	code, out, errOut := runCLI(t, "rewrap", "--bucket", bucket, "--from-keeper", oldURL, "--to-keeper", newURL)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "rewrap: objects 5: rewrapped 5")
	assert.NotContains(t, out+errOut, strings.TrimPrefix(newURL, "base64key://"), "keys never printed")

	got, err := sealedWith(t, newURL, bucket).read("rolls/3.csv")
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("voter,", 1003), got)
	_, err = old.read("rolls/3.csv")
	assert.True(t, errors.Is(err, envelope.ErrWrongKey), "the old keeper no longer opens it: %v", err)

	code, out, _ = runCLI(t, "rewrap", "--bucket", bucket, "--from-keeper", oldURL, "--to-keeper", newURL)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "skipped 5 (already done)", "resumable: a rerun does nothing")
}

func TestRewrapBadInputExits2(t *testing.T) {
	_, bucket := emptyBucket(t)
	k := keyURL(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rewrap", "--bucket", bucket}, "--bucket, --from-keeper and --to-keeper are all required"},
		{[]string{"rewrap", "--bucket", bucket, "--from-keeper", k, "--to-keeper", k}, "are the same keeper"},
		{[]string{"rewrap", "--bucket", bucket, "--from-keeper", "nokms://x", "--to-keeper", k}, "--from-keeper"},
		{[]string{"rewrap", "--bucket", "ftp://x", "--from-keeper", k, "--to-keeper", keyURL(t)}, `unknown scheme "ftp"`},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

func TestConformThroughSeal(t *testing.T) {
	code, out, errOut := runCLI(t, "conform", "--blob", "mem://", "--seal-keeper", keyURL(t), small, "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	rep, err := report.Read(strings.NewReader(out))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(rep.Backends[0].Via, "seal base64key://"), rep.Backends[0].Via)
	for _, r := range rep.Backends[0].Results {
		if r.Capability == "blob.read_write" || r.Capability == "blob.range_read" || r.Capability == "blob.large_object" {
			assert.Equal(t, "pass", string(r.Status), r.Capability)
		}
	}
}

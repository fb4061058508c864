package distribute

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/mempubsub"

	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/sign"
)

// noteKeys is a fresh note key pair named name, as a pubsub/sign Signer
// and Verifier.
func noteKeys(t *testing.T, name string) (sign.Signer, sign.Verifier) {
	t.Helper()
	ns, nv := testenv.NoteKeys(t, name)
	s, err := sign.NewNoteSignerFrom(ns)
	require.NoError(t, err)
	v, err := sign.NewNoteVerifierFrom(nv)
	require.NoError(t, err)
	return s, v
}

// An attacker who can publish to the work queue, but holds no coordinator
// key, sends items that would make a worker read a local directory and
// write it where the item says. With a Verifier, the worker refuses each
// (unsigned, signed by another key, signed then altered) before opening
// anything, records it, acks it once, and still does the signed item.
func TestWorkRefusesUnsignedForgedAndAlteredItems(t *testing.T) {
	ctx := context.Background()
	_, src := testenv.FileBucket(t, 4, 1000)
	dst := "file://" + t.TempDir()
	secretDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(secretDir, "voters.csv"), []byte("name,ssn\n"), 0o600))
	loot := filepath.Join(t.TempDir(), "loot")
	evil := Item{ID: "evil", From: "file://" + secretDir + "?secret=hunter22", To: "file://" + loot, Keys: []string{"voters.csv"}}

	coordinator, verifier := noteKeys(t, "coordinator")
	stranger, _ := noteKeys(t, "stranger")

	topic := mempubsub.NewTopic()
	defer topic.Shutdown(ctx)
	sub := mempubsub.NewSubscription(topic, 5*time.Second)
	defer sub.Shutdown(ctx)
	signedTopic, err := sign.Wrap(topic, coordinator)
	require.NoError(t, err)
	strangerTopic, err := sign.Wrap(topic, stranger)
	require.NoError(t, err)

	// 1. Unsigned.
	require.NoError(t, Publisher(topic)(ctx, evil))
	// 2. Signed by a key the worker does not trust.
	require.NoError(t, Publisher(strangerTopic)(ctx, evil))
	// 3. A good item captured and its body rewritten.
	good := Item{ID: "good", From: src, To: dst, Keys: []string{"ballots/box-00/scan 00000.tif"}}
	body, err := json.Marshal(good)
	require.NoError(t, err)
	md, err := sign.Message(ctx, coordinator, &pubsub.Message{Body: body, Metadata: map[string]string{MetadataItemID: "good"}})
	require.NoError(t, err)
	altered, err := json.Marshal(evil)
	require.NoError(t, err)
	require.NoError(t, topic.Send(ctx, &pubsub.Message{Body: altered, Metadata: md}))
	// 4. The real thing.
	require.NoError(t, Publisher(signedTopic)(ctx, good))

	var (
		mu      sync.Mutex
		results []ItemResult
		opened  []string
	)
	openSpy := func(ctx context.Context, u string) (*gcblob.Bucket, error) {
		mu.Lock()
		opened = append(opened, u)
		mu.Unlock()
		return open(ctx, u)
	}
	mdir := t.TempDir()
	sum, err := Work(ctx, sub, openSpy, mdir, &WorkOptions{
		Verifier:  verifier,
		UntilIdle: 300 * time.Millisecond,
		Report:    func(r ItemResult) { mu.Lock(); results = append(results, r); mu.Unlock() },
	})
	require.NoError(t, err)
	assert.Equal(t, 3, sum.Rejected, "each forged item refused once: acked, not redelivered")
	assert.Equal(t, 1, sum.Done)
	assert.Zero(t, sum.Failed)
	assert.ElementsMatch(t, []string{src, dst}, opened, "nothing a forged item names is opened")
	assert.NoDirExists(t, loot)

	var reasons []string
	for _, r := range results {
		if r.Rejected {
			require.Error(t, r.Err)
			assert.True(t, r.Acked)
			reasons = append(reasons, r.Err.Error())
		}
	}
	require.Len(t, reasons, 3)
	for _, want := range []string{"missing signature", `unknown key: no ed25519 key "stranger+`, "bad signature"} {
		n := 0
		for _, r := range reasons {
			if strings.Contains(r, want) {
				n++
			}
		}
		assert.Equal(t, 1, n, "one refusal for %q in %q", want, reasons)
	}

	// Each refusal is on record, with the item as claimed and its URLs
	// redacted.
	f, err := os.Open(filepath.Join(mdir, RejectedName))
	require.NoError(t, err)
	defer f.Close()
	var recs []Rejection
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Rejection
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		recs = append(recs, r)
		assert.NotContains(t, sc.Text(), "hunter22")
	}
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.WithinDuration(t, time.Now(), r.Time, time.Minute)
		assert.NotEmpty(t, r.Reason)
		assert.Equal(t, "", r.Item.ID, "an unverified body is not parsed")
	}
	assert.FileExists(t, filepath.Join(mdir, ManifestName("good")))
}

type failingVerifier struct{}

func (failingVerifier) Verify(context.Context, string, string, []byte, []byte) error {
	return errors.New("kms: connection refused")
}

// A verifier that cannot check (not a bad signature) nacks the item for
// another try; it is neither refused nor recorded.
func TestWorkNacksWhenSignatureCannotBeChecked(t *testing.T) {
	ctx := context.Background()
	_, src := testenv.FileBucket(t, 1, 1000)
	topic := mempubsub.NewTopic()
	defer topic.Shutdown(ctx)
	sub := mempubsub.NewSubscription(topic, 5*time.Second)
	defer sub.Shutdown(ctx)
	coordinator, _ := noteKeys(t, "coordinator")
	st, err := sign.Wrap(topic, coordinator)
	require.NoError(t, err)
	require.NoError(t, Publisher(st)(ctx, Item{ID: "1", From: src, To: "file://" + t.TempDir(), Keys: []string{"k"}}))

	mdir := t.TempDir()
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var results []ItemResult
	sum, _ := Work(wctx, sub, open, mdir, &WorkOptions{
		Verifier:  failingVerifier{},
		UntilIdle: 500 * time.Millisecond,
		Report:    func(r ItemResult) { results = append(results, r) },
	})
	require.GreaterOrEqual(t, sum.Failed, 2, "nacked and delivered again")
	assert.Zero(t, sum.Rejected)
	assert.Zero(t, sum.Done)
	require.NotEmpty(t, results)
	assert.ErrorContains(t, results[0].Err, "check the item's signature: kms: connection refused")
	assert.False(t, results[0].Acked)
	assert.NoFileExists(t, filepath.Join(mdir, RejectedName))
}

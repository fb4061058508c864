package distribute

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
)

func open(ctx context.Context, u string) (*gcblob.Bucket, error) { return blob.Open(ctx, u) }

func TestPlanWorkMerge(t *testing.T) {
	ctx := context.Background()
	srcDir, src := testenv.FileBucket(t, 95, 1000)
	_, dst := t.TempDir(), "file://"+t.TempDir()
	sb, err := blob.Open(ctx, src)
	require.NoError(t, err)
	defer sb.Close()

	topic := mempubsub.NewTopic()
	sub := mempubsub.NewSubscription(topic, 5*time.Second)
	defer sub.Shutdown(ctx)

	mdir := t.TempDir()
	// Planned twice: each item is processed twice, the second time
	// copying nothing; the merge lists each key once.
	for range 2 {
		pf, err := os.Create(filepath.Join(mdir, PlanName))
		require.NoError(t, err)
		items, objects, err := Plan(ctx, sb, src, dst, "", 10, Recording(pf, Publisher(topic)))
		require.NoError(t, pf.Close())
		require.NoError(t, err)
		assert.Equal(t, 10, items)
		assert.Equal(t, 95, objects)
	}
	// A key deleted after planning is reported and left out.
	gone := "ballots/box-00/scan 00000.tif"
	require.NoError(t, os.Remove(filepath.Join(srcDir, filepath.FromSlash(gone))))

	_, _, err = Merge(mdir, &bytes.Buffer{})
	require.ErrorContains(t, err, "10 planned items have no manifest yet")

	var (
		mu      sync.Mutex
		results []ItemResult
	)
	sum, err := Work(ctx, sub, open, mdir, &WorkOptions{Workers: 2, UntilIdle: 300 * time.Millisecond, Report: func(r ItemResult) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}})
	require.NoError(t, err)
	assert.Equal(t, 20, sum.Done)
	assert.Zero(t, sum.Failed)
	var copied, skipped int64
	vanished := 0
	for _, r := range results {
		require.NoError(t, r.Err)
		copied += r.Summary.Copied
		skipped += r.Summary.Skipped
		vanished += len(r.Vanished)
		assert.FileExists(t, r.Manifest)
	}
	// Twin items may run at once (Workers 2): both may copy an object.
	assert.EqualValues(t, 2*94, copied+skipped)
	assert.GreaterOrEqual(t, copied, int64(94))
	assert.Equal(t, 2, vanished)

	var out bytes.Buffer
	n, files, err := Merge(mdir, &out)
	require.NoError(t, err)
	assert.Equal(t, 94, n)
	assert.Equal(t, 10, files)
	entries, err := migrate.ReadManifest(&out)
	require.NoError(t, err)
	db, err := blob.Open(ctx, dst)
	require.NoError(t, err)
	defer db.Close()
	rep, err := migrate.VerifyManifest(ctx, db, entries, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.EqualValues(t, 94, rep.Verified)
	left, _ := filepath.Glob(filepath.Join(mdir, ".*"))
	assert.Empty(t, left, "no temporary manifests left")
}

func TestWorkNacksFailedItemAndWritesNoManifest(t *testing.T) {
	ctx := context.Background()
	_, src := testenv.FileBucket(t, 3, 1000)
	topic := mempubsub.NewTopic()
	sub := mempubsub.NewSubscription(topic, 5*time.Second)
	defer sub.Shutdown(ctx)
	pub := Publisher(topic)
	require.NoError(t, pub(ctx, Item{ID: "1", From: src, To: "file:///nonexistent/dir/for/sure", Keys: []string{"ballots/box-00/scan 00000.tif"}}))
	require.NoError(t, topic.Send(ctx, &pubsub.Message{Body: []byte("not json")}))
	require.NoError(t, pub(ctx, Item{ID: "2", From: src, To: "file:///elsewhere", Keys: []string{"k"}}))

	mdir := t.TempDir()
	var results []ItemResult
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sum, _ := Work(wctx, sub, open, mdir, &WorkOptions{
		UntilIdle: 500 * time.Millisecond,
		Allow: func(it Item) error {
			if it.ID == "2" {
				return fmt.Errorf("not my buckets")
			}
			return nil
		},
		Report: func(r ItemResult) { results = append(results, r) },
	})
	require.GreaterOrEqual(t, sum.Failed, 1, "nacked, redelivered, failed again")
	assert.Equal(t, 2, sum.Rejected)
	for _, r := range results {
		require.Error(t, r.Err)
		if r.Rejected {
			assert.True(t, r.Acked)
		} else {
			assert.False(t, r.Acked)
			assert.Contains(t, r.Err.Error(), "open destination")
		}
	}
	files, _ := filepath.Glob(filepath.Join(mdir, "*item-*"))
	assert.Empty(t, files, "no item manifest, not even a temporary one")
	rejected, err := os.ReadFile(filepath.Join(mdir, RejectedName))
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(rejected), "\n"), "both refusals recorded: %s", rejected)
	assert.Contains(t, string(rejected), "not my buckets")
}

func TestMergeRejectsConflict(t *testing.T) {
	dir := t.TempDir()
	line := func(sha string) string {
		return fmt.Sprintf(`{"key":"a","size":1,"sha256":"%s"}`+"\n", strings.Repeat(sha, 64))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "item-1.jsonl"), []byte(line("a")), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "item-2.jsonl"), []byte(line("a")), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".item-3.jsonl.123.tmp"), []byte("{half"), 0o600))
	var out bytes.Buffer
	n, files, err := Merge(dir, &out)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 2, files)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "item-3.jsonl"), []byte(line("b")), 0o600))
	_, _, err = Merge(dir, &out)
	require.ErrorContains(t, err, `key "a" is recorded differently in item-1.jsonl and item-3.jsonl`)
}

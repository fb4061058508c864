package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/blob/distribute"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/testing/testenv"
	"github.com/civicport/civicport/pubsub/shutdown"
)

// distWorker starts a worker process (this test binary as the CLI).
type distWorker struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
}

func startWorker(t *testing.T, args ...string) *distWorker {
	t.Helper()
	return startProcess(t, append([]string{"migrate", "--worker"}, args...)...)
}

// startProcess starts this test binary as the CLI with args in a child
// process, killed at the end of the test.
func startProcess(t *testing.T, args ...string) *distWorker {
	t.Helper()
	w := &distWorker{cmd: exec.Command(os.Args[0], args...)}
	w.cmd.Env = append(os.Environ(), "CIVICPORT_TEST_AS_CLI=1")
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.err
	require.NoError(t, w.cmd.Start())
	t.Cleanup(func() { _ = w.cmd.Process.Kill() })
	return w
}

func (w *distWorker) wait() int {
	err := w.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// Three workers share a JetStream work queue; one is killed with SIGKILL
// mid-run, the others and a restarted one finish; every key is in the
// merged manifest exactly once and both forms of verify pass.
func TestDistributedMigrateSurvivesKilledWorker(t *testing.T) {
	nats := testenv.NATS(t)
	const n, itemSize = 300, 20
	_, src := testenv.FileBucket(t, n, 64<<10)
	dstDir, dst := emptyBucket(t)
	mdir := filepath.Join(t.TempDir(), "items")
	topicURL, subURL, subject := nats.NewQueue("cpdist")

	skey, vkey := keyFiles(t, t.TempDir())

	start := time.Now()
	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--work-to", topicURL, "--item-size", fmt.Sprint(itemSize), "--manifest-dir", mdir, "--sign-key", skey)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, fmt.Sprintf("published %d items (%d objects, up to %d keys each)", n/itemSize, n, itemSize))
	createWorkers(t, subURL, subject)

	args := []string{"--work-from", subURL, "--manifest-dir", mdir, "--until-idle", "5s", "--workers", "2", "--from", src, "--to", dst, "--pubkey", vkey}
	victim := startWorker(t, args...)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		// Kill once an item is partly copied: more objects on the
		// destination than the finished items account for.
		if m, _ := filepath.Glob(filepath.Join(mdir, "item-*.jsonl")); len(m) >= 1 && countFiles(t, dstDir) > len(m)*itemSize {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	_ = victim.wait()
	done, _ := filepath.Glob(filepath.Join(mdir, "item-*.jsonl"))
	copied := countFiles(t, dstDir)
	t.Logf("killed after %d item manifests, %d objects on the destination (%d of an unfinished item)", len(done), copied, copied-len(done)*itemSize)
	require.Less(t, len(done), n/itemSize, "killed before the end")
	code, _, errOut = runCLI(t, "migrate", "--merge-manifests", mdir, "--manifest", filepath.Join(t.TempDir(), "early.jsonl"))
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, errOut, "planned items have no manifest yet")

	workers := []*distWorker{startWorker(t, args...), startWorker(t, args...), startWorker(t, args...)} // two more and the restarted one
	itemsDone := 0
	for i, w := range workers {
		require.Equal(t, 0, w.wait(), "worker %d:\n%s%s", i, w.out.String(), w.err.String())
		t.Logf("worker %d: %s", i, lastLine(w.out.String()))
		itemsDone += strings.Count(w.out.String(), "; verified ")
	}
	// The killed worker's unfinished item came back (after the ack wait).
	assert.GreaterOrEqual(t, itemsDone, n/itemSize-len(done))
	t.Logf("all items done in %s", time.Since(start).Round(time.Millisecond))

	items, _ := filepath.Glob(filepath.Join(mdir, "item-*.jsonl"))
	assert.Len(t, items, n/itemSize)
	tmp, _ := filepath.Glob(filepath.Join(mdir, ".*"))
	t.Logf("temporary manifests left by the killed worker: %d", len(tmp))

	mf := filepath.Join(t.TempDir(), "merged.jsonl")
	code, out, errOut = runCLI(t, "migrate", "--merge-manifests", mdir, "--manifest", mf, "--sign-key", skey)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, fmt.Sprintf("merged %d item manifests: %d objects", n/itemSize, n))
	assert.Contains(t, out, "signature: "+mf+".sig")
	data, err := os.ReadFile(mf)
	require.NoError(t, err)
	entries, err := migrate.ReadManifest(bytes.NewReader(data))
	require.NoError(t, err, "no key twice")
	assert.Len(t, entries, n)

	code, out, _ = runCLI(t, "verify", "--manifest", mf, "--bucket", dst, "--pubkey", vkey)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "verified")
	code, out, _ = runCLI(t, "verify", "--from", src, "--to", dst)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, fmt.Sprintf("verified %d ", n))
}

// The reproduction: someone who can publish to the work subject
// (no coordinator key) sends an item that names a local directory as its
// source and another as its destination. A worker started with --pubkey
// refuses it before opening anything, records it, acks it (it does not come
// back) and exits 1; the coordinator's signed items are done.
func TestDistributedWorkerRefusesForgedItem(t *testing.T) {
	nats := testenv.NATS(t)
	_, src := testenv.FileBucket(t, 6, 100)
	_, dst := emptyBucket(t)
	secretDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(secretDir, "voters.csv"), []byte("name,ssn\n"), 0o600))
	loot := filepath.Join(t.TempDir(), "loot")
	mdir := filepath.Join(t.TempDir(), "items")
	topicURL, subURL, subject := nats.NewQueue("cpforge")
	skey, vkey := keyFiles(t, t.TempDir())

	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--work-to", topicURL, "--item-size", "3", "--sign-key", skey)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "published 2 items")

	// The forgery, straight onto the subject the coordinator uses.
	topic, err := pubsub.OpenTopic(t.Context(), topicURL)
	require.NoError(t, err)
	forged := distribute.Item{ID: "forged", From: "file://" + secretDir, To: "file://" + loot, Keys: []string{"voters.csv"}}
	require.NoError(t, distribute.Publisher(topic)(t.Context(), forged))
	require.NoError(t, shutdown.Topic(t.Context(), topic))

	createWorkers(t, subURL, subject)

	// No --from/--to: the README's worker, trusting only the key.
	w := startWorker(t, "--work-from", subURL, "--manifest-dir", mdir, "--until-idle", "4s", "--pubkey", vkey)
	code = w.wait()
	assert.Equal(t, exitProblem, code, w.out.String()+w.err.String())
	assert.Contains(t, w.err.String(), "rejected (recorded in "+filepath.Join(mdir, distribute.RejectedName))
	assert.Contains(t, w.err.String(), "missing signature")
	assert.Contains(t, w.out.String(), "worker: items done 2 (6 objects), failed 0, rejected 1")
	assert.NoDirExists(t, loot, "nothing written where the forged item said")
	rec, err := os.ReadFile(filepath.Join(mdir, distribute.RejectedName))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(rec), "\n"), "refused once, never redelivered: %s", rec)

	// The signed items made a complete, mergeable run.
	mf := filepath.Join(t.TempDir(), "merged.jsonl")
	code, out, errOut = runCLI(t, "migrate", "--merge-manifests", mdir, "--manifest", mf)
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "merged 2 item manifests: 6 objects")
}

func TestDistributeUsage(t *testing.T) {
	_, src := testenv.FileBucket(t, 2, 10)
	_, dst := emptyBucket(t)
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists.jsonl")
	require.NoError(t, os.WriteFile(exists, nil, 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--worker", "--work-to", "jetstream://S/x"}, "give exactly one of"},
		{[]string{"migrate", "--worker", "--manifest-dir", dir}, "--worker needs --work-from"},
		{[]string{"migrate", "--work-from", "jetstream://S/C"}, "add --worker"},
		{[]string{"migrate", "--merge-manifests", dir, "--manifest-dir", dir}, "--manifest-dir goes with"},
		{[]string{"migrate", "--item-size", "5", "--from", src, "--to", dst}, "add --work-to"},
		{[]string{"migrate", "--work-to", "jetstream://S/x", "--from", src, "--to", dst, "--item-size", "0"}, "--item-size 0"},
		{[]string{"migrate", "--work-to", "jetstream://S/x", "--from", src}, "--from URL and --to URL are both required"},
		{[]string{"migrate", "--work-to", "nope://S/x", "--from", src, "--to", dst}, "--work-to"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--from", src}, "both --from and --to"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir}, "--worker needs --pubkey FILE"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--from", src, "--to", dst, "--idle-timeout", "-1s"}, "--idle-timeout -1s: want 0 or more"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--from", src, "--to", dst, "--object-timeout", "-1s"}, "--object-timeout -1s: want 0 or more"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--pubkey", filepath.Join(dir, "none")}, "--pubkey"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--pubkey", exists, "--sign-key", exists}, "a worker checks items with --pubkey"},
		{[]string{"migrate", "--work-to", "jetstream://S/x", "--from", src, "--to", dst, "--pubkey", exists}, "add --worker"},
		{[]string{"migrate", "--work-to", "jetstream://S/x", "--from", src, "--to", dst, "--sign-key", filepath.Join(dir, "none")}, "--sign-key"},
		{[]string{"migrate", "--merge-manifests", dir}, "needs --manifest FILE"},
		{[]string{"migrate", "--merge-manifests", dir, "--manifest", exists}, "exists"},
		{[]string{"migrate", "--merge-manifests", filepath.Join(dir, "none"), "--manifest", "x"}, "not a directory"},
		{[]string{"migrate", "--worker", "--work-from", "jetstream://S/C", "--manifest-dir", dir, "--dry-run"}, "--dry-run and --resume do not go"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	// Plain migrate is unchanged.
	code, out, errOut := runCLI(t, "migrate", "--from", src, "--to", dst, "--manifest", filepath.Join(dir, "m.jsonl"))
	require.Equal(t, exitOK, code, out+errOut)
	assert.Contains(t, out, "copied 2 ")
}

// createWorkers creates the workers' durable consumer subURL on subject, as
// an operator would (a short ack wait, so that a killed worker's item comes
// back quickly).
func createWorkers(t *testing.T, subURL, subject string) {
	t.Helper()
	sub, err := pubsub.OpenSubscription(t.Context(), subURL+"?create=true&filter_subject="+subject+"&ack_wait=2s")
	require.NoError(t, err)
	require.NoError(t, shutdown.Subscription(t.Context(), sub))
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasSuffix(p, ".attrs") {
			n++
		}
		return nil
	})
	return n
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

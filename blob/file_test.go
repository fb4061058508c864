package blob_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/blobcopy"
)

const raceDirEnv = "CIVICPORT_TEST_FILE_RACE_DIR"

// Several processes write the same keys to one file:// bucket with
// IfNotExist (as audit-log appenders do): each key has exactly one winner,
// and its object holds the winner's bytes. gocloud's fileblob alone serialises
// only the writers of one process.
func TestFileIfNotExistAcrossProcesses(t *testing.T) {
	const keys = 500
	if dir := os.Getenv(raceDirEnv); dir != "" {
		raceChild(t, dir, keys)
		return
	}
	dir := t.TempDir()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestFileIfNotExistAcrossProcesses$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), raceDirEnv+"="+dir, "CIVICPORT_TEST_CHILD="+fmt.Sprint(i))
		outs[i] = &strings.Builder{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		require.NoError(t, cmds[i].Start())
	}
	won := map[string][]int{}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), outs[i].String())
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if k, ok := strings.CutPrefix(line, "won "); ok {
				won[k] = append(won[k], i)
			}
		}
	}
	b, err := blob.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	doubles := 0
	for k := range keys {
		key := fmt.Sprintf("k%03d", k)
		w := won[key]
		if !assert.Len(t, w, 1, "key %s won by processes %v", key, w) {
			doubles++
			continue
		}
		data, err := b.ReadAll(context.Background(), key)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("process %d", w[0]), string(data), key)
	}
	t.Logf("%d processes x %d keys: %d keys with more than one winner", procs, keys, doubles)
}

func raceChild(t *testing.T, dir string, keys int) {
	ctx := context.Background()
	me := os.Getenv("CIVICPORT_TEST_CHILD")
	b, err := blob.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	for k := range keys {
		key := fmt.Sprintf("k%03d", k)
		err := blobcopy.Put(ctx, b, key, []byte("process "+me), &gcblob.WriterOptions{IfNotExist: true})
		switch gcerrors.Code(err) {
		case gcerrors.OK:
			fmt.Println("won " + key)
		case gcerrors.FailedPrecondition:
		default:
			t.Fatalf("write %s: %v", key, err)
		}
	}
}

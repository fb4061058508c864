package audit_test

import (
	"context"
	"crypto/fips140"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cpblob "github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
)

const appenderDirEnv = "CIVICPORT_TEST_AUDIT_APPENDER_DIR"

// Three processes append to one audit log on file:// at once: every entry
// gets its own index (civicport's file:// commits if-not-exist writes under
// a lock all its processes share), and the log verifies whole.
func TestAppendersInSeveralProcessesOnFile(t *testing.T) {
	const procs, each = 3, 40
	if dir := os.Getenv(appenderDirEnv); dir != "" {
		ctx := context.Background()
		b, err := cpblob.Open(ctx, "file://"+dir)
		require.NoError(t, err)
		defer b.Close()
		l, err := audit.Open(ctx, b, nil, nil)
		require.NoError(t, err)
		me := os.Getenv("CIVICPORT_TEST_CHILD")
		for i := range each {
			require.NoError(t, l.Record(ctx, "write", "records", fmt.Sprintf("p%s-%03d", me, i), ""))
		}
		return
	}
	if fips140.Enforced() {
		t.Skip("file:// computes MD5 attributes (gocloud fileblob), which GODEBUG=fips140=only forbids")
	}
	dir := t.TempDir()
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestAppendersInSeveralProcessesOnFile$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), appenderDirEnv+"="+dir, fmt.Sprintf("CIVICPORT_TEST_CHILD=%d", i))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		require.NoError(t, cmds[i].Start())
	}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), outs[i].String())
	}
	ctx := context.Background()
	b, err := cpblob.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	defer b.Close()
	rep, err := audit.Verify(ctx, b, nil, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
	assert.EqualValues(t, procs*each, rep.Entries, "no entry lost to another process's write")
	seen := map[string]bool{}
	for i := range int64(procs * each) {
		data, err := b.ReadAll(ctx, audit.EntryKey(i))
		require.NoError(t, err)
		e, err := audit.ParseEntry(data)
		require.NoError(t, err)
		seen[e.Key] = true
	}
	assert.Len(t, seen, procs*each, "every process's every entry is in the log once")
}

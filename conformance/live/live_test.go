package live_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/fileblob"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/live"
)

// A run touches nothing outside its own prefix and leaves nothing behind,
// not even the directories fileblob made for it.
func TestBlobIsolatedAndSwept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fb, err := fileblob.OpenBucket(dir, nil)
	require.NoError(t, err)
	require.NoError(t, fb.WriteAll(ctx, "2026-general/precinct-0001.json", []byte(`{"ballots":412}`), nil))
	require.NoError(t, fb.Close())

	be, err := live.Blob(ctx, "file://"+filepath.ToSlash(dir), &live.BlobOptions{Capabilities: []string{"blob.read_write", "blob.list_prefix_delimiter"}})
	require.NoError(t, err)
	require.Len(t, be.Results, 2)
	assert.False(t, conformance.Failed(be.Results), "%+v", be.Results)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"2026-general"}, names, "the run left something behind or touched the user's data")
	got, err := os.ReadFile(filepath.Join(dir, "2026-general", "precinct-0001.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"ballots":412}`, string(got))
}

// A backend that cannot be opened or reached is an *Error naming which
// URL it was, before any suite runs.
func TestUnreachableIsAnError(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		run  func() error
		role string
	}{
		{func() error { _, err := live.Blob(ctx, "nosuch://bucket", nil); return err }, live.RoleBlob},
		{func() error {
			_, err := live.Blob(ctx, "mem://", &live.BlobOptions{SealKeeper: "nosuch://key"})
			return err
		}, live.RoleSealKeeper},
		{func() error { _, err := live.Secrets(ctx, "nosuch://key", nil); return err }, live.RoleSecrets},
	} {
		err := c.run()
		var le *live.Error
		require.True(t, errors.As(err, &le), "%v", err)
		assert.Equal(t, c.role, le.Role)
	}
}

package digest_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/blob/digest"
)

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	return m
}

func TestStager(t *testing.T) {
	data := bytes.Repeat([]byte("ballot image "), 300_000) // ~3.9 MB, several hold blocks
	for _, c := range []struct {
		name    string
		limit   int64
		spooled bool
	}{
		{"memory", int64(len(data)), false},
		{"spool", 1 << 20, true},
		{"spool from the start", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := digest.NewStager(c.limit, dir)
			for p := data; len(p) > 0; {
				n := min(len(p), 70_001) // uneven pieces cross the limit mid-write
				k, err := s.Write(p[:n])
				require.NoError(t, err)
				require.Equal(t, n, k)
				p = p[n:]
			}
			assert.Equal(t, c.spooled, s.Spooled())
			assert.Len(t, spoolFiles(t, dir), map[bool]int{false: 0, true: 1}[c.spooled])
			assert.Equal(t, int64(len(data)), s.Size())
			assert.Equal(t, sum(data), s.Sum())

			// Readers are independent and may be read at once (mirror
			// uploads one to every copy).
			var wg sync.WaitGroup
			got := make([][]byte, 4)
			for i := range got {
				r := s.NewReader()
				wg.Go(func() { got[i], _ = io.ReadAll(r) })
			}
			wg.Wait()
			for _, g := range got {
				assert.True(t, bytes.Equal(data, g), "a reader saw other bytes")
			}
			require.NoError(t, s.Close())
			assert.Empty(t, spoolFiles(t, dir), "Close left the spool file")
			_, err := s.Write([]byte("x"))
			assert.Error(t, err, "write after Close")
		})
	}
}

func TestStagerSpoolFails(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	s := digest.NewStager(10, missing)
	_, err := s.Write(make([]byte, 5))
	require.NoError(t, err, "within the memory limit no file is needed")
	_, err = s.Write(make([]byte, 6))
	require.ErrorIs(t, err, digest.ErrSpool)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), missing, "the error names the spool directory")
	_, again := s.Write([]byte("x"))
	assert.Equal(t, err, again, "the error sticks")
}

func TestStageSourceFails(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("source reset")
	r := io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotest.ErrReader(boom))
	s, err := digest.Stage(r, 1<<20, dir)
	assert.Nil(t, s)
	require.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, digest.ErrSpool, "a source failure is not a spool failure")
	assert.Empty(t, spoolFiles(t, dir), "a failed Stage left its spool file")

	s, err = digest.Stage(bytes.NewReader([]byte("precinct 7")), 1<<20, dir)
	require.NoError(t, err)
	defer s.Close()
	b, err := io.ReadAll(s.NewReader())
	require.NoError(t, err)
	assert.Equal(t, "precinct 7", string(b))
	assert.Equal(t, sum(b), s.Sum())
}

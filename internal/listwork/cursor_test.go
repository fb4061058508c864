package listwork_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/listwork"
)

// keys returns a cursor over ks, which need not be in order.
func keys(ks ...string) *listwork.Cursor[string] {
	return listwork.NewCursor(func() (string, error) {
		if len(ks) == 0 {
			return "", io.EOF
		}
		k := ks[0]
		ks = ks[1:]
		return k, nil
	}, func(k string) string { return k })
}

func TestCursorSeeksInStepAndPassesWhatItSkips(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := keys("a", "c", "d", "f")
	var passed []string
	pass := func(k string) { passed = append(passed, k) }
	for _, tc := range []struct {
		key   string
		found bool
	}{{"b", false}, {"c", true}, {"e", false}, {"f", true}, {"g", false}} {
		v, found, err := c.Seek(tc.key, pass)
		require.NoError(t, err, tc.key)
		assert.Equal(t, tc.found, found, tc.key)
		if found {
			assert.Equal(t, tc.key, v)
		}
	}
	assert.Equal(t, []string{"a", "d"}, passed)

	c = keys("a", "c", "e")
	_, found, err := c.Seek("c", nil)
	require.NoError(t, err)
	require.True(t, found)
	_, _, err = c.Seek("b", nil)
	assert.ErrorIs(t, err, listwork.ErrBehind)
	_, _, err = c.Seek("c", nil)
	assert.ErrorIs(t, err, listwork.ErrBehind, "a key sought twice")
	_, found, err = c.Seek("e", nil)
	require.NoError(t, err)
	assert.True(t, found, "the cursor goes on after ErrBehind")
}

func TestCursorRefusesDisorderAndRestYieldsWhatIsLeft(t *testing.T) {
	c := keys("a", "c", "b", "d")
	_, _, err := c.Seek("a", nil)
	require.NoError(t, err)
	_, _, err = c.Seek("z", nil)
	require.ErrorIs(t, err, listwork.ErrOrder)
	assert.Contains(t, err.Error(), `"b" listed after "c"`)
	_, _, err = c.Seek("zz", nil)
	require.ErrorIs(t, err, listwork.ErrOrder, "sticky")
	var rest []string
	require.NoError(t, c.Rest(func(k string) bool { rest = append(rest, k); return true }))
	assert.Equal(t, []string{"b", "d"}, rest, "from the value out of order on")

	c = keys("a", "c", "b", "d")
	rest = nil
	err = c.Rest(func(k string) bool { rest = append(rest, k); return true })
	require.ErrorIs(t, err, listwork.ErrOrder, "Rest checks the order too")
	assert.Equal(t, []string{"a", "c"}, rest)
	require.NoError(t, c.Rest(func(k string) bool { rest = append(rest, k); return true }))
	assert.Equal(t, []string{"a", "c", "b", "d"}, rest, "then goes on unchecked")

	boom := errors.New("boom")
	c = listwork.NewCursor(func() (string, error) { return "", boom }, func(k string) string { return k })
	_, _, err = c.Seek("a", nil)
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, c.Rest(func(string) bool { return true }), boom)
}

func TestObjectCursorSkipsDirectoriesAndNamesThePrefix(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	for _, k := range []string{"p/a", "p/b", "q"} {
		require.NoError(t, b.WriteAll(ctx, k, nil, nil))
	}
	c := listwork.ObjectCursor(ctx, b, "p/")
	o, found, err := c.Seek("p/b", nil)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "p/b", o.Key)
	require.NoError(t, c.Rest(func(o *blob.ListObject) bool { t.Errorf("left: %s", o.Key); return true }))

	rb := blob.NewBucket(reversed{driveradapter.Bucket(b)})
	c = listwork.ObjectCursor(ctx, rb, "")
	_, _, err = c.Seek("z", nil)
	require.ErrorIs(t, err, listwork.ErrOrder)

	closed := memblob.OpenBucket(nil)
	require.NoError(t, closed.Close())
	_, _, err = listwork.ObjectCursor(ctx, closed, "x/").Seek("a", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `list "x/"`)
}

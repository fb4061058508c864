package listwork_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/listwork"
)

func TestEachObjectSeesEveryObjectOnceWithBoundedWorkers(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	for i := range 50 {
		require.NoError(t, b.WriteAll(ctx, fmt.Sprintf("p/%02d", i), nil, nil))
		require.NoError(t, b.WriteAll(ctx, fmt.Sprintf("p/d%02d/x", i), nil, nil))
	}
	require.NoError(t, b.WriteAll(ctx, "q/outside", nil, nil))
	var (
		mu            sync.Mutex
		seen          = map[string]int{}
		running, peak atomic.Int32
	)
	err := listwork.EachObject(ctx, b, "p/", 3, func(o *blob.ListObject) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		seen[o.Key]++
		mu.Unlock()
	})
	require.NoError(t, err)
	assert.Len(t, seen, 100)
	for k, n := range seen {
		assert.Equal(t, 1, n, k)
	}
	assert.LessOrEqual(t, peak.Load(), int32(3))
}

func TestEachStopsOnCancelAndReportsIt(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	refusedAfterCancel := false
	err := listwork.Each(ctx, 2, func(yield func(int) bool) error {
		for i := 0; ; i++ {
			if i == 10 {
				cancel() // workers are free too: yield must still refuse
			}
			if !yield(i) {
				refusedAfterCancel = i == 10
				return nil
			}
		}
	}, func(int) { calls.Add(1) })
	require.ErrorIs(t, err, context.Canceled)
	assert.True(t, refusedAfterCancel, "the first yield after cancel returns false")
	assert.Equal(t, int32(10), calls.Load(), "every value handed out before cancel is handled, none after")
}

func TestEachReturnsTheProducersError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := listwork.Each(context.Background(), 4, func(yield func(int) bool) error {
		yield(1)
		yield(2)
		return boom
	}, func(int) { calls.Add(1) })
	require.ErrorIs(t, err, boom)
	assert.Equal(t, int32(2), calls.Load(), "values yielded before the error are still handled")
}

func TestObjectsNamesThePrefixOnListingError(t *testing.T) {
	b := memblob.OpenBucket(nil)
	require.NoError(t, b.Close())
	err := listwork.Objects(context.Background(), b, "x/", func(*blob.ListObject) bool { return true })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `list "x/"`)
}

func TestWalkStopsAtTheFirstErrorOfFn(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	for _, k := range []string{"x/a", "x/b", "x/c", "y"} {
		require.NoError(t, b.WriteAll(ctx, k, nil, nil))
	}
	var seen []string
	require.NoError(t, listwork.Walk(ctx, b, "x/", func(o *blob.ListObject) error {
		seen = append(seen, o.Key)
		return nil
	}))
	assert.Equal(t, []string{"x/a", "x/b", "x/c"}, seen)

	stop := errors.New("stop")
	seen = nil
	err := listwork.Walk(ctx, b, "x/", func(o *blob.ListObject) error {
		seen = append(seen, o.Key)
		if o.Key == "x/b" {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err, "fn's error comes back as it is")
	assert.Equal(t, []string{"x/a", "x/b"}, seen)
}

func TestMergedYieldsEveryKeyOnceWithWhereItIsListed(t *testing.T) {
	ctx := context.Background()
	var bs []*blob.Bucket
	for i, keys := range [][]string{{"a", "c", "d/x"}, {"b", "c"}, {}, {"a", "e"}} {
		b := memblob.OpenBucket(nil)
		defer b.Close()
		for _, k := range append(keys, fmt.Sprintf("other/%d", i)) {
			require.NoError(t, b.WriteAll(ctx, k, nil, nil))
		}
		bs = append(bs, b)
	}
	type row struct {
		key    string
		listed []bool
	}
	rowOf := func(k string, objs []*blob.ListObject) row {
		r := row{key: k}
		for _, o := range objs {
			r.listed = append(r.listed, o != nil)
			if o != nil {
				assert.Equal(t, k, o.Key)
			}
		}
		return r
	}
	var got []row
	require.NoError(t, listwork.Merged(ctx, bs, "", func(k string, l []*blob.ListObject) bool {
		if !strings.HasPrefix(k, "other/") {
			got = append(got, rowOf(k, l))
		}
		return true
	}))
	assert.Equal(t, []row{
		{"a", []bool{true, false, false, true}},
		{"b", []bool{false, true, false, false}},
		{"c", []bool{true, true, false, false}},
		{"d/x", []bool{true, false, false, false}},
		{"e", []bool{false, false, false, true}},
	}, got)

	got = nil
	require.NoError(t, listwork.Merged(ctx, bs, "c", func(k string, l []*blob.ListObject) bool { got = append(got, rowOf(k, l)); return true }))
	assert.Equal(t, []row{{"c", []bool{true, true, false, false}}}, got, "prefix")

	n := 0
	require.NoError(t, listwork.Merged(ctx, bs, "", func(string, []*blob.ListObject) bool { n++; return n < 2 }))
	assert.Equal(t, 2, n, "stops when yield says so")
}

// reversed lists its keys in reverse order, as no gocloud driver does.
type reversed struct{ driver.Bucket }

func (r reversed) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	p, err := r.Bucket.ListPaged(ctx, opts)
	if err == nil {
		slices.Reverse(p.Objects)
	}
	return p, err
}

func TestMergedRefusesAListingOutOfOrder(t *testing.T) {
	ctx := context.Background()
	good := memblob.OpenBucket(nil)
	defer good.Close()
	inner := memblob.OpenBucket(nil)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, inner.WriteAll(ctx, k, nil, nil))
	}
	bad := blob.NewBucket(reversed{driveradapter.Bucket(inner)})
	defer bad.Close()
	err := listwork.Merged(ctx, []*blob.Bucket{good, bad}, "", func(string, []*blob.ListObject) bool { return true })
	var le *listwork.ListError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Index)
	assert.Contains(t, err.Error(), `"b" listed after "c": not in key order`)

	closed := memblob.OpenBucket(nil)
	require.NoError(t, closed.Close())
	err = listwork.Merged(ctx, []*blob.Bucket{good, closed}, "p/", func(string, []*blob.ListObject) bool { return true })
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Index)
	assert.Contains(t, err.Error(), `list "p/"`)
}

package migrate

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/internal/driveradapter"
)

// reversed lists each page backwards: not in key order.
type reversed struct{ driver.Bucket }

func (r reversed) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	p, err := r.Bucket.ListPaged(ctx, o)
	if p != nil {
		slices.Reverse(p.Objects)
	}
	return p, err
}

func TestDstCursor(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	for _, k := range []string{"a", "c", "d/x", "e"} {
		require.NoError(t, b.WriteAll(ctx, k, []byte(k+k), nil))
	}
	c := &dstCursor{it: b.List(nil)}
	for _, tc := range []struct {
		key  string
		want dstState
	}{
		{"a", dstState{size: 2, there: true}},
		{"b", dstState{}},
		{"c", dstState{size: 2, there: true}},
		{"d/x", dstState{size: 6, there: true}},
		{"d/y", dstState{}},
		{"f", dstState{}},
		{"g", dstState{}},
	} {
		assert.Equal(t, tc.want, c.lookup(ctx, tc.key), tc.key)
	}

	// Out of order: once the cursor sees it, it stops answering and every
	// object is asked. Before that it can say "not listed" of an object
	// that is there (the copy then runs again: slower, not wrong); it never
	// says "there" of one that is not.
	rb := gcblob.NewBucket(reversed{driveradapter.Bucket(b)})
	c = &dstCursor{it: rb.List(nil)}
	got := map[string]dstState{}
	for _, k := range []string{"a", "b", "c", "e", "f"} {
		got[k] = c.lookup(ctx, k)
	}
	assert.Equal(t, dstState{unknown: true}, got["f"], "the disorder was seen")
	for k, st := range got {
		if st.there {
			assert.Contains(t, []string{"a", "c", "e"}, k, "listed only if it is there")
		}
	}
}

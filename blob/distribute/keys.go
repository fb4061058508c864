package distribute

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/driveradapter"
)

// onlyKeys returns a view of b whose listing holds only keys (those b
// has: one Attributes request per key, a few at a time, instead of listing
// the whole bucket). Every other operation goes to b. Closing the view
// leaves b open. missing, if set, is called for each key b does not hold.
func onlyKeys(b *gcblob.Bucket, keys []string, missing func(string)) *gcblob.Bucket {
	ks := append([]string(nil), keys...)
	sort.Strings(ks)
	return gcblob.NewBucket(&keyList{Bucket: driveradapter.Bucket(b), keys: ks, missing: missing})
}

type keyList struct {
	driver.Bucket
	keys    []string // sorted
	missing func(string)
}

// listPage is the number of keys looked up per page; listLookups of them
// at once.
const (
	listPage    = 100
	listLookups = 8
)

func (k *keyList) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	var ks []string
	for _, key := range k.keys {
		if strings.HasPrefix(key, opts.Prefix) {
			ks = append(ks, key)
		}
	}
	start := 0
	if len(opts.PageToken) > 0 {
		n, err := strconv.Atoi(string(opts.PageToken))
		if err != nil || n < 0 || n > len(ks) {
			return nil, fmt.Errorf("distribute: bad page token %q", opts.PageToken)
		}
		start = n
	}
	size := opts.PageSize
	if size <= 0 || size > listPage {
		size = listPage
	}
	end := min(start+size, len(ks))
	page := ks[start:end]
	objs := make([]*driver.ListObject, len(page))
	errs := make([]error, len(page))
	sem := make(chan struct{}, listLookups)
	var wg sync.WaitGroup
	for i, key := range page {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			a, err := k.Bucket.Attributes(ctx, key)
			if err != nil {
				errs[i] = err
				return
			}
			objs[i] = &driver.ListObject{Key: key, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, AsFunc: a.AsFunc}
		})
	}
	wg.Wait()
	out := &driver.ListPage{}
	for i, o := range objs {
		if errs[i] != nil {
			if k.Bucket.ErrorCode(errs[i]) == gcerrors.NotFound {
				if k.missing != nil {
					k.missing(page[i])
				}
				continue
			}
			return nil, errs[i]
		}
		out.Objects = append(out.Objects, o)
	}
	if end < len(ks) {
		out.NextPageToken = []byte(strconv.Itoa(end))
	}
	return out, nil
}

// Close leaves the underlying bucket open.
func (k *keyList) Close() error { return nil }

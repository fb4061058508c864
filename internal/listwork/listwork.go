// Package listwork is the one worker pool of civicport's bucket-wide
// operations (migrate, verify, rewrap, scrub): a producer on the calling
// goroutine (usually a listing, in key order) hands values to a fixed number
// of workers. Memory is bounded by the workers, not by the number of
// objects: nothing is collected.
package listwork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"gocloud.dev/blob"
)

// Each runs fn on every value produce yields, in workers goroutines
// (at least one). produce runs on the calling goroutine; its yield blocks
// until a worker is free and returns false once ctx is done, after which
// produce should return. Each returns when produce has returned and every
// fn call has: with produce's error, else ctx's error if ctx ended before
// produce did, else nil.
func Each[T any](ctx context.Context, workers int, produce func(yield func(T) bool) error, fn func(T)) error {
	jobs := make(chan T)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for v := range jobs {
				fn(v)
			}
		})
	}
	cancelled := false
	err := produce(func(v T) bool {
		if cancelled || ctx.Err() != nil {
			// select picks at random when a worker is free too.
			cancelled = true
			return false
		}
		select {
		case jobs <- v:
			return true
		case <-ctx.Done():
			cancelled = true
			return false
		}
	})
	close(jobs)
	wg.Wait()
	if err == nil && cancelled {
		err = ctx.Err()
	}
	return err
}

// Objects yields the objects (not the directories) listed under prefix in
// b, in the listing's order, until yield returns false. A listing error is
// returned naming the prefix.
func Objects(ctx context.Context, b *blob.Bucket, prefix string, yield func(*blob.ListObject) bool) error {
	return ObjectsWithin(ctx, b, prefix, PageLimit{}, yield)
}

// ObjectsWithin is Objects with each page of the listing bounded by lim.
func ObjectsWithin(ctx context.Context, b *blob.Bucket, prefix string, lim PageLimit, yield func(*blob.ListObject) bool) error {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := lim.Next(ctx, it)
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("list %q: %w", prefix, err)
		case obj.IsDir:
			continue
		case !yield(obj):
			return nil
		}
	}
}

// PageLimit bounds how long a listing may wait for one page, so that a
// frozen or partitioned server fails the listing instead of hanging it.
// The zero value bounds nothing.
type PageLimit struct {
	// Timeout is how long one page may take; zero or less: no limit.
	Timeout time.Duration
	// Retries is how many more times a page that timed out is asked for.
	Retries int
	// Err, if not nil, is wrapped by the error of a page that timed out
	// on every try (e.g. a caller's ErrStalled).
	Err error
}

// Next is it.Next(ctx) with each page fetch under the limit. A page that
// timed out is asked for again (gocloud's iterator keeps its place after
// an error); after the last try the error says how long each try waited.
func (l PageLimit) Next(ctx context.Context, it *blob.ListIterator) (*blob.ListObject, error) {
	if l.Timeout <= 0 {
		return it.Next(ctx)
	}
	for try := 0; ; try++ {
		pctx, cancel := context.WithTimeout(ctx, l.Timeout)
		obj, err := it.Next(pctx)
		timedOut := err != nil && errors.Is(pctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case !timedOut || ctx.Err() != nil:
			return obj, err
		case try < l.Retries:
			continue
		case l.Err != nil:
			return nil, fmt.Errorf("%w: no listing page within %v, %d tries: %v", l.Err, l.Timeout, try+1, err)
		default:
			return nil, fmt.Errorf("no listing page within %v, %d tries: %w", l.Timeout, try+1, err)
		}
	}
}

// Walk calls fn on every object under prefix in b, in the listing's order
// on the calling goroutine (Objects), and stops at fn's first error, which
// it returns as it is; a listing error is returned naming the prefix.
func Walk(ctx context.Context, b *blob.Bucket, prefix string, fn func(*blob.ListObject) error) error {
	var ferr error
	err := Objects(ctx, b, prefix, func(obj *blob.ListObject) bool {
		ferr = fn(obj)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// EachObject runs fn on every object under prefix in b with workers
// goroutines (Each over Objects).
func EachObject(ctx context.Context, b *blob.Bucket, prefix string, workers int, fn func(*blob.ListObject)) error {
	return Each(ctx, workers, func(yield func(*blob.ListObject) bool) error {
		return Objects(ctx, b, prefix, yield)
	}, fn)
}

// ListError is Merged's error: which bucket's listing failed, or listed
// out of key order.
type ListError struct {
	Index int // into Merged's buckets
	Err   error
}

func (e *ListError) Error() string { return e.Err.Error() }
func (e *ListError) Unwrap() error { return e.Err }

// Merged walks the listings of every bucket under prefix in step, as one
// merge of sorted lists, and yields each object key any of them lists,
// once, in key order, with what each bucket listed for it (a fresh slice
// per key, indexed like buckets; nil where a bucket does not list the key),
// until yield returns false. Memory is one listed
// object per bucket however many keys there are. gocloud's drivers list in
// key order; a listing that does not (a key not greater than the one
// before) fails with a *ListError rather than giving a wrong answer, as
// does a listing error.
func Merged(ctx context.Context, buckets []*blob.Bucket, prefix string, yield func(key string, listed []*blob.ListObject) bool) error {
	type head struct {
		it   *blob.ListIterator
		cur  *blob.ListObject // nil: listing exhausted
		last string
		seen bool
	}
	heads := make([]head, len(buckets))
	advance := func(i int) error {
		h := &heads[i]
		for {
			obj, err := h.it.Next(ctx)
			switch {
			case err == io.EOF:
				h.cur = nil
				return nil
			case err != nil:
				return &ListError{Index: i, Err: fmt.Errorf("list %q: %w", prefix, err)}
			case obj.IsDir:
				continue
			case h.seen && obj.Key <= h.last:
				return &ListError{Index: i, Err: fmt.Errorf("list %q: %q listed after %q: not in key order", prefix, obj.Key, h.last)}
			}
			h.cur, h.last, h.seen = obj, obj.Key, true
			return nil
		}
	}
	for i, b := range buckets {
		heads[i].it = b.List(&blob.ListOptions{Prefix: prefix})
		if err := advance(i); err != nil {
			return err
		}
	}
	for {
		var min *string
		for i := range heads {
			if c := heads[i].cur; c != nil && (min == nil || c.Key < *min) {
				min = &c.Key
			}
		}
		if min == nil {
			return nil
		}
		key := *min
		listed := make([]*blob.ListObject, len(heads))
		for i := range heads {
			if c := heads[i].cur; c != nil && c.Key == key {
				listed[i] = c
				if err := advance(i); err != nil {
					return err
				}
			}
		}
		if !yield(key, listed) {
			return nil
		}
	}
}

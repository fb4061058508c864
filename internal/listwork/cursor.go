package listwork

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gocloud.dev/blob"
)

// ErrOrder is wrapped by a Cursor's error when its sequence is not in key
// order (a key not greater than the one before).
var ErrOrder = errors.New("not in key order")

// ErrBehind is returned by Cursor.Seek for a key not greater than one
// sought before: the cursor has gone past it and cannot tell.
var ErrBehind = errors.New("key sought out of order")

// Cursor walks a sequence of values sorted by key (a listing, a sorted
// manifest) in step with a second walk in key order that seeks each of its
// keys: the in-step walk of Merged, with one side given key by key. It
// holds one value however long the sequence, and reads each value once.
type Cursor[T any] struct {
	next func() (T, error) // io.EOF after the last value
	key  func(T) string

	cur     T
	has     bool   // cur holds the next value not yet passed or returned
	done    bool   // next returned io.EOF
	err     error  // sticky: next failed or the sequence is out of order
	last    string // key of the last value read
	read    bool   // a value was read
	sought  string // the greatest key sought
	started bool   // Seek was called
}

// NewCursor returns a cursor over the values next returns (io.EOF after
// the last); key gives a value's key.
func NewCursor[T any](next func() (T, error), key func(T) string) *Cursor[T] {
	return &Cursor[T]{next: next, key: key}
}

// ObjectCursor returns a cursor over the objects (not the directories)
// listed under prefix in b. Its errors name the prefix.
func ObjectCursor(ctx context.Context, b *blob.Bucket, prefix string) *Cursor[*blob.ListObject] {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	return NewCursor(func() (*blob.ListObject, error) {
		for {
			obj, err := it.Next(ctx)
			switch {
			case err == io.EOF:
				return nil, err
			case err != nil:
				return nil, fmt.Errorf("list %q: %w", prefix, err)
			case !obj.IsDir:
				return obj, nil
			}
		}
	}, func(o *blob.ListObject) string { return o.Key })
}

// fill reads the next value into cur unless it holds one.
func (c *Cursor[T]) fill() error {
	if c.err != nil {
		return c.err
	}
	if c.has || c.done {
		return nil
	}
	v, err := c.next()
	switch {
	case err == io.EOF:
		c.done = true
		return nil
	case err != nil:
		c.err = err
		return err
	}
	k := c.key(v)
	if c.read && k <= c.last {
		// Kept, so that Rest still yields it.
		c.cur, c.has = v, true
		c.err = fmt.Errorf("%q listed after %q: %w", k, c.last, ErrOrder)
		return c.err
	}
	c.cur, c.has, c.last, c.read = v, true, k, true
	return nil
}

// Seek returns the value whose key is key, if the sequence holds one,
// after passing every value of a smaller key to passed (nil: dropped).
// Keys must be sought in increasing order: a key not greater than one
// sought before returns ErrBehind (the cursor is unchanged and can go on
// with greater keys). A sequence out of key order fails with an error
// wrapping ErrOrder, after which Seek fails and Rest yields the values
// from the one out of order on.
func (c *Cursor[T]) Seek(key string, passed func(T)) (v T, found bool, err error) {
	if c.started && key <= c.sought {
		return v, false, ErrBehind
	}
	c.started, c.sought = true, key
	for {
		if err := c.fill(); err != nil {
			return v, false, err
		}
		if !c.has {
			return v, false, nil
		}
		switch k := c.key(c.cur); {
		case k < key:
			if passed != nil {
				passed(c.cur)
			}
			c.has = false
		case k == key:
			c.has = false
			return c.cur, true, nil
		default:
			return v, false, nil
		}
	}
}

// Rest passes every value not yet passed or returned to fn, in the
// sequence's order, until fn returns false. A value out of key order fails
// it with an error wrapping ErrOrder (the values before it were passed);
// after an ErrOrder, from Seek or Rest, Rest goes on from the value out of
// order, unchecked, so that a caller that cannot walk in step still sees
// every value. It returns next's error, if any.
func (c *Cursor[T]) Rest(fn func(T) bool) error {
	checked := c.err == nil
	if !checked && !errors.Is(c.err, ErrOrder) {
		return c.err
	}
	for {
		if checked {
			if err := c.fill(); err != nil {
				return err
			}
		} else if !c.has && !c.done {
			v, err := c.next()
			switch {
			case err == io.EOF:
				c.done = true
			case err != nil:
				c.err = err
				return err
			default:
				c.cur, c.has = v, true
			}
		}
		if !c.has {
			return nil
		}
		c.has = false
		if !fn(c.cur) {
			return nil
		}
	}
}

package blob

import (
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/blob/writecheck"
)

// offerCheck returns a copy of opts whose BeforeWrite also answers As for
// a *writecheck.Check, for a civicport driver wrapper that verifies writes
// itself. after, if not nil, runs once the caller's BeforeWrite has (with
// the wrapped driver's own as, and the Check the caller took, or nil). The
// second result points at that Check once the driver has called BeforeWrite
// (in NewTypedWriter); it stays nil when the caller did not ask for one.
func offerCheck(opts *driver.WriterOptions, after func(as func(any) bool, wc *writecheck.Check) error) (*driver.WriterOptions, **writecheck.Check) {
	o := *opts
	wc := new(*writecheck.Check)
	if opts.BeforeWrite == nil && after == nil {
		return &o, wc
	}
	o.BeforeWrite = func(as func(any) bool) error {
		if opts.BeforeWrite != nil {
			err := opts.BeforeWrite(func(i any) bool {
				if p, ok := i.(**writecheck.Check); ok {
					*wc = &writecheck.Check{Size: -1}
					*p = *wc
					return true
				}
				return as(i)
			})
			if err != nil {
				return err
			}
		}
		if after != nil {
			return after(as, *wc)
		}
		return nil
	}
	return &o, wc
}

// checkedWriter calls done after a Close that committed the object; an
// error from done fails the Close.
type checkedWriter struct {
	driver.Writer
	done func() error
}

func (w *checkedWriter) Close() error {
	if err := w.Writer.Close(); err != nil {
		return err
	}
	return w.done()
}

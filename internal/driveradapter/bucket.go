package driveradapter

import (
	"context"
	"io"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// Bucket returns a driver.Bucket that forwards every call to b. Closing the
// driver closes b.
func Bucket(b *blob.Bucket) driver.Bucket { return &bucket{b: b} }

type bucket struct{ b *blob.Bucket }

// defaultPageSize is the S3 and GCS maximum, used when a caller leaves the
// page size to the driver.
const defaultPageSize = 1000

var _ driver.Bucket = (*bucket)(nil)

func (d *bucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }

func (d *bucket) As(i any) bool { return d.b.As(i) }

func (d *bucket) ErrorAs(err error, i any) bool {
	return d.b.ErrorAs(unwrapPortable(err), i)
}

func (d *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.b.Attributes(ctx, key)
	if err != nil {
		return nil, wrap(err)
	}
	return &driver.Attributes{
		CacheControl:       a.CacheControl,
		ContentDisposition: a.ContentDisposition,
		ContentEncoding:    a.ContentEncoding,
		ContentLanguage:    a.ContentLanguage,
		ContentType:        a.ContentType,
		Metadata:           a.Metadata,
		CreateTime:         a.CreateTime,
		ModTime:            a.ModTime,
		Size:               a.Size,
		MD5:                a.MD5,
		ETag:               a.ETag,
		AsFunc:             a.As,
	}, nil
}

func (d *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token := opts.PageToken
	if len(token) == 0 {
		token = blob.FirstPageToken
	}
	size := opts.PageSize
	if size <= 0 {
		size = defaultPageSize // driver: 0 means "driver's choice"; portable requires > 0
	}
	objs, next, err := d.b.ListPage(ctx, token, size, &blob.ListOptions{
		Prefix:     opts.Prefix,
		Delimiter:  opts.Delimiter,
		BeforeList: opts.BeforeList,
	})
	if err != nil {
		return nil, wrap(err)
	}
	page := &driver.ListPage{Objects: make([]*driver.ListObject, len(objs)), NextPageToken: next}
	for i, o := range objs {
		page.Objects[i] = &driver.ListObject{
			Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir, AsFunc: o.As,
		}
	}
	return page, nil
}

func (d *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	r, err := d.b.NewRangeReader(ctx, key, offset, length, &blob.ReaderOptions{BeforeRead: opts.BeforeRead})
	if err != nil {
		return nil, wrap(err)
	}
	return &reader{r: r}, nil
}

func (d *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := d.b.NewWriter(ctx, key, &blob.WriterOptions{
		BufferSize:         opts.BufferSize,
		MaxConcurrency:     opts.MaxConcurrency,
		CacheControl:       opts.CacheControl,
		ContentDisposition: opts.ContentDisposition,
		ContentEncoding:    opts.ContentEncoding,
		ContentLanguage:    opts.ContentLanguage,
		ContentType:        contentType,
		// The outer portable layer already sniffed (or was told not to).
		DisableContentTypeDetection: true,
		ContentMD5:                  opts.ContentMD5,
		Metadata:                    opts.Metadata,
		BeforeWrite:                 opts.BeforeWrite,
		IfNotExist:                  opts.IfNotExist,
	})
	if err != nil {
		cancel()
		return nil, wrap(err)
	}
	return &writer{w: w, cancel: cancel}, nil
}

func (d *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	return wrap(d.b.Copy(ctx, dstKey, srcKey, &blob.CopyOptions{BeforeCopy: opts.BeforeCopy}))
}

func (d *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	var bo *blob.DeleteOptions
	if opts != nil {
		bo = &blob.DeleteOptions{BeforeDelete: opts.BeforeDelete}
	}
	return wrap(d.b.DeleteWithOptions(ctx, key, bo))
}

func (d *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	u, err := d.b.SignedURL(ctx, key, &blob.SignedURLOptions{
		Expiry:                   opts.Expiry,
		Method:                   opts.Method,
		ContentType:              opts.ContentType,
		EnforceAbsentContentType: opts.EnforceAbsentContentType,
		BeforeSign:               opts.BeforeSign,
	})
	return u, wrap(err)
}

func (d *bucket) Close() error { return d.b.Close() }

type reader struct{ r *blob.Reader }

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF {
		return n, err
	}
	return n, wrap(err)
}

func (r *reader) Close() error { return wrap(r.r.Close()) }

func (r *reader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.r.ContentType(), ModTime: r.r.ModTime(), Size: r.r.Size()}
}

func (r *reader) As(i any) bool { return r.r.As(i) }

// writer forwards to a portable writer. After a failed Write it aborts the
// inner write at once (cancel, then Close), because gocloud's portable
// Writer.Close does not close its driver writer when a write made while
// sniffing the content type failed; without this the inner writer would leak.
type writer struct {
	w      *blob.Writer
	cancel context.CancelFunc
	err    error // the first Write error; the inner writer is then closed
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	if err != nil {
		w.err = wrap(err)
		w.cancel() // a cancelled Close aborts: nothing partial is committed
		_ = w.w.Close()
	}
	return n, w.err
}

func (w *writer) Close() error {
	if w.err != nil {
		return w.err
	}
	defer w.cancel()
	return wrap(w.w.Close())
}

package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/driveradapter"
)

// Wrap returns a bucket over b that records every committed change in rec
// (typically a *Log on another bucket, ideally at another provider):
// "write" with the SHA-256 of the bytes written, "copy from SRC" and
// "delete". The record is made after the change succeeded; if recording
// fails, the operation returns an error saying the change happened but was
// not recorded, so nothing changes without a trace going unnoticed. name is
// the bucket name written into entries (e.g. a redacted URL). Reads are not
// recorded.
func Wrap(b *gcblob.Bucket, rec Recorder, name string) *gcblob.Bucket {
	return gcblob.NewBucket(&audited{Bucket: driveradapter.Bucket(b), rec: rec, name: name})
}

type audited struct {
	driver.Bucket
	rec  Recorder
	name string
}

func (a *audited) record(ctx context.Context, op, key, sum string) error {
	if err := a.rec.Record(ctx, op, a.name, key, sum); err != nil {
		return fmt.Errorf("audit: %s %q succeeded but was not recorded in the audit log: %w", op, key, err)
	}
	return nil
}

func (a *audited) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	w, err := a.Bucket.NewTypedWriter(ctx, key, contentType, opts)
	if err != nil {
		return nil, err
	}
	return &auditedWriter{Writer: w, a: a, ctx: ctx, key: key, h: sha256.New()}, nil
}

func (a *audited) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if err := a.Bucket.Copy(ctx, dstKey, srcKey, opts); err != nil {
		return err
	}
	return a.record(ctx, "copy from "+srcKey, dstKey, "")
}

func (a *audited) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if err := a.Bucket.Delete(ctx, key, opts); err != nil {
		return err
	}
	return a.record(ctx, "delete", key, "")
}

type auditedWriter struct {
	driver.Writer
	a   *audited
	ctx context.Context
	key string
	h   hash.Hash
}

func (w *auditedWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.h.Write(p[:n])
	return n, err
}

func (w *auditedWriter) Close() error {
	if err := w.Writer.Close(); err != nil {
		return err // not committed: nothing to record
	}
	return w.a.record(w.ctx, "write", w.key, hex.EncodeToString(w.h.Sum(nil)))
}

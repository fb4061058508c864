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

// Wrap returns a bucket over b that records every change in rec
// (typically a *Log on another bucket, ideally at another provider), twice:
// an intent before the change ("intent write", "intent copy from SRC",
// "intent delete"; IntentPrefix) and, after it succeeded, the change itself:
// "write" with the SHA-256 of the bytes written, "copy from SRC" and
// "delete". If the intent cannot be recorded the change is not made. If
// the change is made but its record fails (or the process dies in between)
// the intent stays without its completion, and CheckBucket reports the key
// as Unfinished: a write is never invisible in the log. A failed record
// after the change makes the operation return an error saying the change
// happened but was not recorded. name is the bucket name written into
// entries (e.g. a redacted URL). Reads are not recorded.
func Wrap(b *gcblob.Bucket, rec Recorder, name string) *gcblob.Bucket {
	return gcblob.NewBucket(&audited{Bucket: driveradapter.Bucket(b), rec: rec, name: name})
}

// IntentPrefix starts the operation of the entry Wrap records before a
// change: "intent " + the operation of the entry it records after it.
const IntentPrefix = "intent "

// copyFromPrefix starts the operation Wrap records for a copy:
// "copy from SRC".
const copyFromPrefix = "copy from "

type audited struct {
	driver.Bucket
	rec  Recorder
	name string
}

func (a *audited) intend(ctx context.Context, op, key string) error {
	if err := a.rec.Record(ctx, IntentPrefix+op, a.name, key, ""); err != nil {
		return fmt.Errorf("audit: %s %q not done: its intent could not be recorded in the audit log: %w", op, key, err)
	}
	return nil
}

func (a *audited) record(ctx context.Context, op, key, sum string) error {
	if err := a.rec.Record(ctx, op, a.name, key, sum); err != nil {
		return fmt.Errorf("audit: %s %q succeeded but was not recorded in the audit log: %w", op, key, err)
	}
	return nil
}

func (a *audited) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := a.intend(ctx, "write", key); err != nil {
		return nil, err
	}
	w, err := a.Bucket.NewTypedWriter(ctx, key, contentType, opts)
	if err != nil {
		return nil, err
	}
	return &auditedWriter{Writer: w, a: a, ctx: ctx, key: key, h: sha256.New()}, nil
}

func (a *audited) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	op := copyFromPrefix + srcKey
	if err := a.intend(ctx, op, dstKey); err != nil {
		return err
	}
	if err := a.Bucket.Copy(ctx, dstKey, srcKey, opts); err != nil {
		return err
	}
	return a.record(ctx, op, dstKey, "")
}

func (a *audited) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if err := a.intend(ctx, "delete", key); err != nil {
		return err
	}
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

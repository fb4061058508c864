package blob

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/driveradapter"
)

// fileBucket makes gocloud's fileblob honour WriterOptions.IfNotExist
// across processes. fileblob checks that the file is absent and then
// renames its temporary file over it, holding a lock of its own process
// only (gocloud v0.49): two processes writing the same key IfNotExist can
// both succeed, the second silently replacing the first (two audit-log
// appenders claiming one index, two workers both "first"). fileBucket holds
// an exclusive flock(2) on the bucket's directory around that check and
// rename, so every civicport process (and anything else that takes the same
// lock) sees one winner; the others get FailedPrecondition. Writes without
// IfNotExist take no lock. On systems without flock (Windows) the lock is
// per process only, as in fileblob.
type fileBucket struct {
	driver.Bucket
	dir string
}

// wrapFile wraps b, opened from u (a file:// URL), with fileBucket.
func wrapFile(b *gcblob.Bucket, u *url.URL) *gcblob.Bucket {
	return gcblob.NewBucket(fileBucket{Bucket: driveradapter.Bucket(b), dir: filepath.FromSlash(u.Path)})
}

func (b fileBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	w, err := b.Bucket.NewTypedWriter(ctx, key, contentType, opts)
	if err != nil || !opts.IfNotExist {
		return w, err
	}
	return &lockedWriter{Writer: w, dir: b.dir}, nil
}

// lockedWriter commits (Close) under the directory lock.
type lockedWriter struct {
	driver.Writer
	dir string
}

func (w *lockedWriter) Close() error {
	unlock, err := lockDir(w.dir)
	if err != nil {
		_ = w.Writer.Close() // still commits only what fileblob's own check allows
		return fmt.Errorf("file bucket %s: lock for an if-not-exist write: %w", w.dir, err)
	}
	defer unlock()
	return w.Writer.Close()
}

package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/keyrefusal"
	"github.com/civicport/civicport/blob/writecheck"
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/hexescape"
)

// fileBucket is civicport's file:// bucket: gocloud's fileblob with three
// changes (see the package doc).
//
// Keys: fileblob resolves "." and ".." segments and a leading "/" as a path
// does, and keeps ".attrs" for itself, so some keys are stored under
// another key's name or refused. fileBucket maps those keys onto file
// names of their own (file_keys.go) and lists by walking the directory
// itself (file_list.go), in key order. Keys fileblob stores correctly are
// not changed.
//
// Refusals: a key a file system cannot hold (a name over 255 bytes, an
// object under another object's name, as "nested/child" under "nested") is
// refused on write with a *keyrefusal.Error naming the key and the reason,
// before anything is written.
//
// IfNotExist across processes: fileblob checks that the file is absent and
// then renames its temporary file over it, holding a lock of its own
// process only (gocloud v0.49): two processes writing the same key
// IfNotExist can both succeed, the second silently replacing the first (two
// audit-log appenders claiming one index, two workers both "first").
// fileBucket holds an exclusive flock(2) on the bucket's directory around
// that check and rename, so every civicport process (and anything else that
// takes the same lock) sees one winner; the others get FailedPrecondition.
// Writes without IfNotExist take no lock. On systems without flock
// (Windows) the lock is per process only, as in fileblob.
type fileBucket struct {
	driver.Bucket
	dir     string // absolute, as fileblob opened it
	noAttrs bool   // metadata=skip: fileblob writes no attribute files
	lists   *listCache
}

// wrapFile wraps b, opened from u (a file:// URL), with fileBucket.
func wrapFile(b *gcblob.Bucket, u *url.URL) *gcblob.Bucket {
	return gcblob.NewBucket(newFileBucket(driveradapter.Bucket(b), u))
}

func newFileBucket(d driver.Bucket, u *url.URL) fileBucket {
	// The directory as fileblob's URL opener finds it.
	p := u.Path
	if u.Host == "." || os.PathSeparator != '/' {
		p = strings.TrimPrefix(p, "/")
	}
	dir := filepath.FromSlash(p)
	if abs, err := filepath.Abs(dir); err == nil { // as fileblob's OpenBucket, which succeeded
		dir = abs
	}
	md := u.Query()["metadata"]
	return fileBucket{Bucket: d, dir: dir, noAttrs: len(md) > 0 && md[0] == "skip", lists: &listCache{}}
}

const (
	// nameMax is the longest file name, in bytes, of the file systems
	// civicport runs on (ext4, XFS, Btrfs, APFS, NTFS in UTF-16 units).
	nameMax = 255
	// tempSuffix is how much longer than an object's file name the
	// temporary file fileblob writes it through is: ".<16 hex digits>.tmp".
	tempSuffix = len(".0123456789abcdef.tmp")
)

// As also answers for a *pinger.
func (b fileBucket) As(i any) bool {
	if p, ok := i.(*pinger); ok {
		*p = b
		return true
	}
	return b.Bucket.As(i)
}

// ping opens the bucket's directory and reads one entry of it. A first
// page of one object would read and sort the whole directory, and keep it
// for a next page that a ping never asks for (listCache: one copy per
// probe, up to maxListings): 8 MB at 300,000 objects, for every migrate.
func (b fileBucket) ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(b.dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && err != io.EOF {
		return err
	}
	return nil
}

func (b fileBucket) ErrorCode(err error) gcerrors.ErrorCode {
	var r *keyrefusal.Error
	if errors.As(err, &r) {
		if r.Conflict {
			return gcerrors.FailedPrecondition
		}
		return gcerrors.InvalidArgument
	}
	var nf *fileNotFound
	if errors.As(err, &nf) {
		return gcerrors.NotFound
	}
	return b.Bucket.ErrorCode(err)
}

// fileNotFound is a read of a key whose file cannot exist (a name too long,
// or an object where a directory would be): gcerrors.NotFound, with
// fileblob's error underneath.
type fileNotFound struct{ err error }

func (e *fileNotFound) Error() string { return e.err.Error() }
func (e *fileNotFound) Unwrap() error { return e.err }

// errEmptyKey is a read of the empty key, which names no object.
var errEmptyKey = &fileNotFound{err: errors.New("file bucket: the empty key names no object")}

// notFound turns the errors of a path that cannot exist into NotFound.
func notFound(err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) {
		return &fileNotFound{err: err}
	}
	return err
}

func (b fileBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	a, err := b.Bucket.Attributes(ctx, fileKey(key))
	return a, notFound(err)
}

func (b fileBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	r, err := b.Bucket.NewRangeReader(ctx, fileKey(key), offset, length, opts)
	return r, notFound(err)
}

func (b fileBucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if key == "" {
		return errEmptyKey
	}
	return notFound(b.Bucket.Delete(ctx, fileKey(key), opts))
}

// SignedURL signs the key as the caller gave it: whoever serves the URL
// (fileblob.URLSigner.KeyFromURL) reads it through a bucket opened with
// Open, which maps it again.
func (b fileBucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return b.Bucket.SignedURL(ctx, key, opts)
}

func (b fileBucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	dst := fileKey(dstKey)
	if err := b.refuse(dstKey, dst); err != nil {
		return err
	}
	err := b.Bucket.Copy(ctx, dst, fileKey(srcKey), opts)
	if err != nil && mayBeRefusal(err) {
		if r := b.refuse(dstKey, dst); r != nil {
			return r
		}
	}
	return notFound(err)
}

func (b fileBucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	fk := fileKey(key)
	if err := b.refuse(key, fk); err != nil {
		return nil, err
	}
	opts, wc := offerCheck(opts, nil)
	w, err := b.Bucket.NewTypedWriter(ctx, fk, contentType, opts)
	if err != nil {
		if mayBeRefusal(err) {
			if r := b.refuse(key, fk); r != nil {
				return nil, r
			}
		}
		return nil, err
	}
	if opts.IfNotExist {
		w = &lockedWriter{Writer: w, dir: b.dir}
	}
	w = &fileWriter{Writer: w, b: b, key: key, fk: fk}
	if *wc != nil {
		w = &checkedWriter{Writer: w, done: func() error { return b.reread(ctx, key, fk, *wc) }}
	}
	return w, nil
}

// reread hashes what a write committed, for a writecheck.Check: a file
// that does not read back as wc.SHA256 (a disk or file system that
// corrupted it) is deleted and the write fails.
func (b fileBucket) reread(ctx context.Context, key, fk string, wc *writecheck.Check) error {
	if wc.SHA256 == "" {
		return nil
	}
	r, err := b.Bucket.NewRangeReader(ctx, fk, 0, -1, &driver.ReaderOptions{})
	if err != nil {
		return fmt.Errorf("file bucket %s: re-read %q after writing it: %w", b.dir, key, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, r)
	r.Close()
	if err != nil {
		return fmt.Errorf("file bucket %s: re-read %q after writing it: %w", b.dir, key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wc.SHA256 {
		_ = b.Bucket.Delete(ctx, fk, &driver.DeleteOptions{})
		return fmt.Errorf("file bucket %s: %q reads back with SHA-256 %s, wrote %s: deleted", b.dir, key, got, wc.SHA256)
	}
	wc.Verified = writecheck.Reread
	return nil
}

// fileWriter reports a commit that failed because of what appeared on disk
// since the writer was made (an object where a directory is needed, or the
// reverse) as the refusal it is.
type fileWriter struct {
	driver.Writer
	b       fileBucket
	key, fk string
}

func (w *fileWriter) Close() error {
	err := w.Writer.Close()
	if err != nil && mayBeRefusal(err) {
		if r := w.b.refuse(w.key, w.fk); r != nil {
			return r
		}
	}
	return err
}

// mayBeRefusal reports whether err is a file system error that refuse may
// explain.
func mayBeRefusal(err error) bool {
	for _, e := range []error{syscall.ENOTDIR, syscall.EISDIR, syscall.EEXIST, syscall.ENOTEMPTY, syscall.ENAMETOOLONG} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
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

// refuse returns a *keyrefusal.Error if the file system cannot hold key
// (stored by fileblob as fk) next to what the bucket already holds, and nil
// if fileblob may write it. Before it returns nil it removes the empty
// directories (left by deletes) that would stand in the way.
func (b fileBucket) refuse(key, fk string) error {
	refusal := func(conflict bool, format string, args ...any) error {
		return &keyrefusal.Error{Backend: "file bucket", Key: key, Reason: fmt.Sprintf(format, args...), Conflict: conflict}
	}
	if key == "" {
		return refusal(false, "an object needs a name: the empty key would name the bucket's directory")
	}
	name := diskName(fk)
	disk := strings.Split(name, string(os.PathSeparator))
	user := splitKey(key) // one per disk segment (see file_keys.go)
	last := len(disk) - 1
	for i, d := range disk {
		if len(d) > nameMax {
			return refusal(false, "path segment %d is %d bytes on disk; a file system allows %d bytes per name", i+1, len(d), nameMax)
		}
	}
	if n := len(disk[last]); n+tempSuffix > nameMax {
		return refusal(false, "path segment %d, the last, is %d bytes on disk; a file system allows %d bytes per name, and the file bucket writes through a temporary file named after it with %d more bytes", last+1, n, nameMax, tempSuffix)
	}
	// An ancestor that is a file: an object, or the attributes of one.
	if last > 0 {
		fi, err := os.Stat(filepath.Join(b.dir, filepath.Join(disk[:last]...)))
		if (err == nil && !fi.IsDir()) || errors.Is(err, syscall.ENOTDIR) {
			p := b.dir
			for i, d := range disk[:last] {
				p = filepath.Join(p, d)
				fi, err := os.Stat(p)
				if err != nil {
					break
				}
				if fi.IsDir() {
					continue
				}
				k := strings.Join(user[:i+1], "/")
				if base, ok := strings.CutSuffix(k, attrsExt); ok && !b.noAttrs {
					return refusal(true, "%q holds the attributes of %q, so it cannot also be a directory on a file system", k, base)
				}
				return refusal(true, "%q is an object, so it cannot also be a directory on a file system", k)
			}
		}
	}
	// The object's file, or its attributes file, is a directory.
	target := filepath.Join(b.dir, name)
	if under, ok := b.clearDir(target); !ok {
		return refusal(true, "objects are stored under %q (such as %q), so it cannot also be an object on a file system", key+"/", under)
	}
	if !b.noAttrs {
		if under, ok := b.clearDir(target + attrsExt); !ok {
			return refusal(true, "the attributes of %q are kept in %q, and objects are stored under %q (such as %q), so it cannot be written on a file system", key, key+attrsExt, key+attrsExt+"/", under)
		}
	}
	return nil
}

// clearDir makes sure that no directory stands at path: it removes a tree
// of empty directories there, and reports false, with the key of an object
// under it, if objects are stored there. (A tree holding only files that
// are not objects, such as stray attribute files, is reported with the
// file's name.)
func (b fileBucket) clearDir(path string) (under string, ok bool) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return "", true
	}
	var dirs []string
	var found, stray string
	var strayDir bool
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			stray, strayDir = p, true
			return filepath.SkipAll
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		case strings.HasSuffix(p, attrsExt):
			stray = p
			return nil
		}
		found = p
		return filepath.SkipAll
	})
	if found != "" {
		return b.keyOf(found, true), false
	}
	if stray == "" {
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				stray, strayDir = dirs[i], true // someone wrote there meanwhile
				break
			}
		}
		if stray == "" {
			return "", true
		}
	}
	if strayDir {
		return b.keyOf(stray, false) + "/", false
	}
	return b.keyOf(stray, true), false
}

// keyOf returns the key of the file (or the key prefix of the directory)
// at path, under the bucket's directory.
func (b fileBucket) keyOf(path string, file bool) string {
	rel, err := filepath.Rel(b.dir, path)
	if err != nil {
		return path
	}
	segs := strings.Split(rel, string(os.PathSeparator))
	for i, s := range segs {
		segs[i] = userSegment(hexescape.Unescape(s), i == 0, file && i == len(segs)-1)
	}
	return strings.Join(segs, "/")
}

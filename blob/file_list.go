package blob

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/hexescape"
)

// ListPaged lists by walking the bucket's directory, turning file names
// back into keys (file_keys.go), in key order. fileblob's own listing
// cannot be used: it would list the escaped names, and its order is that of
// the names on disk, which is not key order once names are escaped (a page
// token would then skip or repeat keys).
//
// The walk holds one directory's entries per level, as fileblob's does. It
// starts in the deepest directory the prefix names, skips directories
// whose keys all lie before the page token, outside the prefix, or inside
// a "directory" (delimiter) already listed, and stops at the first entry
// past a full page.
func (b fileBucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		// fileblob exposes no type for it; call it once, as drivers must.
		if err := opts.BeforeList(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	l := &fileLister{
		ctx:    ctx,
		prefix: opts.Prefix,
		delim:  opts.Delimiter,
		token:  string(opts.PageToken),
		size:   opts.PageSize,
	}
	if l.size <= 0 {
		l.size = 1000 // fileblob's default
	}
	dir, keyPrefix, depth := b.listStart(opts.Prefix)
	err := l.walk(dir, keyPrefix, depth)
	page := &driver.ListPage{Objects: l.page}
	switch {
	case errors.Is(err, errPageFull):
		page.NextPageToken = []byte(l.page[len(l.page)-1].Key)
	case err != nil:
		return nil, err
	}
	return page, nil
}

// listStart returns the directory holding every key that starts with
// prefix, the key prefix of the entries in it and its depth (0 for the
// bucket's directory): that of prefix's segments up to its last separator.
// (A "/" ending prefix is not one: the key that equals prefix is a file in
// the directory above.)
func (b fileBucket) listStart(prefix string) (dir, keyPrefix string, depth int) {
	end := -1
	for i := 0; i < len(prefix)-1; i++ {
		if prefix[i] == '/' && isSeparator(prefix, i) {
			end = i
		}
	}
	if end < 0 {
		return b.dir, "", 0
	}
	segs := splitKey(prefix[:end])
	for i, s := range segs {
		if escapedSegment(s, i == 0, false) {
			segs[i] = s + string(keyEscape)
		}
	}
	// Every "/" left in the escaped name is a separator.
	return filepath.Join(b.dir, diskName(strings.Join(segs, "/"))), prefix[:end+1], len(segs)
}

var errPageFull = errors.New("page full")

type fileLister struct {
	ctx                  context.Context
	prefix, delim, token string
	size                 int
	page                 []*driver.ListObject
	lastDir              string // the last "directory" listed (delimiter)
}

// entry is a file or directory of the walk, under the key it sorts by: a
// file's key, or a directory's key prefix (ending in "/"). Entries of one
// directory sort as the keys under them do (see walk).
type entry struct {
	sortKey string
	dir     bool
	de      fs.DirEntry
}

// walk lists the entries of directory dir, whose keys all start with
// keyPrefix, depth levels below the bucket's directory.
//
// Listing each directory's entries in the order of their sort keys lists
// keys in order: the keys under two entries never interleave. (They could
// only if one entry's sort key were a proper prefix of another's, the
// longer continuing with "/": a directory's name cannot end in "/" or ".."
// since fileblob escapes a "/" after those, and a file that equals a
// directory's prefix, such as "a/" next to "a/b", sorts before everything
// in the directory.)
func (l *fileLister) walk(dir, keyPrefix string, depth int) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil && len(des) == 0 {
		return nil // as fileblob: what cannot be read is not listed
	}
	ents := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		isDir := de.IsDir()
		if !isDir && strings.HasSuffix(name, attrsExt) {
			continue // fileblob's attribute files
		}
		sk := keyPrefix + userSegment(hexescape.Unescape(name), depth == 0, !isDir)
		if isDir {
			sk += "/"
			if !strings.HasPrefix(sk, l.prefix) && !strings.HasPrefix(l.prefix, sk) {
				continue
			}
			// Every key under it is longer than sk: all of them lie
			// before the token unless the token is inside it.
			if l.token != "" && sk <= l.token && !strings.HasPrefix(l.token, sk) {
				continue
			}
		} else if !strings.HasPrefix(sk, l.prefix) || (l.token != "" && sk <= l.token) {
			continue
		}
		ents = append(ents, entry{sortKey: sk, dir: isDir, de: de})
	}
	slices.SortFunc(ents, func(a, b entry) int {
		if c := strings.Compare(a.sortKey, b.sortKey); c != 0 {
			return c
		}
		if a.dir == b.dir {
			return 0
		}
		if a.dir {
			return 1
		}
		return -1
	})
	for _, e := range ents {
		path := filepath.Join(dir, e.de.Name())
		if !e.dir {
			if err := l.file(e.sortKey, path, e.de); err != nil {
				return err
			}
			continue
		}
		// A directory whose keys all collapse into one "directory" of the
		// listing: list that once, if it holds an object, without walking it.
		if p, ok := l.collapse(e.sortKey); ok {
			if p == l.lastDir || (l.token != "" && p <= l.token) {
				continue
			}
			fi, found := firstObject(path)
			if !found {
				continue
			}
			if err := l.add(&driver.ListObject{Key: p, IsDir: true, AsFunc: fileInfoAs(fi)}); err != nil {
				return err
			}
			continue
		}
		if err := l.walk(path, e.sortKey, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// collapse returns the "directory" of the listing (the prefix, then up to
// the first delimiter after it) that every key starting with s falls into,
// if s decides it.
func (l *fileLister) collapse(s string) (string, bool) {
	if l.delim == "" || !strings.HasPrefix(s, l.prefix) {
		return "", false
	}
	rest := s[len(l.prefix):]
	i := strings.Index(rest, l.delim)
	if i < 0 {
		return "", false
	}
	return l.prefix + rest[:i+len(l.delim)], true
}

// file lists the object key, stored at path.
func (l *fileLister) file(key, path string, de fs.DirEntry) error {
	if p, ok := l.collapse(key); ok {
		if p == l.lastDir || (l.token != "" && p <= l.token) {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return nil // gone since ReadDir
		}
		return l.add(&driver.ListObject{Key: p, IsDir: true, AsFunc: fileInfoAs(fi)})
	}
	fi, err := de.Info()
	if err != nil {
		return nil
	}
	// As fileblob: the MD5 is known for the objects it wrote.
	return l.add(&driver.ListObject{
		Key: key, ModTime: fi.ModTime(), Size: fi.Size(), MD5: sidecarMD5(path), AsFunc: fileInfoAs(fi),
	})
}

// add appends o to the page, or reports errPageFull if the page is full (o
// is then the proof that there is a next page).
func (l *fileLister) add(o *driver.ListObject) error {
	if len(l.page) == l.size {
		return errPageFull
	}
	l.page = append(l.page, o)
	if o.IsDir {
		l.lastDir = o.Key
	}
	return nil
}

// firstObject returns the first object (not an attribute file) under the
// directory path.
func firstObject(path string) (fs.FileInfo, bool) {
	var fi fs.FileInfo
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, attrsExt) {
			return nil
		}
		if i, err := d.Info(); err == nil {
			fi = i
			return filepath.SkipAll
		}
		return nil
	})
	return fi, fi != nil
}

// fileInfoAs exposes fi as os.FileInfo, as fileblob's listing does.
func fileInfoAs(fi fs.FileInfo) func(any) bool {
	return func(i any) bool {
		p, ok := i.(*os.FileInfo)
		if !ok {
			return false
		}
		*p = fi
		return true
	}
}

// sidecarMD5 reads the MD5 from fileblob's attribute file for the object
// at path, or nil.
func sidecarMD5(path string) []byte {
	data, err := os.ReadFile(path + attrsExt)
	if err != nil {
		return nil
	}
	var xa struct {
		MD5 []byte `json:"md5"`
	}
	if json.Unmarshal(data, &xa) != nil {
		return nil
	}
	return xa.MD5
}

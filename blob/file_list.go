package blob

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/hexescape"
)

// ListPaged lists by walking the bucket's directory, turning file names
// back into keys (file_keys.go), in key order. fileblob's own listing
// cannot be used: it would list the escaped names, and its order is that of
// the names on disk, which is not key order once names are escaped (a page
// token would then skip or repeat keys).
//
// The walk starts in the deepest directory the prefix names, skips
// directories whose keys all lie before the page token, outside the
// prefix, or inside a "directory" (delimiter) already listed, and stops at
// the first entry past a full page.
//
// A directory's entries are read and sorted once per listing, not once per
// page: the sorted entries of the directories the walk stopped in are kept
// for the request that continues from the page's token (listCache), so
// listing a directory of N objects costs one read of it, not N/PageSize
// (fileblob re-reads from the start for every page: quadratic). So a
// listing sees a directory as it was when the listing first read it; an
// object created there afterwards is listed by the next listing.
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
	if l.token != "" {
		l.dirs = b.lists.take(l.prefix, l.delim, l.token)
	}
	if l.dirs == nil {
		l.dirs = map[string][]entry{}
	}
	dir, keyPrefix, depth := b.listStart(opts.Prefix)
	err := l.walk(dir, keyPrefix, depth)
	page := &driver.ListPage{Objects: l.page}
	switch {
	case errors.Is(err, errPageFull):
		page.NextPageToken = []byte(l.page[len(l.page)-1].Key)
		b.lists.put(l.prefix, l.delim, string(page.NextPageToken), l.dirs)
	case err != nil:
		return nil, err
	}
	return page, nil
}

// listCache holds, for listings that are not finished, the sorted entries
// of the directories their last page stopped in, under the page token that
// continues them. At most maxListings are held; the oldest goes first (an
// abandoned listing), and its next page reads its directories again.
type listCache struct {
	mu    sync.Mutex
	next  map[string]map[string][]entry // listing key -> directory path -> entries
	order []string                      // listing keys, oldest first
}

const maxListings = 8

func listKey(prefix, delim, token string) string {
	return prefix + "\x00" + delim + "\x00" + token
}

// take removes and returns what the listing continued by token kept, or nil.
func (c *listCache) take(prefix, delim, token string) map[string][]entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := listKey(prefix, delim, token)
	d, ok := c.next[k]
	if !ok {
		return nil
	}
	delete(c.next, k)
	c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == k })
	return d
}

func (c *listCache) put(prefix, delim, token string, dirs map[string][]entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		c.next = map[string]map[string][]entry{}
	}
	k := listKey(prefix, delim, token)
	if _, ok := c.next[k]; !ok {
		c.order = append(c.order, k)
	}
	c.next[k] = dirs
	for len(c.order) > maxListings {
		delete(c.next, c.order[0])
		c.order = c.order[1:]
	}
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
	lastDir              string             // the last "directory" listed (delimiter)
	dirs                 map[string][]entry // directory path -> its sorted entries, for the directories being walked
}

// entry is a file or directory of the walk, under the key it sorts by: a
// file's key, or a directory's key prefix (ending in "/"). Entries of one
// directory sort as the keys under them do (see walk).
type entry struct {
	sortKey, name string
	dir           bool
}

// entries returns the entries of directory dir (attribute files left out)
// in walk order, read once per listing.
func (l *fileLister) entries(dir, keyPrefix string, depth int) []entry {
	if ents, ok := l.dirs[dir]; ok {
		return ents
	}
	des, err := os.ReadDir(dir)
	if err != nil && len(des) == 0 {
		return nil // as fileblob: what cannot be read is not listed
	}
	attrs := func(de fs.DirEntry) bool { return !de.IsDir() && strings.HasSuffix(de.Name(), attrsExt) }
	n := 0
	for _, de := range des {
		if !attrs(de) {
			n++
		}
	}
	ents := make([]entry, 0, n) // held for the whole listing: no room for the attribute files
	for _, de := range des {
		if attrs(de) {
			continue // fileblob's attribute files
		}
		name, isDir := de.Name(), de.IsDir()
		seg := userSegment(hexescape.Unescape(name), depth == 0, !isDir)
		sk := keyPrefix + seg
		if isDir {
			sk += "/"
		}
		if seg == name {
			// Held for the whole listing: share the sort key's bytes.
			name = sk[len(keyPrefix) : len(keyPrefix)+len(seg)]
		}
		ents = append(ents, entry{sortKey: sk, name: name, dir: isDir})
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
	l.dirs[dir] = ents
	return ents
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
// in the directory.) So the entries past the page token start at the first
// sort key after it, or at the directory just before that if the token
// lies inside it.
func (l *fileLister) walk(dir, keyPrefix string, depth int) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	ents := l.entries(dir, keyPrefix, depth)
	start := 0
	if l.token != "" {
		start = sort.Search(len(ents), func(i int) bool { return ents[i].sortKey > l.token })
		if start > 0 && ents[start-1].dir && strings.HasPrefix(l.token, ents[start-1].sortKey) {
			start--
		}
	}
	for _, e := range ents[start:] {
		if e.dir {
			if !strings.HasPrefix(e.sortKey, l.prefix) && !strings.HasPrefix(l.prefix, e.sortKey) {
				continue
			}
		} else if !strings.HasPrefix(e.sortKey, l.prefix) {
			continue
		}
		path := filepath.Join(dir, e.name)
		if !e.dir {
			if err := l.file(e.sortKey, path); err != nil {
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
	delete(l.dirs, dir) // walked to its end: not needed by the next page
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
func (l *fileLister) file(key, path string) error {
	if p, ok := l.collapse(key); ok {
		if p == l.lastDir || (l.token != "" && p <= l.token) {
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return nil // gone since ReadDir
		}
		return l.add(&driver.ListObject{Key: p, IsDir: true, AsFunc: fileInfoAs(fi)})
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // gone since ReadDir
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

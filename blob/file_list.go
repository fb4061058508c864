package blob

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
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
		l.dirs = map[string]*dirEntries{}
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
	next  map[string]map[string]*dirEntries // listing key -> directory path -> entries
	order []string                          // listing keys, oldest first
}

const maxListings = 8

func listKey(prefix, delim, token string) string {
	return prefix + "\x00" + delim + "\x00" + token
}

// take removes and returns what the listing continued by token kept, or nil.
func (c *listCache) take(prefix, delim, token string) map[string]*dirEntries {
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

func (c *listCache) put(prefix, delim, token string, dirs map[string]*dirEntries) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		c.next = map[string]map[string]*dirEntries{}
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
	lastDir              string                 // the last "directory" listed (delimiter)
	dirs                 map[string]*dirEntries // directory path -> its sorted entries, for the directories being walked
}

// dirEntries are the files and directories of one directory of the walk
// (attribute files left out), in walk order: by the key each sorts by, a
// file's key or a directory's key prefix (ending in "/"), all of which
// start with the directory's key prefix. Entries of one directory sort as
// the keys under them do (see walk).
//
// A listing holds them while it walks the directory, so a flat directory
// of millions of objects is held whole: they are packed, each entry's key
// segment (and its name on disk, where that differs) in one shared string,
// about 16 bytes plus the segment per entry, and the directory is read in
// batches rather than as one slice of fs.DirEntry.
type dirEntries struct {
	keyPrefix string
	text      string  // every entry's segment, and differing disk names
	ents      []entry // sorted
}

type entry struct {
	seg, name uint32 // offsets into text
	segLen    uint16
	nameLen   uint16
	dir       bool
}

// readDirBatch is how many names are read from a directory at a time.
const readDirBatch = 4096

func (d *dirEntries) len() int { return len(d.ents) }

func (d *dirEntries) seg(i int) string {
	e := d.ents[i]
	return d.text[e.seg : e.seg+uint32(e.segLen)]
}

// sortKey returns entry i's key, or key prefix for a directory.
func (d *dirEntries) sortKey(i int) string {
	if d.ents[i].dir {
		return d.keyPrefix + d.seg(i) + "/"
	}
	return d.keyPrefix + d.seg(i)
}

// name returns entry i's name on disk.
func (d *dirEntries) name(i int) string {
	e := d.ents[i]
	return d.text[e.name : e.name+uint32(e.nameLen)]
}

// compareSegs orders two entries of one directory as their sort keys
// (segment, then "/" for a directory) without building them. A segment
// holds no "/".
func compareSegs(a string, aDir bool, b string, bDir bool) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	switch {
	case len(a) == len(b):
		switch {
		case aDir == bDir:
			return 0
		case aDir:
			return 1
		}
		return -1
	case len(a) < len(b):
		if !aDir {
			return -1
		}
		return cmp.Compare('/', b[n])
	default:
		if !bDir {
			return 1
		}
		return cmp.Compare(a[n], '/')
	}
}

// entries returns the entries of directory dir, read once per listing.
//
// The directory is read twice: first to count its entries and the bytes of
// their text, then to fill them in, so both are allocated once at their
// final size. (Grown by append they reach up to twice that, with the
// arrays they outgrew alive until a collection; BenchmarkDirEntries: 3.29
// MB held per 100,000 entries grown, 2.82 MB counted first.) Entries
// created between the reads are still listed, those removed are not.
func (l *fileLister) entries(dir, keyPrefix string, depth int) *dirEntries {
	if d, ok := l.dirs[dir]; ok {
		return d
	}
	d := &dirEntries{keyPrefix: keyPrefix}
	l.dirs[dir] = d
	f, err := os.Open(dir)
	if err != nil {
		return d // as fileblob: what cannot be read is not listed
	}
	defer f.Close()
	n, size := 0, 0
	readEntries(f, depth, func(seg, name string, _ bool) {
		n++
		size += len(seg)
		if seg != name {
			size += len(name)
		}
	})
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return d
	}
	var text strings.Builder
	text.Grow(size)
	d.ents = make([]entry, 0, n)
	readEntries(f, depth, func(seg, name string, isDir bool) {
		if len(seg) > 0xffff || len(name) > 0xffff || text.Len() > 1<<32-2*0xffff {
			return // beyond any file system's names
		}
		e := entry{seg: uint32(text.Len()), segLen: uint16(len(seg)), dir: isDir}
		text.WriteString(seg)
		e.name, e.nameLen = e.seg, uint16(len(name))
		if seg != name {
			e.name = uint32(text.Len())
			text.WriteString(name)
		}
		d.ents = append(d.ents, e)
	})
	d.text = text.String()
	t := d.text
	slices.SortFunc(d.ents, func(a, b entry) int {
		return compareSegs(t[a.seg:a.seg+uint32(a.segLen)], a.dir, t[b.seg:b.seg+uint32(b.segLen)], b.dir)
	})
	return d
}

// readEntries calls fn with the key segment and disk name of each entry of
// directory f, attribute files left out, reading readDirBatch names at a
// time.
func readEntries(f *os.File, depth int, fn func(seg, name string, isDir bool)) {
	for {
		des, err := f.ReadDir(readDirBatch)
		for _, de := range des {
			name, isDir := de.Name(), de.IsDir()
			if !isDir && strings.HasSuffix(name, attrsExt) {
				continue // fileblob's attribute files
			}
			fn(userSegment(hexescape.Unescape(name), depth == 0, !isDir), name, isDir)
		}
		if err != nil || len(des) == 0 {
			return // io.EOF, or as os.ReadDir: list what was read
		}
	}
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
	d := l.entries(dir, keyPrefix, depth)
	start := 0
	if l.token != "" {
		start = sort.Search(d.len(), func(i int) bool { return d.sortKey(i) > l.token })
		if start > 0 && d.ents[start-1].dir && strings.HasPrefix(l.token, d.sortKey(start-1)) {
			start--
		}
	}
	for i := start; i < d.len(); i++ {
		isDir, sortKey := d.ents[i].dir, d.sortKey(i)
		if isDir {
			if !strings.HasPrefix(sortKey, l.prefix) && !strings.HasPrefix(l.prefix, sortKey) {
				continue
			}
		} else if !strings.HasPrefix(sortKey, l.prefix) {
			continue
		}
		path := filepath.Join(dir, d.name(i))
		if !isDir {
			if err := l.file(sortKey, path); err != nil {
				return err
			}
			continue
		}
		// A directory whose keys all collapse into one "directory" of the
		// listing: list that once, if it holds an object, without walking it.
		if p, ok := l.collapse(sortKey); ok {
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
		if err := l.walk(path, sortKey, depth+1); err != nil {
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

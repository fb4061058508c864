package blob

import (
	"os"
	"strconv"
	"strings"

	"github.com/civicport/civicport/internal/hexescape"
)

// The file bucket's key mapping.
//
// gocloud's fileblob stores the key k in the file dir/escape(k), where
// escape hex-escapes what a path cannot hold as such (control characters,
// the "/" of "//" and of "../", a trailing "/", and anything that reads as
// one of its own "__0x..__" escapes) and keeps every other "/" as a path
// separator. Between those separators lie k's segments. Four kinds of
// segment do not survive as file names: the path is cleaned, or fileblob
// refuses it.
//
//   - "." anywhere ("a/./b" is the file a/b, "a/." is the file a);
//   - ".." as the last segment (a/.. is the directory holding a);
//   - an empty first segment, from a leading "/" ("/a" is the file a);
//   - a last segment ending in ".attrs" (fileblob's attribute files).
//
// The file bucket appends "%" to such a segment before handing the key to
// fileblob: "single/./dot" is stored as single/.%/dot, ".." as ..%,
// "sidecar.attrs" as sidecar.attrs%, "/a" as %/a. So that a key written
// with those names literally cannot collide with them, a segment that is
// one of the four kinds followed by one or more "%" gets one more "%"
// ("a/.%" is stored as a/.%%). Every other segment, so every key that
// fileblob stores correctly on its own, is left exactly as it is (the
// empty key, which would name the bucket's directory, is refused): buckets
// written by plain fileblob or by earlier civicport versions read as
// before. (The only keys whose files move are those that fileblob could
// not store and those made of the escaped forms above: a "." or ".."
// segment, an empty first segment or a last segment ending in ".attrs",
// followed by "%"s.)
const keyEscape = '%'

// unstorableSegment reports whether seg, a segment of a key at the given
// position, is one fileblob cannot store as a file name of its own.
func unstorableSegment(seg string, first, last bool) bool {
	switch {
	case seg == ".":
		return true
	case last && seg == "..":
		return true
	case first && seg == "":
		return true
	case last && strings.HasSuffix(seg, attrsExt):
		return true
	}
	return false
}

// attrsExt is the suffix of fileblob's attribute ("sidecar") files.
const attrsExt = ".attrs"

// escapedSegment reports whether seg is one of the names the mapping
// changes: an unstorable segment, or one followed by "%"s.
func escapedSegment(seg string, first, last bool) bool {
	return unstorableSegment(strings.TrimRight(seg, string(keyEscape)), first, last)
}

// isSeparator reports whether the "/" at key[i] is a path separator for
// fileblob (see fileblob's escapeKey: it escapes a "/" after "/" or "..",
// and a trailing one). '.' and '/' are ASCII, so bytes and runes agree.
func isSeparator(key string, i int) bool {
	switch {
	case i == len(key)-1:
		return false
	case i > 0 && key[i-1] == '/':
		return false
	case i > 1 && key[i-1] == '.' && key[i-2] == '.':
		return false
	}
	return true
}

// splitKey splits key at fileblob's path separators.
func splitKey(key string) []string {
	var segs []string
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '/' && isSeparator(key, i) {
			segs = append(segs, key[start:i])
			start = i + 1
		}
	}
	return append(segs, key[start:])
}

// fileKey maps a key onto the key handed to fileblob. It is the identity
// for every key fileblob stores correctly by itself.
func fileKey(key string) string {
	segs := splitKey(key)
	changed := false
	for i, s := range segs {
		if escapedSegment(s, i == 0, i == len(segs)-1) {
			segs[i] = s + string(keyEscape)
			changed = true
		}
	}
	if !changed {
		return key
	}
	// Appending "%" leaves every separator a separator: the "/" after it
	// now follows "%".
	return strings.Join(segs, "/")
}

// userSegment reverses fileKey for one segment of a key, at the given
// position.
func userSegment(seg string, first, last bool) string {
	if len(seg) > 0 && seg[len(seg)-1] == keyEscape && escapedSegment(seg, first, last) {
		return seg[:len(seg)-1]
	}
	return seg
}

// The rest of this file mirrors, for the names on disk, what gocloud's
// fileblob does to a key (gocloud.dev/blob/fileblob escapeKey and
// unescapeKey, gocloud.dev/internal/escape HexEscape and HexUnescape, as of
// gocloud v0.49; Apache License 2.0, The Go Cloud Development Kit Authors).
// The file bucket needs it to find the files of keys it is about to write
// (to refuse what a file system cannot hold) and to turn file names back
// into keys when it lists. TestFileEscapeMatchesFileblob checks it against
// the files fileblob really writes.

// diskName returns the path, relative to the bucket's directory and with
// os.PathSeparator, of the file fileblob stores the fileblob key fk in.
func diskName(fk string) string {
	s := hexEscape(fk, func(r []rune, i int) bool {
		c := r[i]
		switch {
		case c < 32:
			return true
		case os.PathSeparator != '/' && c == os.PathSeparator:
			return true
		case i > 1 && c == '/' && r[i-1] == '.' && r[i-2] == '.':
			return true
		case i > 0 && c == '/' && r[i-1] == '/':
			return true
		case c == '/' && i == len(r)-1:
			return true
		case os.PathSeparator == '\\' && strings.ContainsRune(`><:"|?*`, c):
			return true
		}
		return false
	})
	if os.PathSeparator != '/' {
		s = strings.ReplaceAll(s, "/", string(os.PathSeparator))
	}
	return s
}

func hexEscape(s string, shouldEscape func([]rune, int) bool) string {
	runes := []rune(s)
	escapeAt := make([]bool, len(runes))
	var pending []int
	n := 0
	for i := range runes {
		if shouldEscape(runes, i) || hexescape.IsSequence(runes, i) {
			escapeAt[i] = true
			pending = append(pending, i)
			n++
		}
	}
	for len(pending) > 0 {
		i := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if j, ok := danglingEscapePrefix(runes, i); ok && !escapeAt[j] {
			escapeAt[j] = true
			pending = append(pending, j)
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	for i, r := range runes {
		if escapeAt[i] {
			hexescape.Write(&b, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func danglingEscapePrefix(r []rune, end int) (int, bool) {
	if end > 0 && r[end-1] == '_' {
		end--
	}
	start := end
	for start > 0 && r[start-1] != '_' {
		start--
	}
	if start < 2 || end-start < 2 || r[start] != '0' || r[start+1] != 'x' || r[start-2] != '_' {
		return 0, false
	}
	if _, err := strconv.ParseInt(string(r[start+2:end]), 16, 32); err != nil {
		return 0, false
	}
	return start - 2, true
}

package minio

// Key and metadata escaping.
//
// The hex escape ("__0x2f__") and the rules inherited from gocloud's s3blob
// are adapted from gocloud.dev/internal/escape and gocloud.dev/blob/s3blob
// (Copyright 2018-2019 The Go Cloud Development Kit Authors, Apache License
// 2.0), which cannot be imported because they are internal. They are kept
// byte-for-byte compatible so that a key written through s3blob and one
// written through this package name the same object.

import (
	"net/url"
	"strings"

	"github.com/civicport/civicport/internal/hexescape"
)

// ObjectName returns the S3 object name under which this package stores the
// blob key. Most keys are stored unchanged; see the package documentation
// (Escaping) for the exceptions. Use it to address, with the raw
// *minio.Client, an object written through a bucket of this package, e.g. to
// set its retention.
func ObjectName(key string) string { return escapeKey(key, false) }

// KeyFromObjectName reverses ObjectName.
func KeyFromObjectName(name string) string { return hexescape.Unescape(name) }

// escapeKey escapes key into an object name that MinIO accepts. With
// isPrefix, key is a list prefix: its last path component may still grow, so
// the rules that look at a whole component are applied only to the components
// that the prefix already ends.
func escapeKey(key string, isPrefix bool) string {
	r := []rune(key)
	esc := make([]bool, len(r))
	isSep := func(i int) bool { return (r[i] == '/' || r[i] == '\\') && !esc[i] }

	for i, c := range r {
		switch {
		// s3blob: S3 mishandles ASCII control characters.
		case c < 32:
			esc[i] = true
		// s3blob: the "/" of "../".
		case c == '/' && i > 1 && r[i-1] == '.' && r[i-2] == '.':
			esc[i] = true
		// MinIO rejects a leading "/" and "//" anywhere
		// (XMinioInvalidObjectName); escape the second slash.
		case c == '/' && (i == 0 || (r[i-1] == '/' && !esc[i-1])):
			esc[i] = true
		}
	}

	// MinIO rejects a path component (split at "/" or "\", spaces trimmed)
	// that is "." or "..". Escape the separator that ends such a component,
	// so that it joins the next one, or, for the last component of a key,
	// its last dot.
	start := 0
	for i := 0; i <= len(r); i++ {
		if i < len(r) && !isSep(i) {
			continue
		}
		if comp := strings.Trim(string(r[start:i]), " "); comp == "." || comp == ".." {
			switch {
			case i < len(r):
				esc[i] = true
			case !isPrefix:
				j := i - 1
				for r[j] != '.' {
					j--
				}
				esc[j] = true
			}
		}
		start = i + 1
	}

	var b strings.Builder
	for i, c := range r {
		// Also escape anything that hexUnescape would read as an escape
		// sequence, so that escaping stays reversible.
		if esc[i] || hexescape.IsSequence(r, i) {
			hexescape.Write(&b, c)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// escapeMetadataKey turns a metadata key into a valid HTTP header name suffix
// exactly like s3blob: URL path escaping, then "@", ":" and "=" hex-escaped.
func escapeMetadataKey(k string) string { return hexescape.S3MetadataKey(k) }

func unescapeMetadataKey(k string) string { return hexescape.Unescape(urlUnescape(k)) }

func escapeMetadataValue(v string) string   { return url.PathEscape(v) }
func unescapeMetadataValue(v string) string { return urlUnescape(v) }

func urlUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

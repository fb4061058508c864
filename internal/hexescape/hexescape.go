// Package hexescape reads and writes gocloud's hex escape of a rune in a
// key ("__0x2f__" for "/"), the escape gocloud's s3blob and fileblob use
// for what a backend cannot store. It is adapted from
// gocloud.dev/internal/escape (Copyright 2019 The Go Cloud Development Kit
// Authors, Apache License 2.0), which cannot be imported because it is
// internal, and stays byte-for-byte compatible with it, so that civicport's
// minio adapter and file:// bucket name the same objects gocloud's drivers
// do. Deciding what to escape is each driver's business.
package hexescape

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Write writes the escape of c to b.
func Write(b *strings.Builder, c rune) { fmt.Fprintf(b, "__%#x__", c) }

// IsSequence reports whether r[i:] starts with an escape, which a driver
// must then escape itself so that Unescape stays the inverse.
func IsSequence(r []rune, i int) bool {
	ok, _, _ := At(r, i)
	return ok
}

// At parses an escape "__0x<hex>__" at r[i]: ok, the rune, and the index of
// its last "_".
func At(r []rune, i int) (ok bool, c rune, last int) {
	for _, want := range "__0x" {
		if i >= len(r) || r[i] != want {
			return false, 0, 0
		}
		i++
	}
	start := i
	for i < len(r) && r[i] != '_' {
		i++
	}
	if i+1 >= len(r) || r[i+1] != '_' {
		return false, 0, 0
	}
	v, err := strconv.ParseInt(string(r[start:i]), 16, 32)
	if err != nil {
		return false, 0, 0
	}
	return true, rune(v), i + 1
}

// Unescape replaces every escape in s by its rune; s itself when it has
// none.
func Unescape(s string) string {
	if !strings.Contains(s, "__0x") {
		return s
	}
	runes := []rune(s)
	var out []rune
	for i := 0; i < len(runes); i++ {
		if ok, r, last := At(runes, i); ok {
			if out == nil {
				out = append(make([]rune, 0, len(runes)), runes[:i]...)
			}
			out = append(out, r)
			i = last
		} else if out != nil {
			out = append(out, runes[i])
		}
	}
	if out == nil {
		return s
	}
	return string(out)
}

// S3MetadataKey escapes a user metadata key as gocloud's s3blob does on
// writes (URL path escaping, then "@", ":", "=" and anything that looks like
// an escape hex-escaped), so that s3blob reads it back unchanged.
func S3MetadataKey(k string) string {
	r := []rune(url.PathEscape(k))
	var b strings.Builder
	for i, c := range r {
		if c == '@' || c == ':' || c == '=' || IsSequence(r, i) {
			Write(&b, c)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

package jetstream

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// encodedWordPrefix starts an RFC 2047 "B" encoded word carrying a metadata
// value that cannot travel as a plain NATS header value.
const encodedWordPrefix = "=?utf-8?b?"

// expectedHeaderPrefix starts JetStream's publish preconditions (this driver
// sets Nats-Expected-Stream); the server stores them with the message, but
// they are not the publisher's metadata, so they are dropped on receipt.
const expectedHeaderPrefix = "Nats-Expected-"

var errEmptyKey = errors.New("metadata key must not be empty (NATS headers need a key)")

// encodeHeaders turns gocloud metadata into NATS headers (see the package
// doc for the rules).
func encodeHeaders(md map[string]string, h nats.Header) error {
	for k, v := range md {
		if k == "" {
			return errEmptyKey
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata key %q or its value is not valid UTF-8", k)
		}
		h[encodeKey(k)] = []string{encodeValue(v)}
	}
	return nil
}

// decodeHeaders turns NATS headers into gocloud metadata, taking the first
// value of each key.
func decodeHeaders(h nats.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	md := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 || strings.HasPrefix(k, expectedHeaderPrefix) {
			continue
		}
		md[decodeKey(k)] = decodeValue(vs[0])
	}
	return md
}

func plainKeyRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.'
}

// encodeKey escapes every rune that is not plain, and the first '_' of every
// "__0x", as "__0x<hex>__". It is injective, and decodeKey reverses it: an
// unescaped "__0x" could join with an escape that follows into one decodeKey
// reads differently ("__0x00" + the escape of ' ' reads as NUL + "0x20__").
func encodeKey(k string) string {
	if plainKey(k) {
		return k // the common case, on every message: no allocation
	}
	return escapeKey(k)
}

// escapeKey is encodeKey without the plain-key shortcut.
func escapeKey(k string) string {
	runes := []rune(k)
	var b strings.Builder
	escaped := false
	for i, r := range runes {
		if !plainKeyRune(r) || escapePrefix(runes, i) {
			fmt.Fprintf(&b, "__%#x__", r)
			escaped = true
			continue
		}
		b.WriteRune(r)
	}
	if !escaped {
		return k
	}
	return b.String()
}

// plainKey reports whether encodeKey leaves k as it is: every byte a plain
// rune and no text decodeKey would read as an escape.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if !plainKeyRune(rune(k[i])) {
			return false
		}
	}
	return !strings.Contains(k, escapeStart)
}

func decodeKey(k string) string {
	if !strings.Contains(k, escapeStart) {
		return k
	}
	runes := []rune(k)
	var b strings.Builder
	for i := 0; i < len(runes); {
		if r, n, ok := parseEscape(runes, i); ok {
			b.WriteRune(r)
			i += n
			continue
		}
		b.WriteRune(runes[i])
		i++
	}
	return b.String()
}

const escapeStart = "__0x"

// escapePrefix reports whether runes[i:] starts with escapeStart.
func escapePrefix(runes []rune, i int) bool {
	if len(runes)-i < len(escapeStart) {
		return false
	}
	for j := range len(escapeStart) {
		if runes[i+j] != rune(escapeStart[j]) {
			return false
		}
	}
	return true
}

// parseEscape reads "__0x<hex>__" at runes[i:], returning the rune and the
// number of runes used.
func parseEscape(runes []rune, i int) (rune, int, bool) {
	if len(runes)-i < len(escapeStart)+3 || !escapePrefix(runes, i) {
		return 0, 0, false
	}
	j := i + len(escapeStart)
	start := j
	for j < len(runes) && j-start < 8 && isHex(runes[j]) {
		j++
	}
	if j == start || len(runes)-j < 2 || runes[j] != '_' || runes[j+1] != '_' {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(string(runes[start:j]), 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, 0, false
	}
	return rune(v), j + 2 - i, true
}

func isHex(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// plainValue reports whether v survives a NATS header unchanged and cannot be
// mistaken for an encoded word.
func plainValue(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return !hasPrefixFold(v, encodedWordPrefix)
}

func encodeValue(v string) string {
	if plainValue(v) {
		return v
	}
	return encodedWordPrefix + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

func decodeValue(v string) string {
	if !hasPrefixFold(v, encodedWordPrefix) || !strings.HasSuffix(v, "?=") || len(v) < len(encodedWordPrefix)+2 {
		return v
	}
	b, err := base64.StdEncoding.DecodeString(v[len(encodedWordPrefix) : len(v)-2])
	if err != nil {
		return v
	}
	return string(b)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

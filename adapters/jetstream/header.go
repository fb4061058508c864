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

// encodeKey escapes every rune that is not plain, and the start of any text
// that decodeKey would read as an escape, as "__0x<hex>__". It is injective.
func encodeKey(k string) string {
	runes := []rune(k)
	var b strings.Builder
	escaped := false
	for i, r := range runes {
		if !plainKeyRune(r) || isEscape(runes, i) {
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

func decodeKey(k string) string {
	if !strings.Contains(k, "__0x") {
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

func isEscape(runes []rune, i int) bool {
	_, _, ok := parseEscape(runes, i)
	return ok
}

// parseEscape reads "__0x<hex>__" at runes[i:], returning the rune and the
// number of runes used.
func parseEscape(runes []rune, i int) (rune, int, bool) {
	const pre = "__0x"
	if len(runes)-i < len(pre)+3 || string(runes[i:i+len(pre)]) != pre {
		return 0, 0, false
	}
	j := i + len(pre)
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

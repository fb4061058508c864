// Package redact removes credentials from URLs and error messages before
// they are printed, logged or written to a report: CI logs, JSON/JUnit
// reports and manifests are read by many people, so no password, key or
// token may appear in them.
//
// A credential is the password in a URL's user info or the value of a query
// or fragment parameter whose name looks like one (token, secret, pin,
// X-Amz-Signature, ...), also in a URL nested in a parameter value, written
// as is or %-escaped (s3://b?endpoint=http://u:p@h, a ring:// keeper=).
// Parameters are split by hand, not with url.Values, which silently drops a
// pair with a bad %-escape or a ';'. URL masks everything after the scheme
// of a string that url.Parse rejects (or reads as an opaque URL with an
// '@', like s3:u:p@h); String still finds such a URL's
// credentials by a tolerant split on "://", "@", "?", "#", "&", ";" and "=".
// Credentials shorter than four characters are masked only where their
// whole URL is quoted: masking them everywhere would mask ordinary words.
package redact

import (
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// Mask replaces a secret value.
const Mask = "REDACTED"

// secretParam reports whether a query parameter name looks like it carries a
// credential (checked case-insensitively).
func secretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "sig", "pin", "key", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential":
		return true
	}
	for _, s := range []string{"secret", "password", "passwd", "token", "signature", "credential", "access_key", "accesskey", "private", "apikey", "api_key"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// URL returns s with the password of its user info, every credential-like
// query or fragment parameter and the same in URLs nested in parameter
// values replaced by Mask. A string that does not parse as a URL, or
// parses as an opaque one with an '@', cannot be inspected safely:
// everything after its scheme is masked (all of it, if it has no "://").
// Apart from the masks, the result is s as given.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil || strings.Contains(u.Opaque, "@") { // s3:u:p@h may hold user info
		i := strings.Index(s, "://")
		switch {
		case i < 0:
			return Mask
		case isScheme(s[:i]):
			return s[:i+3] + Mask
		}
		return Mask + "://" + Mask // what precedes "://" is no scheme, and may be a secret
	}
	// Rebuilt from s, not u.String(), so that only the credentials change.
	head, frag, hasFrag := strings.Cut(s, "#")
	head, query, hasQuery := strings.Cut(head, "?")
	if _, ok := u.User.Password(); ok { // s is [scheme:]//user:password@host...
		a := strings.Index(head, "//") + 2
		auth, _, _ := strings.Cut(head[a:], "/")
		head = head[:a+strings.IndexByte(auth, ':')+1] + Mask + head[a+strings.LastIndex(auth, "@"):]
	}
	if hasQuery {
		head += "?" + params(query, maskValue)
	}
	if hasFrag {
		head += "#" + params(frag, maskValue)
	}
	return head
}

// String replaces every credential found in the URL raw with Mask inside msg
// (for error messages that quote the URL or parts of it): the URL itself,
// and any URL nested in it, %-escaped or not, becomes its URL form, and each
// credential of four characters or more is masked wherever it appears,
// as written, decoded or %-escaped. A raw of several URLs joined by spaces
// is also searched URL by URL.
func String(msg, raw string) string { return Strings(msg, raw) }

// Strings is String for several URLs, e.g. the two ends of a copy.
func Strings(msg string, raws ...string) string {
	var pairs [][2]string
	add := func(old, new string) {
		if old != "" && old != new {
			pairs = append(pairs, [2]string{old, new})
		}
	}
	seen := map[string]bool{}
	for _, raw := range raws {
		find(raw, seen, add)
		for _, f := range strings.Fields(raw) {
			find(f, seen, add)
		}
	}
	if len(pairs) == 0 {
		return msg
	}
	// One pass, longest first: a quoted URL is replaced whole before the
	// secrets in it, and no replacement is replaced again.
	slices.SortStableFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p[0], p[1])
	}
	return strings.NewReplacer(args...).Replace(msg)
}

// find passes to add what String replaces for the URL s: s itself and each
// URL nested in its parameters with its URL form, each credential with
// Mask. It does not rely on url.Parse, so a URL that Parse rejects is
// still searched. Every string is also added %-escaped up to three times,
// which is how a URL nested that deep quotes it. seen holds the URLs
// already searched.
func find(s string, seen map[string]bool, add func(old, new string)) {
	if seen[s] {
		return
	}
	seen[s] = true
	put := func(old, new string) {
		for range 4 {
			add(old, new)
			old, new = url.QueryEscape(old), url.QueryEscape(new)
		}
	}
	secret := func(v string) {
		d := unescape(v)
		forms := []string{v, d, url.QueryEscape(d), url.PathEscape(d)}
		if p, err := url.PathUnescape(v); err == nil { // user info keeps '+'
			forms = append(forms, p)
		}
		for _, f := range forms {
			if len(f) >= 4 { // shorter values would mask ordinary words
				put(f, Mask)
			}
		}
	}
	put(s, URL(s))
	rest := s
	if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		rest = s[i+3:]
		auth := rest
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			auth = rest[:j]
		}
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			if _, p, ok := strings.Cut(auth[:at], ":"); ok {
				secret(p)
			}
		}
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		q, frag, _ := strings.Cut(rest[i:], "#")
		for _, p := range []string{strings.TrimPrefix(q, "?"), frag} {
			params(p, func(val string, isSecret bool) string {
				if isSecret {
					secret(val)
				} else if d := unescape(val); strings.Contains(d, "://") {
					find(d, seen, add)
					find(val, seen, add) // as written: decoding turns a '+' into ' '
				}
				return val
			})
		}
	}
}

// params returns the query or fragment q with the value of each name=value
// pair replaced by f(value, whether the name looks secret); a pair with no
// '=', or with "://" in its name, is passed whole as the value. Pairs are
// split at '&' as url.ParseQuery does, then also at ';' as some other
// parsers do; a credential's value runs to the next '&'.
func params(q string, f func(val string, secret bool) string) string {
	if q == "" {
		return q
	}
	secret := func(name string) bool {
		return !urlish(name) && (secretParam(name) || secretParam(unescape(name)))
	}
	pairs := strings.Split(q, "&")
	for i, p := range pairs {
		if name, val, ok := strings.Cut(p, "="); !ok || urlish(name) {
			p = f(p, false)
		} else {
			p = name + "=" + f(val, secret(name))
		}
		at := 0
		for k, sub := range strings.Split(p, ";") {
			if name, _, ok := strings.Cut(sub, "="); k > 0 && ok && secret(name) {
				v := at + len(name) + 1
				p = p[:v] + f(p[v:], true)
				break
			}
			at += len(sub) + 1
		}
		pairs[i] = p
	}
	return strings.Join(pairs, "&")
}

// urlish reports whether the parameter name s holds a URL: no real name
// does, so its pair is one URL (cut off by a '&' in it).
func urlish(s string) bool { return strings.Contains(unescape(s), "://") }

// maskValue is what URL puts in place of a parameter value: Mask for a
// credential, the URL form of a nested URL (escaped as the value was).
func maskValue(val string, secret bool) string {
	if secret {
		return Mask
	}
	d := unescape(val)
	if !strings.Contains(d, "://") {
		return val
	}
	switch r := URL(d); {
	case r == d:
		return val
	case val == d:
		return r
	default:
		return url.QueryEscape(r)
	}
}

// unescape decodes a query component, keeping malformed %-escapes as
// written.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	parts := strings.Split(strings.ReplaceAll(s, "+", " "), "%")
	for i, p := range parts[1:] {
		if b, err := hex.DecodeString(p[:min(2, len(p))]); err == nil && len(b) == 1 {
			parts[i+1] = string(b) + p[2:]
		} else {
			parts[i+1] = "%" + p
		}
	}
	return strings.Join(parts, "")
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func isScheme(s string) bool {
	for i, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// Err returns err with its message redacted as String does for the URLs
// raws: printing it, or any error that wraps it, shows no credential.
// errors.Is and errors.As still reach err (for gcerrors codes and a
// driver's error types); what a caller then prints of those is its own
// choice. Err(nil) is nil.
func Err(err error, raws ...string) error {
	if err == nil {
		return nil
	}
	return ErrMessage(err, Strings(err.Error(), raws...))
}

// ErrMessage is Err with the redacted message given (for callers that
// redact in their own way, like secrets' keeper keys).
func ErrMessage(err error, msg string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

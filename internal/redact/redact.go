// Package redact removes credentials from URLs and error messages before
// they are printed, logged or written to a report.
package redact

import (
	"net/url"
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

// URL returns s with the password of its user info and every credential-like
// query parameter replaced by Mask. A string that does not parse as a URL is
// returned with everything after the scheme masked, since it cannot be
// inspected safely.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.Index(s, "://"); i >= 0 {
			return s[:i+3] + Mask
		}
		return Mask
	}
	masked := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Mask)
		masked = true
	}
	q := u.Query()
	for k := range q {
		if secretParam(k) {
			q[k] = []string{Mask}
			masked = true
		}
	}
	if !masked {
		return s // as given: re-encoding would change e.g. "mem://" to "mem:"
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// String replaces every credential found in the URL raw with Mask inside msg
// (for error messages that quote the URL or parts of it).
func String(msg, raw string) string {
	if raw == "" {
		return msg
	}
	red := URL(raw)
	msg = strings.ReplaceAll(msg, raw, red)
	u, err := url.Parse(raw)
	if err != nil {
		return msg
	}
	for _, s := range secrets(u) {
		if len(s) >= 4 { // shorter values would mask ordinary words
			msg = strings.ReplaceAll(msg, s, Mask)
		}
	}
	return msg
}

func secrets(u *url.URL) []string {
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p, url.QueryEscape(p))
	}
	for k, vs := range u.Query() {
		if secretParam(k) {
			for _, v := range vs {
				if v != "" {
					out = append(out, v, url.QueryEscape(v))
				}
			}
		}
	}
	return out
}

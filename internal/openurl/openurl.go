// Package openurl checks a URL before a gocloud URL mux sees it, so that
// blob.Open, secrets.Open and pubsub.OpenTopic / OpenSubscription say the
// same thing, in the same words, about an empty, malformed or unknown URL.
package openurl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrMalformed is the cause given for a URL that does not parse. The
// url.Error of net/url is not used: it quotes the URL, credentials and all.
var ErrMalformed = errors.New("malformed URL")

// Parse parses urlstr and checks that its scheme is one valid accepts. On a
// bad URL it returns a message saying what is wrong and what was expected
// (form, e.g. "SCHEME://BUCKET", and the registered schemes), and the
// cause, if any. kind names what the scheme is for in the unknown-scheme
// message ("topic scheme"); empty means "scheme".
func Parse(urlstr, form, kind string, schemes []string, valid func(scheme string) bool) (u *url.URL, msg string, cause error) {
	if kind == "" {
		kind = "scheme"
	}
	want := fmt.Sprintf("want %s with SCHEME one of %s", form, strings.Join(schemes, ", "))
	if strings.TrimSpace(urlstr) == "" {
		return nil, "empty URL; " + want, nil
	}
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, "malformed URL; " + want, ErrMalformed
	}
	if u.Scheme == "" {
		return nil, "URL has no scheme; " + want, nil
	}
	if !valid(u.Scheme) {
		return nil, fmt.Sprintf("unknown %s %q; registered schemes: %s", kind, u.Scheme, strings.Join(schemes, ", ")), nil
	}
	return u, "", nil
}

package redact

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bkt?endpoint=http://127.0.0.1:9100&region=us-east-1":       "s3://bkt?endpoint=http://127.0.0.1:9100&region=us-east-1",
		"minio://user:hunter22@host:9000/bkt":                            "minio://user:REDACTED@host:9000/bkt",
		"s3://bkt?aws_secret_access_key=abcd1234&region=x":               "s3://bkt?aws_secret_access_key=REDACTED&region=x",
		"https://h/o?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2Fx": "https://h/o?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED",
		"pkcs11://token/key?pin=1234":                                    "pkcs11://token/key?pin=REDACTED",
		"awskms://alias/x?region=us-east-1":                              "awskms://alias/x?region=us-east-1",
		"::not a url":                                                    "REDACTED",
		"s3://bkt\x7f?secret=zzz":                                        "s3://REDACTED",
	} {
		assert.Equal(t, want, URL(in), "input %q", in)
	}
}

func TestString(t *testing.T) {
	raw := "minio://user:hunter22@host:9000/bkt?token=tok-9876"
	msg := `open "` + raw + `": auth failed for hunter22 with tok-9876`
	got := String(msg, raw)
	assert.NotContains(t, got, "hunter22")
	assert.NotContains(t, got, "tok-9876")
	assert.Contains(t, got, "host:9000/bkt")
	assert.Equal(t, "nothing to hide", String("nothing to hide", ""))
}

// A URL nested in a parameter value (s3 endpoint=, ring keeper=) is
// redacted too, whether it is written as is or %-escaped.
func TestURLNested(t *testing.T) {
	esc := url.QueryEscape
	for in, want := range map[string]string{
		"s3://b?endpoint=http://user:PASSWORD@127.0.0.1:1&region=us-east-1":                                                                    "s3://b?endpoint=http://user:REDACTED@127.0.0.1:1&region=us-east-1",
		"s3://b?endpoint=" + esc("http://user:PASSWORD@127.0.0.1:1") + "&region=us-east-1":                                                     "s3://b?endpoint=" + esc("http://user:REDACTED@127.0.0.1:1") + "&region=us-east-1",
		"ring://?keeper=" + esc("pkcs11://token/key?pin=PASSWORD") + "&keeper=" + esc("awskms://alias/x?endpoint="+esc("http://u:PASSWORD@h")): "ring://?keeper=" + esc("pkcs11://token/key?pin=REDACTED") + "&keeper=" + esc("awskms://alias/x?endpoint="+esc("http://u:REDACTED@h")),
		"s3://b?endpoint=http://u:p%25zz@h":                 "s3://b?endpoint=" + esc("http://REDACTED"), // nested URL does not parse
		"s3://b?endpoint=http://127.0.0.1:9100&note=100%25": "s3://b?endpoint=http://127.0.0.1:9100&note=100%25",
	} {
		assert.Equal(t, want, URL(in), "input %q", in)
	}
}

// Query and fragment parameters url.Values would drop or misread are still
// masked: a bad %-escape, a ';' separator, a token in the fragment.
func TestURLMalformedParams(t *testing.T) {
	for in, want := range map[string]string{
		"s3://b?secret=ab%zz":                  "s3://b?secret=REDACTED",
		"s3://b?region=x&secret=ab%zz&y=1":     "s3://b?region=x&secret=REDACTED&y=1",
		"s3://b?a=1;secret=abcdef;c=2&d=3":     "s3://b?a=1;secret=REDACTED&d=3",
		"s3://b?%73ecret%zz=abcdef":            "s3://b?%73ecret%zz=REDACTED",
		"https://h/cb#access_token=abcdef&x=1": "https://h/cb#access_token=REDACTED&x=1",
		"s3://b?token=":                        "s3://b?token=REDACTED",
		":token=abcd e=http://x":               "REDACTED://REDACTED", // what precedes :// is no scheme
		"http://u:p%zz@h":                      "http://REDACTED",
		"s3://h?e=&x://u:hunter22@h/?k":        "s3://h?e=&x://u:REDACTED@h/?k", // '&' cut a nested URL off its name
		"s3://h?e=&x://u:=hunter22@h/?k":       "s3://h?e=&x://u:REDACTED@h/?k",
		"s3://h?e=&x://u:secret22@h/=1":        "s3://h?e=&x://u:REDACTED@h/=1",
		"s3:u:hunter22@h":                      "REDACTED",                        // opaque, but user info to a reader
		"s3://h?e=http://;:secret22@h/=1":      "s3://h?e=http://;:REDACTED@h/=1", // ';' in nested user info
		"A:://u:hunter22@h":                    "REDACTED://REDACTED",
	} {
		assert.Equal(t, want, URL(in), "input %q", in)
	}
}

func TestURLUnchanged(t *testing.T) {
	for _, in := range []string{"mem://", "file:///tmp/x", "s3://b?endpoint=http://127.0.0.1:9100", "gs://b/o?x=a%20b"} {
		assert.Equal(t, in, URL(in))
	}
}

func TestStringNested(t *testing.T) {
	inner := "http://user:PASSWORD@127.0.0.1:1"
	raw := "s3://b?endpoint=" + url.QueryEscape(inner) + "&region=us-east-1"
	msg := "open " + raw + ": dial " + inner + ": refused; endpoint " + url.QueryEscape(inner) + " user PASSWORD"
	got := String(msg, raw)
	assert.NotContains(t, got, "PASSWORD")
	assert.Contains(t, got, "127.0.0.1:1")
	assert.Contains(t, got, "region=us-east-1")

	// A password too short to mask everywhere is masked where its URL is quoted, in either form.
	inner = "http://user:pw@127.0.0.1:1"
	raw = "s3://b?endpoint=" + inner
	got = String("dial "+inner+" and "+url.QueryEscape(inner), raw)
	assert.Equal(t, "dial http://user:REDACTED@127.0.0.1:1 and "+url.QueryEscape("http://user:REDACTED@127.0.0.1:1"), got)

	// Nested as written, with a '+' that decoding the value turns into ' '.
	got = String("password: +word12 rejected", "s3://b?endpoint=http://u: +word12@h")
	assert.Equal(t, "password:REDACTED rejected", got)

	// Twice nested: ring -> keeper -> endpoint, special characters in the password.
	pw := "p@ss/w0rd!"
	endpoint := "http://" + url.UserPassword("u", pw).String() + "@h"
	keeper := "awskms://alias/x?endpoint=" + url.QueryEscape(endpoint) + "&pin=PINPIN1"
	ring := "ring://?keeper=" + url.QueryEscape(keeper)
	msg = ring + " | " + keeper + " | " + endpoint + " | " + url.QueryEscape(keeper) + " | " + url.QueryEscape(url.QueryEscape(endpoint)) + " | " + pw + " | " + url.QueryEscape(pw) + " | PINPIN1"
	got = String(msg, ring)
	for _, s := range []string{"w0rd", "PINPIN1"} {
		assert.NotContains(t, got, s)
	}
	assert.Contains(t, got, "awskms")
}

// When raw does not parse, String still masks its password and secret
// parameters wherever msg quotes them, not only the whole of raw.
func TestStringUnparsable(t *testing.T) {
	for raw, secret := range map[string]string{
		"http://u:hunter22%zz@h":          "hunter22%zz",
		"http://u:hunter22@h:badport":     "hunter22",
		"s3://b\x7f?secret=hunter22&x=1":  "hunter22",
		"s3://b\x7f?token=" + "a%2Fb%zzc": "a%2Fb%zzc",
		"::x?token=hunter22 e=http://x":   "hunter22",
	} {
		got := String(`open "`+raw+`": rejected `+secret+" and "+url.QueryEscape(secret), raw)
		assert.NotContains(t, got, secret, "raw %q", raw)
		assert.NotContains(t, got, url.QueryEscape(secret), "raw %q", raw)
	}
	got := String("bad password a/b%zzc", "s3://b\x7f?token=a%2Fb%zzc")
	assert.NotContains(t, got, "a/b%zzc")
}

func TestStringOrdinaryWords(t *testing.T) {
	raw := "s3://b?region=us-east-1&key=abc&endpoint=http://127.0.0.1:9100"
	msg := ": abc not found at http://127.0.0.1:9100 in us-east-1"
	assert.Equal(t, "open s3://b?region=us-east-1&key=REDACTED&endpoint=http://127.0.0.1:9100"+msg, String("open "+raw+msg, raw))
	assert.Equal(t, "mem:// is fine", String("mem:// is fine", "mem://"))
}

// "from X to Y": each URL is redacted on its own, also when a caller joins
// them with a space into one raw.
func TestStrings(t *testing.T) {
	from, to := "s3://a?token=tok-1111", "minio://u:pw-2222@h/b"
	msg := "copy " + from + " to " + to + " failed: tok-1111 pw-2222"
	want := "copy s3://a?token=REDACTED to minio://u:REDACTED@h/b failed: REDACTED REDACTED"
	assert.Equal(t, want, Strings(msg, from, to))
	assert.Equal(t, want, String(msg, from+" "+to))
	assert.Equal(t, "x", Strings("x"))
}

// FuzzURL plants a secret as a URL's password or as the value of a
// secret-looking parameter, possibly inside a nested URL, around fuzzed
// parts; neither URL nor String may let it through.
func FuzzURL(f *testing.F) {
	f.Add("s3", "user", "host:9000", "bkt/o", "aws_", "x", "endpoint", "region=us-east-1", uint8(0))
	f.Add("minio", "u", "h", "", "", "%zz", "keeper", "a=1;b", uint8(1))
	f.Add("http", "", "127.0.0.1", "p%zz", "x-amz-", "@", "e", "", uint8(6))
	f.Add("", "u%41", "[::1]", "", "%7", "+%2F", "k", "#frag", uint8(11))
	f.Fuzz(func(t *testing.T, scheme, user, host, path, name, pre, nest, other string, mode uint8) {
		const planted = "PLANTEDSECRET123"
		// The parts must not move the secret out of its place: a '/' in
		// the user info, say, makes the "password" part of a path.
		scheme = drop(scheme, "/?#")
		user = drop(user, "/?#@:")
		host = drop(host, "/?#@")
		path = drop(path, "?#")
		name = drop(name, "&;=#")
		nest = drop(nest, "&;=#")
		other = drop(other, "&#")
		pre = drop(pre, "/?#&")
		for _, p := range []string{scheme, user, host, path, name, nest, other} {
			if strings.Contains(unescape(p), planted) || strings.Contains(p, planted) {
				t.Skip()
			}
		}
		if mode>>1&3 == 1 {
			user = drop(user, "&") // else it would end the outer value before the password
		}
		var raw string
		if mode&1 == 0 {
			raw = scheme + "://" + user + ":" + pre + planted + "@" + host + "/" + path + "?" + other
		} else {
			raw = scheme + "://" + host + "/" + path + "?" + other + "&" + name + "token=" + pre + planted + "&" + other
		}
		switch mode >> 1 & 3 {
		case 1: // nested as written
			raw = "s3://" + host + "?" + nest + "=" + raw + "&" + other
		case 2: // nested %-escaped
			raw = "ring://?" + nest + "=" + url.QueryEscape(raw)
		case 3: // twice nested
			raw = "ring://?keeper=" + url.QueryEscape("s3://"+host+"?"+nest+"="+url.QueryEscape(raw))
		}
		assert.NotContains(t, URL(raw), planted, "raw %q", raw)
		// A message quotes the URL and the secret, as written, decoded or escaped.
		secret := pre + planted
		msg := "open " + raw + ": auth failed for " + secret + " (" + unescape(secret) + ", " + url.QueryEscape(secret) + ")"
		if p, err := url.PathUnescape(secret); err == nil {
			msg += " " + p
		}
		assert.NotContains(t, String(msg, raw), planted, "raw %q", raw)
		assert.NotContains(t, Strings(msg, "mem://", raw), planted, "raw %q", raw)
	})
}

func drop(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return -1
		}
		return r
	}, s)
}

func TestErrRedactsAndUnwraps(t *testing.T) {
	raw := "s3://b?endpoint=http://u:hunter2pw@h&token=tok12345"
	cause := fmt.Errorf("dial %s: %w", raw, os.ErrDeadlineExceeded)
	err := Err(cause, raw)
	assert.NotContains(t, err.Error(), "hunter2pw")
	assert.NotContains(t, err.Error(), "tok12345")
	assert.NotContains(t, fmt.Sprintf("%v", fmt.Errorf("open: %w", err)), "hunter2pw")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Same(t, cause, errors.Unwrap(err))
	assert.NoError(t, Err(nil, raw))
	assert.NoError(t, ErrMessage(nil, "x"))
	assert.Equal(t, "masked", ErrMessage(cause, "masked").Error())
}

package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/internal/listwork"
)

// keyRoot is the first path segment of every key the suite writes.
const keyRoot = "civicport-conformance/"

// env is what a check works with: its bucket, its own key prefix, and a
// record of what it wrote so that cleanup can remove it.
type env struct {
	ctx  context.Context
	b    *blob.Bucket
	o    *Options
	base string // unique prefix for this check's keys, ends in "/"

	mu      sync.Mutex
	written map[string]bool // keys written, to delete
}

func newEnv(ctx context.Context, b *blob.Bucket, o *Options, capName string) *env {
	var r [5]byte
	_, _ = rand.Read(r[:])
	short := strings.TrimPrefix(capName, "blob.")
	return &env{
		ctx:     ctx,
		b:       b,
		o:       o,
		base:    keyRoot + short + "-" + hex.EncodeToString(r[:]) + "/",
		written: map[string]bool{},
	}
}

// key returns the full key for name under this check's prefix.
func (e *env) key(name string) string { return e.base + name }

// rel strips this check's prefix from a key, for shorter evidence.
func (e *env) rel(key string) string {
	if strings.HasPrefix(key, e.base) {
		return key[len(e.base):]
	}
	return key
}

// track records key for cleanup.
func (e *env) track(key string) {
	e.mu.Lock()
	e.written[key] = true
	e.mu.Unlock()
}

// write stores data at key, recording it for cleanup. (What a failed write
// may leave behind is found by listing the check's prefix.)
func (e *env) write(key string, data []byte, opts *blob.WriterOptions) error {
	err := e.b.WriteAll(e.ctx, key, data, opts)
	if err == nil {
		e.track(key)
	}
	return err
}

// read returns the whole content of key.
func (e *env) read(key string) ([]byte, error) {
	return e.readWith(key, nil)
}

func (e *env) readWith(key string, opts *blob.ReaderOptions) ([]byte, error) {
	r, err := e.b.NewReader(e.ctx, key, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// listAll lists every object under prefix (no delimiter).
func (e *env) listAll(prefix string) ([]*blob.ListObject, error) {
	return e.list(&blob.ListOptions{Prefix: prefix}, 1_000_000)
}

// list lists opts whole with List, giving up with an error after max
// entries (a backend that never ends its listing).
func (e *env) list(opts *blob.ListOptions, max int) ([]*blob.ListObject, error) {
	var out []*blob.ListObject
	it := e.b.List(opts)
	for {
		o, err := it.Next(e.ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, o)
		if len(out) > max {
			return out, fmt.Errorf("listing returned more than %d entries; giving up", max)
		}
	}
}

// listPages lists opts page by page with ListPage and pages of size, at
// most maxPages pages. It returns the pages read, whether the backend still
// gave a next page token after the last one, and the error of the page that
// failed (the pages before it are returned).
func (e *env) listPages(opts *blob.ListOptions, size, maxPages int) (pages [][]*blob.ListObject, more bool, err error) {
	token := blob.FirstPageToken
	for len(token) > 0 && len(pages) < maxPages {
		var page []*blob.ListObject
		if page, token, err = e.b.ListPage(e.ctx, token, size, opts); err != nil {
			return pages, false, err
		}
		pages = append(pages, page)
	}
	return pages, len(token) > 0, nil
}

// forEach runs f on every key with e.o.Workers workers and returns the
// errors by key. Panics in f are returned as errors.
func (e *env) forEach(keys []string, f func(key string) error) map[string]error {
	var (
		mu   sync.Mutex
		errs = map[string]error{}
	)
	_ = listwork.Each(context.Background(), min(e.o.Workers, len(keys)), func(yield func(string) bool) error {
		for _, k := range keys {
			yield(k)
		}
		return nil
	}, func(k string) {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			return f(k)
		}()
		if err != nil {
			mu.Lock()
			errs[k] = err
			mu.Unlock()
		}
	})
	return errs
}

// cleanup deletes what the check wrote: every tracked key and anything
// still listed under the check's prefix. It runs even when the check's
// context has ended (with a bound of its own) and never fails the check;
// problems go to Logf.
func (e *env) cleanup() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 2*time.Minute)
	defer cancel()
	e.mu.Lock()
	keys := make([]string, 0, len(e.written))
	seen := map[string]bool{}
	for k := range e.written {
		keys = append(keys, k)
		seen[k] = true
	}
	e.mu.Unlock()
	it := e.b.List(&blob.ListOptions{Prefix: e.base})
	for n := 0; n < 100_000; n++ {
		o, err := it.Next(ctx)
		if err != nil {
			if err != io.EOF {
				e.o.Logf("cleanup: listing %q: %s", e.base, errText(err))
			}
			break
		}
		if !seen[o.Key] {
			seen[o.Key] = true
			keys = append(keys, o.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	errs := e.forEach(keys, func(k string) error {
		err := e.b.Delete(ctx, k)
		if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return err
		}
		return nil
	})
	for k, err := range errs {
		e.o.Logf("cleanup: deleting %s: %s", showKey(k), errText(err))
	}
}

// safeCleanup is cleanup that cannot panic (used after a check panicked).
func (e *env) safeCleanup() {
	defer func() { _ = recover() }()
	e.cleanup()
}

// gocloudPrefix matches the prefix the portable API puts on driver errors;
// the evidence already names the key and the code.
var gocloudPrefix = regexp.MustCompile(`^blob(?: \(key "(?:[^"\\]|\\.)*"\))? \(code=[A-Za-z]+\): `)

// awsRequestIDs matches the request ids in AWS SDK errors: noise in evidence.
var awsRequestIDs = regexp.MustCompile(`,? RequestID: [^,]*, HostID: [^,]*`)

// errText is a short description of err for evidence: its gcerrors code and
// message (without gocloud's "blob (key ...) (code=...)" prefix), truncated.
func errText(err error) string {
	return errTextN(err, 300)
}

// shortErr is a shorter errText, for checks that list many keys.
func shortErr(err error) string {
	return errTextN(err, 240)
}

func errTextN(err error, n int) string {
	if err == nil {
		return "<nil>"
	}
	msg := gocloudPrefix.ReplaceAllString(err.Error(), "")
	msg = awsRequestIDs.ReplaceAllString(msg, "")
	return fmt.Sprintf("%s: %s", gcerrors.Code(err), truncateMiddle(msg, n))
}

// truncateMiddle keeps the start and the end of a long message (OS errors
// put the reason last, after long paths).
func truncateMiddle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head, tail := n*2/3, n/3
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[len(s)-tail]) {
		tail++
	}
	return s[:head] + " ... " + s[len(s)-tail:]
}

// showKey quotes a key name for evidence, abbreviating very long ones. A
// name that is not in Unicode NFC is shown with escapes, so that it can be
// told apart from its look-alike.
func showKey(k string) string {
	if !norm.NFC.IsNormalString(k) {
		return fmt.Sprintf("%+q", k)
	}
	if len(k) <= 80 {
		return fmt.Sprintf("%q", k)
	}
	head, tail := 24, 12
	for head > 0 && !utf8.RuneStart(k[head]) {
		head--
	}
	for tail < len(k) && !utf8.RuneStart(k[len(k)-tail]) {
		tail++
	}
	return fmt.Sprintf("%q...%q", k[:head], k[len(k)-tail:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// diff describes how got differs from want ("" when equal).
func diff(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	n := min(len(want), len(got))
	i := 0
	for i < n && want[i] == got[i] {
		i++
	}
	switch {
	case i == n && len(got) < len(want):
		return fmt.Sprintf("got %d bytes, want %d (truncated: the bytes read match the start)", len(got), len(want))
	case i == n:
		return fmt.Sprintf("got %d bytes, want %d (extra bytes after the expected content)", len(got), len(want))
	case len(got) != len(want):
		return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d (got 0x%02x, want 0x%02x)", len(got), len(want), i, got[i], want[i])
	}
	return fmt.Sprintf("content differs at offset %d of %d (got 0x%02x, want 0x%02x)", i, len(want), got[i], want[i])
}

// quoteBytes shows a short content for evidence.
func quoteBytes(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%q", b)
}

package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards HTTP to a server, records the x-amz-content-sha256 header
// of every PUT (the payload hash of its signature, or UNSIGNED-PAYLOAD) and,
// if asked, damages one byte of the first PUT body: a network or gateway
// that corrupts an upload without touching its signed headers.
type Proxy struct {
	Addr    string      // host:port to send requests to
	Flipped atomic.Bool // a PUT body was damaged

	mu     sync.Mutex
	hashes []string
}

// NewProxy starts a Proxy to host (host:port, plain HTTP) until the test
// ends. flipAt >= 0 damages the byte at that offset of the first PUT body
// longer than flipAt (or of unknown length; a shorter one passes).
func NewProxy(t testing.TB, host string, flipAt int64) *Proxy {
	t.Helper()
	p := &Proxy{}
	target := &url.URL{Scheme: "http", Host: host}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the client signed the proxy's Host
		if r.Out.Method != http.MethodPut {
			return
		}
		p.mu.Lock()
		p.hashes = append(p.hashes, r.Out.Header.Get("X-Amz-Content-Sha256"))
		p.mu.Unlock()
		if flipAt >= 0 && r.Out.Body != nil && (r.Out.ContentLength < 0 || r.Out.ContentLength > flipAt) && p.Flipped.CompareAndSwap(false, true) {
			r.Out.Body = &flipReader{r: r.Out.Body, at: flipAt}
		}
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.Addr = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// PayloadHashes returns the x-amz-content-sha256 header of each PUT so far.
func (p *Proxy) PayloadHashes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hashes...)
}

type flipReader struct {
	r   io.ReadCloser
	off int64
	at  int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

package blobtest

// The retention checks can fail: a backend that accepts retention and legal
// holds but does not enforce them is reported as a fail with evidence.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"gocloud.dev/blob"

	cpminio "github.com/civicport/civicport/adapters/minio"
	_ "github.com/civicport/civicport/adapters/retention/minio" // retention on buckets opened with cpminio.OpenBucket
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/testing/testenv"
)

// unenforcedTransport answers S3 retention and legal-hold requests itself,
// keeping what was set and echoing it back, and passes every other request
// to the real server: to a client the backend claims retention and legal
// holds, but the server never learns of them, so nothing is enforced.
type unenforcedTransport struct {
	mu   sync.Mutex
	kept map[string][]byte // object path + "?" + subresource -> body last PUT
	next http.RoundTripper
}

func (u *unenforcedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	sub := ""
	for _, s := range []string{"retention", "legal-hold"} {
		if q.Has(s) {
			sub = s
		}
	}
	if sub == "" {
		return u.next.RoundTrip(r)
	}
	k := r.URL.Path + "?" + sub
	reply := func(status int, body []byte) *http.Response {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/xml"}},
			Body:   io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		u.kept[k] = body
		return reply(http.StatusOK, nil), nil
	case http.MethodGet:
		if body, ok := u.kept[k]; ok {
			return reply(http.StatusOK, body), nil
		}
		return reply(http.StatusNotFound, []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchObjectLockConfiguration</Code><Message>none</Message></Error>`)), nil
	}
	return u.next.RoundTrip(r)
}

// lockedMinIOVia opens, for each check, a new object-lock bucket on MinIO
// through the MinIO adapter, its requests sent through a transport from
// newTransport.
func lockedMinIOVia(t *testing.T, newTransport func() http.RoundTripper) Opener {
	s := testenv.MinIO(t)
	return func(ctx context.Context) (*blob.Bucket, error) {
		c, err := minio.New(s.Host, &minio.Options{
			Creds:     credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
			Region:    s.Region,
			Transport: newTransport(),
		})
		if err != nil {
			return nil, err
		}
		return cpminio.OpenBucket(ctx, c, s.NewBucket(t, testenv.WithObjectLock()), nil)
	}
}

func TestRetentionNotEnforced(t *testing.T) {
	open := lockedMinIOVia(t, func() http.RoundTripper {
		return &unenforcedTransport{kept: map[string][]byte{}, next: http.DefaultTransport}
	})
	res := Run(t.Context(), open, &Options{Capabilities: retentionCapabilities, Logf: t.Logf})
	logResults(t, res)
	assertMatrix(t, res, matrix{
		conformance.BlobRetentionGovernance: fails("without the bypass succeeded: not enforced", "is gone: governance retention not enforced"),
		conformance.BlobRetentionCompliance: fails("deleting compliance-retained version", "succeeded: not enforced", "gone before its date"),
		conformance.BlobLegalHold:           fails("deleting held version", "succeeded: not enforced", "legal hold not enforced"),
	})
	for _, r := range res {
		require.False(t, strings.Contains(r.Detail, "PermissionDenied"), "%s: %s", r.Capability, r.Detail)
	}
}

// lyingLate passes the first retention PUT to the real server (so the
// retention is real and deletes are refused), accepts every later one
// without telling the server (a shortening "succeeds": a lie), and then
// stalls one request past the compliance period.
type lyingLate struct {
	mu      sync.Mutex
	puts    int
	stalled bool
	stall   time.Duration
	next    http.RoundTripper
}

func (l *lyingLate) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	isRetentionPut := r.Method == http.MethodPut && r.URL.Query().Has("retention")
	if isRetentionPut {
		l.puts++
	}
	lie := isRetentionPut && l.puts > 1
	stallNow := !lie && l.puts > 1 && !l.stalled
	if stallNow {
		l.stalled = true
	}
	l.mu.Unlock()
	if lie {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(nil)), Request: r}, nil
	}
	if stallNow {
		select {
		case <-time.After(l.stall):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return l.next.RoundTrip(r)
}

// A refusal that failed before the compliance date is a fail even when a
// later step stalls past the date (it used to be reported as inconclusive).
func TestRetentionComplianceFailureSurvivesTimeout(t *testing.T) {
	open := lockedMinIOVia(t, func() http.RoundTripper {
		return &lyingLate{stall: complianceCheckPeriod + time.Second, next: http.DefaultTransport}
	})
	res := Run(t.Context(), open, &Options{Capabilities: []string{conformance.BlobRetentionCompliance}, Logf: t.Logf})
	logResults(t, res)
	assertMatrix(t, res, matrix{
		conformance.BlobRetentionCompliance: fails("shortening the compliance retention", "succeeded: not enforced"),
	})
}

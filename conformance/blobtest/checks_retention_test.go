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

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"gocloud.dev/blob"

	cpminio "github.com/civicport/civicport/adapters/minio"
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

func TestRetentionNotEnforced(t *testing.T) {
	s := testenv.MinIO(t)
	open := func(ctx context.Context) (*blob.Bucket, error) {
		c, err := minio.New(s.Host, &minio.Options{
			Creds:     credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
			Region:    s.Region,
			Transport: &unenforcedTransport{kept: map[string][]byte{}, next: http.DefaultTransport},
		})
		if err != nil {
			return nil, err
		}
		return cpminio.OpenBucket(ctx, c, s.NewBucket(t, testenv.WithObjectLock()), nil)
	}
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

// Package report renders conformance results for people and machines (an
// aligned table, JSON, Markdown, JUnit XML), reads saved JSON reports back,
// and compares two backends' results into a switch plan: which capabilities
// a move from A to B would keep, lose or gain.
//
// The JSON form is a contract that users' CI scripts and `civicport plan
// --from-report` depend on:
//
//	{"backends":[{"url":"s3://bkt?...","kind":"blob","duration_ms":1234,
//	  "results":[{"capability":"blob.md5","status":"pass","detail":"...","duration_ms":12}]}]}
//
// URLs in a report are redacted before they are stored (see Backend).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/internal/redact"
)

// Kinds of backend.
const (
	KindBlob    = "blob"
	KindSecrets = "secrets"
	KindPubSub  = "pubsub"
)

// Backend is the results of one suite against one backend.
type Backend struct {
	URL  string `json:"url"` // always redacted
	Kind string `json:"kind"`
	// Via names a civicport decorator the backend was measured through,
	// e.g. "seal base64key://REDACTED"; empty for the backend itself.
	Via      string               `json:"via,omitempty"`
	Duration time.Duration        `json:"-"`
	Results  []conformance.Result `json:"results"`
}

// NewBackend returns a Backend for url (redacted here) and kind.
func NewBackend(url, kind string, results []conformance.Result, d time.Duration) Backend {
	return Backend{URL: redact.URL(url), Kind: kind, Results: results, Duration: d}
}

type backendJSON struct {
	URL        string               `json:"url"`
	Kind       string               `json:"kind"`
	Via        string               `json:"via,omitempty"`
	DurationMS int64                `json:"duration_ms"`
	Results    []conformance.Result `json:"results"`
}

// MarshalJSON writes the duration as "duration_ms" and re-redacts the URL.
func (b Backend) MarshalJSON() ([]byte, error) {
	res := b.Results
	if res == nil {
		res = []conformance.Result{}
	}
	return json.Marshal(backendJSON{URL: redact.URL(b.URL), Kind: b.Kind, Via: b.Via, DurationMS: b.Duration.Milliseconds(), Results: res})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (b *Backend) UnmarshalJSON(p []byte) error {
	var j backendJSON
	if err := json.Unmarshal(p, &j); err != nil {
		return err
	}
	switch j.Kind {
	case KindBlob, KindSecrets, KindPubSub:
	default:
		return fmt.Errorf("backend %q: unknown kind %q (want blob, secrets or pubsub)", j.URL, j.Kind)
	}
	*b = Backend{URL: j.URL, Kind: j.Kind, Via: j.Via, Duration: time.Duration(j.DurationMS) * time.Millisecond, Results: j.Results}
	return nil
}

// Report is the results of one conform run.
type Report struct {
	Backends []Backend `json:"backends"`
}

// Failed reports whether any capability of any backend failed.
func (r *Report) Failed() bool {
	for _, b := range r.Backends {
		if conformance.Failed(b.Results) {
			return true
		}
	}
	return false
}

// Read parses a JSON report as written by WriteJSON.
func Read(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a civicport conformance report: %w", err)
	}
	if len(r.Backends) == 0 {
		return nil, fmt.Errorf("not a civicport conformance report: no backends")
	}
	return &r, nil
}

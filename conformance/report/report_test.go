package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/conformance"
)

func sample() *Report {
	return &Report{Backends: []Backend{
		NewBackend("s3://bkt?endpoint=http://127.0.0.1:9100&secret_access_key=hunter22", KindBlob, []conformance.Result{
			{Capability: "blob.read_write", Status: conformance.Pass, Duration: 12 * time.Millisecond},
			{Capability: "blob.special_keys", Status: conformance.Fail, Detail: "key \"a//b\": write refused: XMinioInvalidObjectName", Duration: 30 * time.Millisecond},
			{Capability: "blob.signed_url", Status: conformance.Unsupported, Detail: "backend returned Unimplemented"},
			{Capability: "blob.legal_hold", Status: conformance.Skipped, Detail: "portable retention API not available yet | soon"},
		}, 2*time.Second),
		NewBackend("mem://", KindBlob, []conformance.Result{
			{Capability: "blob.read_write", Status: conformance.Pass},
			{Capability: "blob.special_keys", Status: conformance.Pass},
			{Capability: "blob.signed_url", Status: conformance.Pass},
		}, time.Second),
	}}
}

func render(t *testing.T, format string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sample(), format))
	out := buf.String()
	assert.NotContains(t, out, "hunter22", "%s output leaks a credential", format)
	return out
}

func TestJSONRoundTrip(t *testing.T) {
	out := render(t, "json")
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw), "one JSON document")
	b0 := raw["backends"].([]any)[0].(map[string]any)
	assert.Equal(t, "blob", b0["kind"])
	assert.Equal(t, float64(2000), b0["duration_ms"])
	r0 := b0["results"].([]any)[1].(map[string]any)
	assert.Equal(t, "blob.special_keys", r0["capability"])
	assert.Equal(t, "fail", r0["status"])
	assert.Equal(t, float64(30), r0["duration_ms"])
	assert.Contains(t, r0["detail"], "XMinioInvalidObjectName")

	back, err := Read(strings.NewReader(out))
	require.NoError(t, err)
	want := sample()
	assert.Equal(t, want.Backends[0].URL, back.Backends[0].URL)
	assert.Equal(t, want.Backends[0].Results, back.Backends[0].Results)
	assert.True(t, back.Failed())
}

func TestReadRejectsOtherDocuments(t *testing.T) {
	for _, in := range []string{"", "{}", `{"backends":[]}`, "not json", `{"backends":[{"url":"x","kind":"queue","results":[]}]}`,
		`{"backends":[{"url":"x","kind":"blob","results":[{"capability":"c","status":"maybe"}]}]}`} {
		_, err := Read(strings.NewReader(in))
		assert.Error(t, err, "%q", in)
	}
}

func TestJUnitParsesBack(t *testing.T) {
	out := render(t, "junit")
	var got junitSuites
	require.NoError(t, xml.Unmarshal([]byte(out), &got))
	assert.Equal(t, 7, got.Tests)
	assert.Equal(t, 1, got.Failures)
	assert.Equal(t, 2, got.Skipped)
	require.Len(t, got.Suites, 2)
	cases := got.Suites[0].Cases
	require.Len(t, cases, 4)
	assert.Nil(t, cases[0].Failure)
	require.NotNil(t, cases[1].Failure)
	assert.Contains(t, cases[1].Failure.Message, "XMinioInvalidObjectName")
	require.NotNil(t, cases[2].Skipped)
	assert.Contains(t, cases[2].Skipped.Message, "unsupported: backend returned Unimplemented")
	assert.Equal(t, "0.030", cases[1].Time)
}

func TestTableAndMarkdown(t *testing.T) {
	table := render(t, "table")
	assert.Contains(t, table, "1 pass, 1 fail, 1 unsupported, 1 skipped")
	assert.Regexp(t, `blob\.special_keys\s+fail\s+key "a//b": write refused`, table)
	assert.Regexp(t, `blob\.read_write\s+pass\s*\n`, table, "no reason printed for a pass")

	md := render(t, "markdown")
	assert.Contains(t, md, "| `blob.special_keys` | fail | pass |")
	assert.Contains(t, md, "| `blob.legal_hold` | skipped | - |")
	assert.Contains(t, md, `not available yet \| soon`, "pipes in details are escaped")
}

func TestUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, sample(), "yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown format "yaml"; want one of table, json, markdown, junit`)
}

func TestCompare(t *testing.T) {
	r := sample()
	p := Compare(r.Backends[1], r.Backends[0]) // mem -> s3
	assert.True(t, p.Losing())
	names := func(cs []Change) (out []string) {
		for _, c := range cs {
			out = append(out, c.Capability)
		}
		return out
	}
	assert.Equal(t, []string{"blob.signed_url", "blob.special_keys"}, names(p.Lost))
	assert.Equal(t, []string{"blob.read_write"}, names(p.Kept))
	assert.Empty(t, p.Gained)
	assert.Equal(t, []string{"blob.legal_hold"}, names(p.Other))

	back := Compare(r.Backends[0], r.Backends[1]) // s3 -> mem
	assert.False(t, back.Losing())
	assert.Equal(t, []string{"blob.signed_url", "blob.special_keys"}, names(back.Gained))

	var buf bytes.Buffer
	require.NoError(t, p.WriteText(&buf))
	assert.Contains(t, buf.String(), "LOST: passes on the source, not on the target (2)")
	assert.NotContains(t, buf.String(), "hunter22")
}

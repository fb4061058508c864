package openurl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/internal/openurl"
)

func TestParse(t *testing.T) {
	valid := func(s string) bool { return s == "mem" || s == "s3" }
	schemes := []string{"mem", "s3"}
	for _, tc := range []struct{ in, kind, want string }{
		{"", "", "empty URL; want SCHEME://BUCKET with SCHEME one of mem, s3"},
		{" \t", "", "empty URL; "},
		{"records", "", "URL has no scheme; want SCHEME://BUCKET"},
		{"ftp://records", "", `unknown scheme "ftp"; registered schemes: mem, s3`},
		{"ftp://records", "topic scheme", `unknown topic scheme "ftp"`},
		{"s3://user:hunter2@records\x7f", "", "malformed URL; want SCHEME://BUCKET"},
	} {
		u, msg, cause := openurl.Parse(tc.in, "SCHEME://BUCKET", tc.kind, schemes, valid)
		assert.Nil(t, u, tc.in)
		assert.Contains(t, msg, tc.want, tc.in)
		assert.NotContains(t, msg, "hunter2")
		if cause != nil {
			assert.NotContains(t, cause.Error(), "hunter2")
		}
	}
	u, msg, cause := openurl.Parse("s3://records?region=us-east-1", "SCHEME://BUCKET", "", schemes, valid)
	require.NotNil(t, u)
	assert.Empty(t, msg)
	assert.NoError(t, cause)
	assert.Equal(t, "records", u.Host)
}

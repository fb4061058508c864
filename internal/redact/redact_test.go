package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bkt?endpoint=http://127.0.0.1:9100&region=us-east-1":       "s3://bkt?endpoint=http://127.0.0.1:9100&region=us-east-1",
		"minio://user:hunter22@host:9000/bkt":                            "minio://user:REDACTED@host:9000/bkt",
		"s3://bkt?aws_secret_access_key=abcd1234&region=x":               "s3://bkt?aws_secret_access_key=REDACTED&region=x",
		"https://h/o?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2Fx": "https://h/o?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED",
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

package meta_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/civicport/civicport/pubsub/meta"
)

func TestMessageKey(t *testing.T) {
	md := map[string]string{"a": "1", "b": "2"}
	assert.Equal(t, "id:x", meta.DedupKey("l1", []byte("b"), map[string]string{meta.ID: "x"}, false))
	k := meta.DedupKey("l1", []byte("body"), md, false)
	assert.Regexp(t, "^sha256:[0-9a-f]{64}$", k)
	assert.Equal(t, k, meta.DedupKey("l1", []byte("body"), map[string]string{"b": "2", "a": "1"}, false))
	assert.NotEqual(t, k, meta.DedupKey("l2", []byte("body"), md, false))
	assert.Equal(t, meta.DedupKey("l1", []byte("body"), md, true), meta.DedupKey("l2", []byte("body"), md, true))
	// Length prefixes: moving bytes between fields changes the key.
	assert.NotEqual(t,
		meta.DedupKey("", []byte("b"), map[string]string{"a": "1b"}, true),
		meta.DedupKey("", []byte("1b"), map[string]string{"a": ""}, true))
	// A signature does not make a message another message.
	signed := map[string]string{"a": "1", "b": "2", meta.Signature: "ed25519:k:AAAA"}
	assert.Equal(t, k, meta.DedupKey("l1", []byte("body"), signed, false))
}

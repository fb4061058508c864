package pubsub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// The signed and hashed encoding of a message is a wire format: signatures
// made by one release must verify on the next, and Dedup keys stored in a
// bucket must match again after an upgrade. These values were computed by
// the first release; a change to the encoding breaks them.
func TestCanonicalEncodingIsStable(t *testing.T) {
	ctx := context.Background()
	var key [32]byte
	copy(key[:], bytes.Repeat([]byte{0x5a}, 32))
	keeper := localsecrets.NewKeeper(key)
	defer keeper.Close()
	hmacKey := bytes.Repeat([]byte{0x01, 0x02}, 16)
	wrapped, err := keeper.Encrypt(ctx, hmacKey)
	require.NoError(t, err)
	s, err := sign.NewHMACSigner(ctx, "county-7", keeper, wrapped)
	require.NoError(t, err)

	m := &gcpubsub.Message{
		Body:     []byte(`{"precinct":"0012","ballots":412}`),
		Metadata: map[string]string{"precinct": "0012", "county": "Adams", "Ñandú": "投票", meta.Signature: "replaced"},
	}
	md, err := sign.Message(ctx, s, m)
	require.NoError(t, err)
	assert.Equal(t, "hmac-sha256:county-7:Ke9D4DVQxw+AnOL06pqZj1YvLVAUzCjNS8jqZ1yUUM8=", md[meta.Signature])

	assert.Equal(t, "sha256:da7d591cbc4de70fe08274e11c57b113f81b6ff4c03db90be1f6e57343d61614", meta.DedupKey("seq-9", m.Body, m.Metadata, false))
	assert.Equal(t, "sha256:8cf83125e009c66a764a1ea1b2334af00e783808cbddd2bc0def963514cb4a0a", meta.DedupKey("seq-9", m.Body, m.Metadata, true))
	// The encoding as documented: each field length-prefixed (8 bytes,
	// big-endian): domain, extra, the number of metadata keys, each key and
	// value in key order, the body.
	var spec []byte
	field := func(s string) { spec = binary.BigEndian.AppendUint64(spec, uint64(len(s))); spec = append(spec, s...) }
	field("civicport dedup v1")
	field("")
	spec = binary.BigEndian.AppendUint64(spec, 2)
	field("a")
	field("1")
	field("b")
	field("")
	field("body")
	sum := sha256.Sum256(spec)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]),
		meta.DedupKey("ignored", []byte("body"), map[string]string{"b": "", "a": "1"}, true))

	assert.Equal(t, "sha256:ed6f67991c2e32e4f667f2370755090f5be53c6291cc18e2f55433fd3b7b9d92", meta.DedupKey("", nil, nil, true))
}

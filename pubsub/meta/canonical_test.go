package meta_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

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
// In meta: the encoding is meta.CanonicalSHA256's (sign.Message signs it).
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
	// The stamp is new every time, so the signature is recomputed here by
	// hand from the documented encoding: HMAC-SHA256 over the SHA-256 of
	// the domain, "<alg>:<key id>", the metadata but the signature (the
	// stamp included) sorted by key, and the body.
	at, nonce, err := meta.ParseSigned(md[meta.Signed])
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), at, time.Minute)
	assert.Len(t, nonce, 26, "rand.Text: 128 bits, base32")
	var enc []byte
	put := func(s string) { enc = binary.BigEndian.AppendUint64(enc, uint64(len(s))); enc = append(enc, s...) }
	put("civicport pubsub signature v1")
	put("hmac-sha256:county-7")
	enc = binary.BigEndian.AppendUint64(enc, 4)
	for _, k := range []string{meta.Signed, "county", "precinct", "Ñandú"} {
		put(k)
		put(map[string]string{meta.Signed: md[meta.Signed], "county": "Adams", "precinct": "0012", "Ñandú": "投票"}[k])
	}
	put(string(m.Body))
	digest := sha256.Sum256(enc)
	mac := hmac.New(sha256.New, hmacKey)
	mac.Write(digest[:])
	assert.Equal(t, "hmac-sha256:county-7:"+base64.StdEncoding.EncodeToString(mac.Sum(nil)), md[meta.Signature])

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

package sign_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/mempubsub"
	"gocloud.dev/secrets/localsecrets"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/testing/decoratortest"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

// signPipe is a signed topic, the raw subscription under the Verify one,
// the Verify subscription and a quarantine topic with its subscription.
type signPipe struct {
	raw    *gcpubsub.Topic // unsigned access to the source topic
	signed *gcpubsub.Topic
	sub    *gcpubsub.Subscription // Verify
	qsub   *gcpubsub.Subscription
	errs   chan error
}

func newSignPipe(t *testing.T, s sign.Signer, v sign.Verifier, quarantine func(*gcpubsub.Topic) *gcpubsub.Topic) *signPipe {
	t.Helper()
	ctx := context.Background()
	raw, rawSub := decoratortest.RawPair(t, 500*time.Millisecond) // short: a missing ack shows
	qt, qsub := decoratortest.RawPair(t, 10*time.Second)
	q := qt
	if quarantine != nil {
		q = quarantine(qt)
	}
	p := &signPipe{raw: raw, qsub: qsub, errs: make(chan error, 100)}
	var err error
	p.sub, err = sign.Verify(rawSub, v, q, &sign.VerifyOptions{OnError: func(_ string, err error) {
		select {
		case p.errs <- err:
		default:
		}
	}})
	require.NoError(t, err)
	decoratortest.ShutdownOnCleanup(t, p.sub)
	decoratortest.ShutdownOnCleanup(t, qsub)
	if s != nil {
		p.signed = decoratortest.MustSign(raw, s)
		t.Cleanup(func() { _ = p.signed.Shutdown(ctx) })
	}
	return p
}

func TestSignVerifyGoodMessages(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, "civicport-test")
	require.NoError(t, err)
	noteSigner, err := sign.NewNoteSigner(skey)
	require.NoError(t, err)
	noteVerifier, err := sign.NewNoteVerifier(vkey)
	require.NoError(t, err)
	hs, hv := hmacKeys(t, "hmac-1")

	cases := map[string]struct {
		s sign.Signer
		v sign.Verifier
	}{
		"ed25519": {sign.NewEd25519Signer("ed-1", priv), sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub})},
		"note":    {noteSigner, noteVerifier},
		"hmac":    {hs, hv},
		"list":    {hs, sign.Verifiers(noteVerifier, hv)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := newSignPipe(t, c.s, c.v, nil)
			md := map[string]string{"precinct": "12", "kind": "tally", meta.ID: "r-12"}
			orig := maps.Clone(md)
			require.NoError(t, p.signed.Send(ctx, &gcpubsub.Message{Body: []byte("340 ballots"), Metadata: md}))
			assert.Equal(t, orig, md, "the caller's metadata is not changed")
			require.NoError(t, p.signed.Send(ctx, &gcpubsub.Message{Body: []byte("no metadata")}))
			got := map[string]map[string]string{}
			nonces := map[string]bool{}
			for range 2 {
				m := decoratortest.Receive(t, p.sub)
				_, nonce, err := meta.ParseSigned(m.Metadata[meta.Signed])
				require.NoError(t, err, "the signed stamp is delivered")
				nonces[nonce] = true
				md := maps.Clone(m.Metadata)
				delete(md, meta.Signed)
				got[string(m.Body)] = md
				m.Ack()
			}
			assert.Len(t, nonces, 2, "every message gets its own nonce")
			assert.Equal(t, orig, got["340 ballots"], "metadata intact, signature removed, stamp added")
			assert.Empty(t, got["no metadata"])
			decoratortest.ReceiveNone(t, p.qsub, 200*time.Millisecond)
			st := decoratortest.VerifyStats(t, p.sub)
			assert.EqualValues(t, 2, st.Verified())
			assert.EqualValues(t, 0, st.Quarantined())
		})
	}
}

func mustRandomKey(t testing.TB) [32]byte {
	k, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	return k
}

// signedMessage returns body and metadata as Sign sends them.
func signedMessage(t *testing.T, s sign.Signer, body string, md map[string]string) map[string]string {
	t.Helper()
	topic, sub := decoratortest.RawPair(t, 10*time.Second)
	st := decoratortest.MustSign(topic, s)
	require.NoError(t, st.Send(context.Background(), &gcpubsub.Message{Body: []byte(body), Metadata: md}))
	m := decoratortest.Receive(t, sub)
	m.Ack()
	require.Contains(t, m.Metadata, meta.Signature)
	return m.Metadata
}

func TestVerifyQuarantinesBadMessages(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	_, otherPriv := decoratortest.EdKey(t)
	signer := sign.NewEd25519Signer("ed-1", priv)
	v := sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub})
	var mu sync.Mutex
	reasons := map[string]string{}
	raw, rawSub := decoratortest.RawPair(t, 500*time.Millisecond)
	qt, qsub := decoratortest.RawPair(t, 10*time.Second)
	sub, err := sign.Verify(rawSub, v, qt, &sign.VerifyOptions{OnQuarantine: func(id, reason string) {
		mu.Lock()
		reasons[id] = reason
		mu.Unlock()
	}})
	require.NoError(t, err)
	decoratortest.ShutdownOnCleanup(t, sub)
	decoratortest.ShutdownOnCleanup(t, qsub)

	// fresh returns the metadata of a message signed by s; "case" tells
	// the cases apart in quarantine.
	fresh := func(s sign.Signer, i int) map[string]string {
		return signedMessage(t, s, "tally 12", map[string]string{"precinct": "12", "case": fmt.Sprint(i)})
	}
	change := func(md map[string]string, k, v string) map[string]string { md[k] = v; return md }
	drop := func(md map[string]string, k string) map[string]string { delete(md, k); return md }
	type bad struct {
		body   string
		md     map[string]string
		reason string
	}
	bads := []bad{
		{"tally 13", fresh(signer, 0), "bad signature"}, // body changed
		{"tally 12", change(fresh(signer, 1), "precinct", "13"), "bad signature"},
		{"tally 12", change(fresh(signer, 2), "extra", "1"), "bad signature"},
		{"tally 12", drop(fresh(signer, 3), meta.Signature), "missing signature"},
		{"tally 12", change(fresh(signer, 4), meta.Signature, "garbage"), "malformed signature"},
		{"tally 12", fresh(sign.NewEd25519Signer("ed-2", priv), 5), `unknown key: no ed25519 key "ed-2"`},
		{"tally 12", fresh(sign.NewEd25519Signer("ed-1", otherPriv), 6), "bad signature"},
		{"tally 12", fresh(hmacSigner(t, "ed-1"), 7), `unknown key: no hmac-sha256 key "ed-1"`},
	}
	for _, b := range bads {
		require.NoError(t, raw.Send(ctx, &gcpubsub.Message{Body: []byte(b.body), Metadata: b.md}))
	}
	// And one good one, which alone reaches the application.
	goodFresh := fresh(signer, 99)
	require.NoError(t, raw.Send(ctx, &gcpubsub.Message{Body: []byte("tally 12"), Metadata: goodFresh}))
	m := decoratortest.Receive(t, sub)
	assert.Equal(t, "99", m.Metadata["case"])
	m.Ack()
	// Longer than the source's ack deadline: an unacked bad message would
	// come back and be quarantined twice.
	decoratortest.ReceiveNone(t, sub, 2*time.Second)

	got := map[string]*gcpubsub.Message{}
	for range bads {
		q := decoratortest.Receive(t, qsub)
		q.Ack()
		require.NotContains(t, got, q.Metadata["case"], "quarantined twice")
		got[q.Metadata["case"]] = q
	}
	decoratortest.ReceiveNone(t, qsub, 300*time.Millisecond)
	for i, b := range bads {
		q := got[fmt.Sprint(i)]
		require.NotNil(t, q, "case %d not quarantined", i)
		assert.Equal(t, b.body, string(q.Body), "case %d: original body", i)
		want := maps.Clone(b.md)
		assert.Contains(t, q.Metadata[meta.QuarantineReason], b.reason, "case %d", i)
		want[meta.QuarantineReason] = q.Metadata[meta.QuarantineReason]
		assert.Equal(t, want, q.Metadata, "case %d: original metadata plus the reason", i)
	}
	st := decoratortest.VerifyStats(t, sub)
	assert.EqualValues(t, len(bads), st.Quarantined())
	assert.EqualValues(t, 1, st.Verified())
	assert.EqualValues(t, 0, st.Failures())
	mu.Lock()
	assert.Len(t, reasons, len(bads))
	mu.Unlock()
}

func hmacSigner(t *testing.T, keyID string) sign.Signer {
	s, _ := hmacKeys(t, keyID)
	return s
}

// hmacKeys returns an HMAC-SHA256 signer and verifier of a fresh key,
// wrapped by a local keeper that is closed with the test.
func hmacKeys(t testing.TB, keyID string) (sign.Signer, sign.Verifier) {
	t.Helper()
	ctx := context.Background()
	keeper := localsecrets.NewKeeper(mustRandomKey(t))
	t.Cleanup(func() { keeper.Close() })
	wrapped, err := sign.GenerateHMACKey(ctx, keeper)
	require.NoError(t, err)
	s, err := sign.NewHMACSigner(ctx, keyID, keeper, wrapped)
	require.NoError(t, err)
	v, err := sign.NewHMACVerifier(ctx, keyID, keeper, wrapped)
	require.NoError(t, err)
	return s, v
}

// flakyTopic is a quarantine topic that refuses messages while down is set.
type flakyTopic struct {
	driver.Topic
	down atomic.Bool
}

var errDown = errors.New("quarantine topic down")

func (f *flakyTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if f.down.Load() {
		return errDown
	}
	return f.Topic.SendBatch(ctx, ms)
}
func (f *flakyTopic) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errDown) {
		return gcerrors.Internal
	}
	return f.Topic.ErrorCode(err)
}

func TestVerifyQuarantineFailureNacksSource(t *testing.T) {
	ctx := context.Background()
	pub, _ := decoratortest.EdKey(t)
	_, otherPriv := decoratortest.EdKey(t)
	flaky := &flakyTopic{}
	flaky.down.Store(true)
	p := newSignPipe(t, sign.NewEd25519Signer("ed-1", otherPriv), sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub}),
		func(q *gcpubsub.Topic) *gcpubsub.Topic {
			flaky.Topic = driveradapter.Topic(q)
			qt := gcpubsub.NewTopic(flaky, nil)
			t.Cleanup(func() { _ = qt.Shutdown(ctx) })
			return qt
		})
	require.NoError(t, p.signed.Send(ctx, &gcpubsub.Message{Body: []byte("forged tally")}))
	decoratortest.ReceiveNone(t, p.sub, 2500*time.Millisecond)
	st := decoratortest.VerifyStats(t, p.sub)
	assert.GreaterOrEqual(t, st.Failures(), int64(2), "nacked and tried again")
	assert.EqualValues(t, 0, st.Quarantined())
	select {
	case err := <-p.errs:
		assert.ErrorIs(t, err, errDown)
		assert.Contains(t, err.Error(), "bad signature")
	default:
		t.Fatal("OnError not called")
	}
	decoratortest.ReceiveNone(t, p.qsub, 100*time.Millisecond)

	flaky.down.Store(false)
	decoratortest.ReceiveNone(t, p.sub, 2500*time.Millisecond) // drives the retry
	q := decoratortest.Receive(t, p.qsub)
	q.Ack()
	assert.Equal(t, "forged tally", string(q.Body))
	decoratortest.ReceiveNone(t, p.qsub, 1500*time.Millisecond)
	assert.EqualValues(t, 1, st.Quarantined())
}

func TestVerifyShutdownQuarantineTopicNacks(t *testing.T) {
	ctx := context.Background()
	pub, _ := decoratortest.EdKey(t)
	p := newSignPipe(t, nil, sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"ed-1": pub}),
		func(q *gcpubsub.Topic) *gcpubsub.Topic {
			qt := mempubsub.NewTopic()
			require.NoError(t, qt.Shutdown(ctx))
			return qt
		})
	require.NoError(t, p.raw.Send(ctx, &gcpubsub.Message{Body: []byte("unsigned")}))
	decoratortest.ReceiveNone(t, p.sub, 1500*time.Millisecond)
	st := decoratortest.VerifyStats(t, p.sub)
	assert.GreaterOrEqual(t, st.Failures(), int64(1))
	assert.EqualValues(t, 0, st.Quarantined())
}

func TestVerifyHMACOtherKeeper(t *testing.T) {
	ctx := context.Background()
	k1 := localsecrets.NewKeeper(mustRandomKey(t))
	defer k1.Close()
	k2 := localsecrets.NewKeeper(mustRandomKey(t))
	defer k2.Close()
	w1, err := sign.GenerateHMACKey(ctx, k1)
	require.NoError(t, err)
	w2, err := sign.GenerateHMACKey(ctx, k2)
	require.NoError(t, err)

	_, err = sign.NewHMACVerifier(ctx, "h", k2, w1)
	require.Error(t, err, "another keeper cannot unwrap the key")
	assert.Contains(t, err.Error(), `unwrap HMAC key "h"`)
	_, err = sign.NewHMACSigner(ctx, "h", k2, w1)
	require.Error(t, err)

	s1, err := sign.NewHMACSigner(ctx, "h", k1, w1)
	require.NoError(t, err)
	v2, err := sign.NewHMACVerifier(ctx, "h", k2, w2)
	require.NoError(t, err)
	p := newSignPipe(t, s1, v2, nil)
	require.NoError(t, p.signed.Send(ctx, &gcpubsub.Message{Body: []byte("b")}))
	decoratortest.ReceiveNone(t, p.sub, time.Second) // receiving is what quarantines
	q := decoratortest.Receive(t, p.qsub)
	q.Ack()
	assert.Contains(t, q.Metadata[meta.QuarantineReason], "bad signature")
	assert.True(t, strings.HasPrefix(q.Metadata[meta.Signature], "hmac-sha256:h:"))
}

func TestVerifyNeedsQuarantine(t *testing.T) {
	_, raw := decoratortest.RawPair(t, time.Second)
	pub, _ := decoratortest.EdKey(t)
	v := sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"k": pub})
	_, err := sign.Verify(raw, v, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "quarantine topic is required")
	_, err = sign.Verify(raw, nil, mempubsub.NewTopic(), nil)
	require.Error(t, err)
	for _, c := range []struct {
		topic *gcpubsub.Topic
		s     sign.Signer
		want  string
	}{
		{mempubsub.NewTopic(), nil, "sign: Wrap: nil Signer"},
		{nil, sign.NewEd25519Signer("k", nil), "sign: Wrap: nil topic"},
		{mempubsub.NewTopic(), sign.NewEd25519Signer("", nil), "sign: Wrap: signer (ed25519) has an empty key id; verifiers find keys by it"},
	} {
		signed, err := sign.Wrap(c.topic, c.s)
		assert.Nil(t, signed)
		assert.EqualError(t, err, c.want)
	}
}

// A forged message carrying a real message's MetadataID must not make Dedup
// drop the real one: Verify goes under Dedup, so the forgery is quarantined
// before Dedup sees its id. (Verify(Dedup(...)) would record the forgery's
// id when Verify acks it after quarantine, and drop the real message.)
// In sign: stopping the forgery is Verify's job; Dedup must only not see it.
func TestForgeryCannotSuppressTheRealMessage(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	topic, sub, qs := decoratortest.DedupVerify(t, pub, nil, nil)
	decoratortest.ShutdownOnCleanup(t, sub)
	// The forgery goes first, with the real message's id.
	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: []byte("precinct 7: 9999 votes"), Metadata: map[string]string{meta.ID: "precinct-7", meta.Signature: "ed25519:clerk:AAAA"}}))
	signed := decoratortest.MustSign(topic, sign.NewEd25519Signer("clerk", priv))
	defer signed.Shutdown(ctx)
	require.NoError(t, signed.Send(ctx, &gcpubsub.Message{Body: []byte("precinct 7: 212 votes"), Metadata: map[string]string{meta.ID: "precinct-7"}}))
	m := decoratortest.Receive(t, sub)
	m.Ack()
	assert.Equal(t, "precinct 7: 212 votes", string(m.Body))
	q := recvQuarantined(t, sub, qs)
	assert.Equal(t, "precinct 7: 9999 votes", string(q.Body))
	assert.EqualValues(t, 0, decoratortest.DedupStats(t, sub).Duplicates())
}

// SignMessage gives the metadata Sign sends: a message carrying it verifies,
// the same message with its body changed does not.
func TestSignMessage(t *testing.T) {
	ctx := context.Background()
	pub, priv := decoratortest.EdKey(t)
	signer := sign.NewEd25519Signer("clerk", priv)
	m := &gcpubsub.Message{Body: []byte("precinct 4: 77"), Metadata: map[string]string{meta.ID: "p4"}}
	md, err := sign.Message(ctx, signer, m)
	require.NoError(t, err)
	assert.Len(t, m.Metadata, 1, "m changed")
	require.NotEmpty(t, md[meta.Signature])

	topic, raw := decoratortest.RawPair(t, 10*time.Second)
	qt, qs := decoratortest.RawPair(t, 10*time.Second)
	sub, err := sign.Verify(raw, sign.NewEd25519Verifier(map[string]ed25519.PublicKey{"clerk": pub}), qt, nil)
	require.NoError(t, err)
	decoratortest.ShutdownOnCleanup(t, sub)
	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: []byte("precinct 4: 7700"), Metadata: md}))
	require.NoError(t, topic.Send(ctx, &gcpubsub.Message{Body: m.Body, Metadata: md}))
	got := decoratortest.Receive(t, sub)
	got.Ack()
	assert.Equal(t, "precinct 4: 77", string(got.Body))
	q := recvQuarantined(t, sub, qs)
	assert.Equal(t, "precinct 4: 7700", string(q.Body))

	_, err = sign.Message(ctx, nil, m)
	assert.Error(t, err)
}

// recvQuarantined receives (and acks) one message from the quarantine
// subscription qs while an application keeps receiving from sub: Verify
// quarantines a message only when it comes through a Receive on sub, and
// a backend without ordering may hand the forgery over after the real one.
func recvQuarantined(t *testing.T, sub, qs *gcpubsub.Subscription) *gcpubsub.Message {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if m, err := sub.Receive(ctx); err == nil {
				m.Ack()
				t.Errorf("unexpected delivery %q", m.Body)
			}
		}
	}()
	q := decoratortest.Receive(t, qs)
	q.Ack()
	cancel()
	<-done
	return q
}

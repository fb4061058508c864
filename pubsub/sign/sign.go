package sign

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gax "github.com/googleapis/gax-go/v2"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/secrets"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/internal/driveradapter"

	"github.com/civicport/civicport/pubsub/meta"
)

// Signature algorithms, the first field of meta.Signature.
const (
	AlgEd25519    = "ed25519"
	AlgHMACSHA256 = "hmac-sha256"
)

// A Signer signs messages for Sign. Sign is called with a 32-byte SHA-256
// digest of the message (see Wrap).
type Signer interface {
	Algorithm() string // AlgEd25519, AlgHMACSHA256, ...
	KeyID() string     // names the key to verifiers; must not be empty
	Sign(ctx context.Context, digest []byte) ([]byte, error)
}

// A Verifier checks signatures for Verify. It returns an error wrapping
// ErrUnknownKey if it holds no key alg/keyID, ErrBadSignature if sig does
// not match; any other error is a failure to check (the message is nacked
// and checked again later, not quarantined).
type Verifier interface {
	Verify(ctx context.Context, alg, keyID string, digest, sig []byte) error
}

var (
	// ErrUnknownKey: the signature names a key the verifier does not hold.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrBadSignature: the signature does not match the message.
	ErrBadSignature = errors.New("signature does not match")
)

// signedDigest is what a signer signs: a SHA-256 over the algorithm, the
// key id, the metadata (all but meta.Signature) and the body.
func signedDigest(alg, keyID string, body []byte, md map[string]string) []byte {
	sum := meta.CanonicalSHA256("civicport pubsub signature v1", alg+":"+keyID, body, md)
	return sum[:]
}

// formatSignature returns the value of meta.Signature:
// "<alg>:<key id>:<base64 signature>".
func formatSignature(alg, keyID string, sig []byte) string {
	return alg + ":" + keyID + ":" + base64.StdEncoding.EncodeToString(sig)
}

func parseSignature(v string) (alg, keyID string, sig []byte, err error) {
	i, j := strings.IndexByte(v, ':'), strings.LastIndexByte(v, ':')
	if i <= 0 || j <= i+1 {
		return "", "", nil, errors.New(`not "<algorithm>:<key id>:<base64 signature>"`)
	}
	sig, err = base64.StdEncoding.DecodeString(v[j+1:])
	if err != nil || len(sig) == 0 {
		return "", "", nil, errors.New("signature is not base64")
	}
	return v[:i], v[i+1 : j], sig, nil
}

// Wrap returns a topic that signs every message before sending it to t.
// Wrap adds two metadata keys: meta.Signed, a stamp of the signing time and
// a random nonce that makes every signed message unique (so that a replay
// is recognised and an old message can be refused, see Verify), and
// meta.Signature = "<algorithm>:<key id>:<base64 signature>". The signature
// covers the body and all metadata but itself, the stamp included (sorted
// by key, length-prefixed, with the algorithm and key id). A stamp or
// signature the message already has is replaced. Retries of a failed send
// resend the same signed messages. The caller's Message is not changed.
// Wrap fails if t or s is nil or s has no key id.
func Wrap(t *gcpubsub.Topic, s Signer) (*gcpubsub.Topic, error) {
	switch {
	case t == nil:
		return nil, errors.New("sign: Wrap: nil topic")
	case s == nil:
		return nil, errors.New("sign: Wrap: nil Signer")
	case s.KeyID() == "":
		return nil, fmt.Errorf("sign: Wrap: signer (%s) has an empty key id; verifiers find keys by it", s.Algorithm())
	}
	return gcpubsub.NewTopic(&signTopic{inner: driveradapter.TopicDriver(t), s: s}, driveradapter.SendBatching()), nil
}

type signTopic struct {
	inner driver.Topic
	s     Signer
}

func (t *signTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	out := make([]*driver.Message, len(ms))
	for i, m := range ms {
		md, err := signedMetadata(ctx, t.s, m.Body, m.Metadata)
		if err != nil {
			return err
		}
		out[i] = &driver.Message{Body: m.Body, Metadata: md, BeforeSend: m.BeforeSend, AfterSend: m.AfterSend}
	}
	// Retries happen here, not above (IsRetryable is false): a retry sends
	// the same signed messages, with the same nonces, so that a batch the
	// backend took before failing is recognised as a copy by dedup.Wrap.
	bo := gax.Backoff{}
	for {
		err := t.inner.SendBatch(ctx, out)
		if err == nil || !t.inner.IsRetryable(err) {
			return err
		}
		select {
		case <-time.After(bo.Pause()):
		case <-ctx.Done():
			return err
		}
	}
}

// Message returns a copy of m's metadata with the meta.Signature
// Sign would send for it: for tools that hold a message in its wire form
// (an outbox, a test of what a replay or a forgery does). m is not changed.
func Message(ctx context.Context, s Signer, m *gcpubsub.Message) (map[string]string, error) {
	if s == nil || s.KeyID() == "" {
		return nil, errors.New("sign: Message: nil Signer or empty key id")
	}
	return signedMetadata(ctx, s, m.Body, m.Metadata)
}

// signedMetadata returns metadata with a fresh meta.Signed stamp (the time
// and a random nonce, replacing any the message had) and the signature over
// all of it.
func signedMetadata(ctx context.Context, s Signer, body []byte, metadata map[string]string) (map[string]string, error) {
	alg, keyID := s.Algorithm(), s.KeyID()
	md := make(map[string]string, len(metadata)+2)
	maps.Copy(md, metadata)
	delete(md, meta.Signature)
	md[meta.Signed] = meta.FormatSigned(time.Now(), rand.Text())
	sig, err := s.Sign(ctx, signedDigest(alg, keyID, body, md))
	if err != nil {
		return nil, fmt.Errorf("sign message: %w", err)
	}
	md[meta.Signature] = formatSignature(alg, keyID, sig)
	return md, nil
}

func (t *signTopic) IsRetryable(error) bool { return false } // SendBatch retries
func (t *signTopic) As(i any) bool {
	if p, ok := i.(*driver.Topic); ok { // see driveradapter.TopicDriver
		*p = t
		return true
	}
	return t.inner.As(i)
}
func (t *signTopic) ErrorAs(err error, i any) bool          { return t.inner.ErrorAs(err, i) }
func (t *signTopic) ErrorCode(err error) gcerrors.ErrorCode { return t.inner.ErrorCode(err) }
func (t *signTopic) Close() error                           { return t.inner.Close() }

// VerifyOptions configures Verify. The zero value is ready to use.
type VerifyOptions struct {
	// OnQuarantine, if set, is called for every message quarantined, after
	// the quarantine topic accepted it, with the message's LoggableID and
	// the reason.
	OnQuarantine func(loggableID, reason string)
	// OnError, if set, is called when a message could not be quarantined
	// or its signature could not be checked; the message is nacked on the
	// source, to be tried again.
	OnError func(loggableID string, err error)
	// MaxAge, if positive, quarantines a message signed longer ago than
	// this (by its meta.Signed stamp, which the signature covers), or
	// stamped more than ClockSkew in the future, or carrying no stamp. It
	// bounds how long a captured message can be replayed, and so how long
	// a dedup.Store must remember keys. Zero: no age limit (replays are
	// then caught only by dedup.Wrap, as long as its store remembers).
	MaxAge time.Duration
	// ClockSkew is how far in the future a stamp may be, for MaxAge
	// (default one minute).
	ClockSkew time.Duration
	// Now is the clock for MaxAge (default time.Now).
	Now func() time.Time
}

// VerifyStats counts what a Verify subscription did. Get it with As:
//
//	var st *sign.VerifyStats
//	if sub.As(&st) { fmt.Println(st.Quarantined()) }
type VerifyStats struct {
	verified, quarantined, failed atomic.Int64
}

// Verified is the number of messages with a good signature delivered.
func (s *VerifyStats) Verified() int64 { return s.verified.Load() }

// Quarantined is the number of messages sent to the quarantine topic (and
// acked on the source).
func (s *VerifyStats) Quarantined() int64 { return s.quarantined.Load() }

// Failures is the number of times a message could not be quarantined or
// checked and was nacked on the source instead.
func (s *VerifyStats) Failures() int64 { return s.failed.Load() }

// Verify returns a subscription that checks the signature (see Wrap) of
// every message of sub before the application sees it.
//
// A message with a good signature (and, with MaxAge, a stamp within the age
// window) is delivered with its body and metadata as they were signed:
// meta.Signature is removed, meta.Signed (when the message was signed, and
// its nonce) is kept, so that dedup.Wrap above Verify recognises a replayed
// copy of a message that has no meta.ID.
//
// A message with a bad, missing, malformed or unknown-key signature, or
// outside the age window, is never
// delivered: it is sent to quarantine with its original body and metadata
// plus meta.QuarantineReason (the reason in words), and only after the
// quarantine topic accepted it is it acked on the source. If the
// quarantine topic fails (or the verifier fails to check), the message is
// nacked on the source after a short delay, so that it comes back and is
// tried again; it is never dropped without a trace.
//
// quarantine is required: Verify returns an error if it, sub or v is nil.
// The caller keeps ownership of quarantine (shutting the subscription
// down does not shut it down).
func Verify(sub *gcpubsub.Subscription, v Verifier, quarantine *gcpubsub.Topic, opts *VerifyOptions) (*gcpubsub.Subscription, error) {
	switch {
	case sub == nil:
		return nil, errors.New("sign: Verify: nil subscription")
	case v == nil:
		return nil, errors.New("sign: Verify: nil Verifier")
	case quarantine == nil:
		return nil, errors.New("sign: Verify: a quarantine topic is required: a message that fails verification must be kept somewhere")
	}
	o, err := verifyOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("sign: Verify: %w", err)
	}
	return gcpubsub.NewSubscription(&verifySub{
		inner:   driveradapter.SubscriptionDriver(sub),
		v:       v,
		q:       quarantine,
		opts:    o,
		retry:   retryDelay,
		pending: map[*time.Timer]driver.AckID{},
	}, driveradapter.ReceiveBatching(), nil), nil
}

// retryDelay is how long Verify waits before nacking a message it could
// not quarantine, so that a broken quarantine topic is not retried in a
// busy loop.
const retryDelay = time.Second

type verifySub struct {
	inner driver.Subscription
	v     Verifier
	q     *gcpubsub.Topic
	opts  VerifyOptions
	retry time.Duration
	stats VerifyStats

	mu      sync.Mutex
	pending map[*time.Timer]driver.AckID // nacks waiting for retry
	closed  bool
}

var _ driver.Subscription = (*verifySub)(nil)

// verifyOptions returns opts (nil: defaults) with its defaults filled in.
func verifyOptions(opts *VerifyOptions) (VerifyOptions, error) {
	o := VerifyOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MaxAge < 0 || o.ClockSkew < 0 {
		return o, fmt.Errorf("MaxAge %s and ClockSkew %s must not be negative", o.MaxAge, o.ClockSkew)
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Check checks one received message (its body and metadata as they
// arrived, meta.Signature included) the way Verify does: the signature with
// v, and the meta.Signed stamp against opts.MaxAge (nil opts: no age
// limit). It is for receivers that decide themselves what to do with a
// message that fails, e.g. a work queue that records and acks a refused
// item (blob/distribute). reason is "" for a good message, else why it must
// not be trusted, in words; err is a failure to check (v failed, or bad
// opts), after which the message should be tried again, not trusted or
// dropped. opts.OnQuarantine and OnError are not used.
func Check(ctx context.Context, v Verifier, body []byte, md map[string]string, opts *VerifyOptions) (reason string, err error) {
	if v == nil {
		return "", errors.New("sign: Check: nil Verifier")
	}
	o, err := verifyOptions(opts)
	if err != nil {
		return "", fmt.Errorf("sign: Check: %w", err)
	}
	return check(ctx, v, &o, body, md)
}

// check returns "" for a good signature, else the reason to quarantine; err
// is a failure to check.
func check(ctx context.Context, vr Verifier, o *VerifyOptions, body []byte, md map[string]string) (reason string, err error) {
	v, ok := md[meta.Signature]
	if !ok {
		return "missing signature: no " + meta.Signature + " metadata", nil
	}
	alg, keyID, sig, perr := parseSignature(v)
	if perr != nil {
		return "malformed signature: " + perr.Error(), nil
	}
	err = vr.Verify(ctx, alg, keyID, signedDigest(alg, keyID, body, md), sig)
	switch {
	case err == nil:
		return checkStamp(o, md), nil
	case errors.Is(err, ErrUnknownKey):
		return fmt.Sprintf("unknown key: no %s key %q to verify with", alg, keyID), nil
	case errors.Is(err, ErrBadSignature):
		return fmt.Sprintf("bad signature: the body or metadata changed after signing, or another key signed it (claims %s key %q)", alg, keyID), nil
	}
	return "", err
}

// checkStamp returns why a message with a good signature is still
// quarantined because of its meta.Signed stamp, or "".
func checkStamp(o *VerifyOptions, md map[string]string) string {
	v, ok := md[meta.Signed]
	if !ok {
		if o.MaxAge > 0 {
			return "no " + meta.Signed + " stamp: its age cannot be checked (not signed by sign.Wrap, or by a civicport before stamps)"
		}
		return ""
	}
	at, _, err := meta.ParseSigned(v)
	if err != nil {
		return "malformed stamp: " + err.Error()
	}
	if o.MaxAge <= 0 {
		return ""
	}
	now := o.Now()
	switch age := now.Sub(at); {
	case age > o.MaxAge:
		return fmt.Sprintf("expired: signed at %s, %s ago, more than MaxAge %s (a replay?)", at.Format(time.RFC3339), age.Round(time.Second), o.MaxAge)
	case -age > o.ClockSkew:
		return fmt.Sprintf("signed in the future: at %s, %s ahead of this clock (more than ClockSkew %s)", at.Format(time.RFC3339), (-age).Round(time.Second), o.ClockSkew)
	}
	return ""
}

func (s *verifySub) fail(m *driver.Message, err error) {
	s.stats.failed.Add(1)
	if s.opts.OnError != nil {
		s.opts.OnError(m.LoggableID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return // left unacked: the backend redelivers it
	}
	var t *time.Timer
	t = time.AfterFunc(s.retry, func() {
		s.mu.Lock()
		id, ok := s.pending[t]
		delete(s.pending, t)
		s.mu.Unlock()
		if ok {
			_ = s.inner.SendNacks(context.Background(), []driver.AckID{id})
		}
	})
	s.pending[t] = m.AckID
}

func (s *verifySub) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	ms, err := s.inner.ReceiveBatch(ctx, maxMessages)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	var acks []driver.AckID
	for _, m := range ms {
		reason, err := check(ctx, s.v, &s.opts, m.Body, m.Metadata)
		if err != nil {
			s.fail(m, fmt.Errorf("verify signature: %w", err))
			continue
		}
		if reason == "" {
			s.stats.verified.Add(1)
			var md map[string]string
			if len(m.Metadata) > 1 {
				md = make(map[string]string, len(m.Metadata)-1)
				for k, v := range m.Metadata {
					if k != meta.Signature {
						md[k] = v
					}
				}
			}
			out = append(out, &driver.Message{LoggableID: m.LoggableID, Body: m.Body, Metadata: md, AckID: m.AckID, AsFunc: m.AsFunc})
			continue
		}
		md := make(map[string]string, len(m.Metadata)+1)
		maps.Copy(md, m.Metadata)
		md[meta.QuarantineReason] = reason
		if err := s.q.Send(ctx, &gcpubsub.Message{Body: m.Body, Metadata: md}); err != nil {
			s.fail(m, fmt.Errorf("quarantine message (%s): %w", reason, err))
			continue
		}
		acks = append(acks, m.AckID)
		s.stats.quarantined.Add(1)
		if s.opts.OnQuarantine != nil {
			s.opts.OnQuarantine(m.LoggableID, reason)
		}
	}
	if len(acks) > 0 {
		// An error leaves them unacked: they come back and are
		// quarantined again (a copy too many in quarantine, none lost).
		_ = s.inner.SendAcks(ctx, acks)
	}
	return out, nil
}

func (s *verifySub) SendAcks(ctx context.Context, ids []driver.AckID) error {
	return s.inner.SendAcks(ctx, ids)
}

func (s *verifySub) SendNacks(ctx context.Context, ids []driver.AckID) error {
	return s.inner.SendNacks(ctx, ids)
}

func (s *verifySub) CanNack() bool              { return s.inner.CanNack() }
func (s *verifySub) IsRetryable(err error) bool { return s.inner.IsRetryable(err) }

// As supports **VerifyStats; anything else is passed to the wrapped
// subscription (so **dedup.Stats works on Verify(dedup.Wrap(...)) too).
func (s *verifySub) As(i any) bool {
	switch p := i.(type) {
	case **VerifyStats:
		*p = &s.stats
		return true
	case *driver.Subscription: // see driveradapter.SubscriptionDriver
		*p = s
		return true
	}
	return s.inner.As(i)
}
func (s *verifySub) ErrorAs(err error, i any) bool          { return s.inner.ErrorAs(err, i) }
func (s *verifySub) ErrorCode(err error) gcerrors.ErrorCode { return s.inner.ErrorCode(err) }

// Close nacks the messages waiting for a retry and closes the wrapped
// subscription.
func (s *verifySub) Close() error {
	s.mu.Lock()
	s.closed = true
	var ids []driver.AckID
	for t, id := range s.pending {
		t.Stop() // if it fired, it finds no entry and leaves the nack to us
		ids = append(ids, id)
	}
	clear(s.pending)
	s.mu.Unlock()
	if len(ids) > 0 {
		_ = s.inner.SendNacks(context.Background(), ids)
	}
	return s.inner.Close()
}

// Ed25519 signatures.

type ed25519Signer struct {
	keyID string
	priv  ed25519.PrivateKey
}

// NewEd25519Signer returns a Signer using priv, named keyID.
func NewEd25519Signer(keyID string, priv ed25519.PrivateKey) Signer {
	return &ed25519Signer{keyID: keyID, priv: priv}
}

func (s *ed25519Signer) Algorithm() string { return AlgEd25519 }
func (s *ed25519Signer) KeyID() string     { return s.keyID }
func (s *ed25519Signer) Sign(_ context.Context, digest []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, digest), nil
}

type ed25519Verifier map[string]ed25519.PublicKey

// NewEd25519Verifier returns a Verifier holding the public keys given by key
// id.
func NewEd25519Verifier(keys map[string]ed25519.PublicKey) Verifier {
	return ed25519Verifier(maps.Clone(keys))
}

func (v ed25519Verifier) Verify(_ context.Context, alg, keyID string, digest, sig []byte) error {
	pub, ok := v[keyID]
	if alg != AlgEd25519 || !ok {
		return ErrUnknownKey
	}
	if !ed25519.Verify(pub, digest, sig) {
		return ErrBadSignature
	}
	return nil
}

// Note keys (golang.org/x/mod/sumdb/note), the key files SignManifest and
// CheckManifestSignature use.

type noteSigner struct{ s note.Signer }

// NewNoteSigner returns an Ed25519 Signer from a note private key (the
// text note.GenerateKey returns, "PRIVATE+KEY+<name>+<hash>+..."), so that
// the key that signs migration manifests can sign messages. Its key id is
// "<name>+<hash>", as in the verifier key.
func NewNoteSigner(skey string) (Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, err
	}
	return noteSigner{s}, nil
}

// NewNoteSignerFrom returns an Ed25519 Signer over a note signer already
// at hand, e.g. one a keeper unsealed (audit.SignerFromKeeper). Its key id
// is "<name>+<hash>", as in the verifier key. It fails if s is nil.
func NewNoteSignerFrom(s note.Signer) (Signer, error) {
	if s == nil {
		return nil, errors.New("sign: NewNoteSignerFrom: nil note.Signer")
	}
	return noteSigner{s}, nil
}

func noteKeyID(name string, hash uint32) string { return fmt.Sprintf("%s+%08x", name, hash) }

func (s noteSigner) Algorithm() string { return AlgEd25519 }
func (s noteSigner) KeyID() string     { return noteKeyID(s.s.Name(), s.s.KeyHash()) }
func (s noteSigner) Sign(_ context.Context, digest []byte) ([]byte, error) {
	return s.s.Sign(digest)
}

type noteVerifier map[string]note.Verifier

// NewNoteVerifier returns a Verifier from note verifier keys
// ("<name>+<hash>+<base64 key>").
func NewNoteVerifier(vkeys ...string) (Verifier, error) {
	v := noteVerifier{}
	for _, k := range vkeys {
		nv, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		v[noteKeyID(nv.Name(), nv.KeyHash())] = nv
	}
	return v, nil
}

// NewNoteVerifierFrom is NewNoteVerifier for note verifiers already parsed
// (note.NewVerifier). It fails if one is nil.
func NewNoteVerifierFrom(vs ...note.Verifier) (Verifier, error) {
	v := noteVerifier{}
	for i, nv := range vs {
		if nv == nil {
			return nil, fmt.Errorf("sign: NewNoteVerifierFrom: verifier %d is nil", i)
		}
		v[noteKeyID(nv.Name(), nv.KeyHash())] = nv
	}
	return v, nil
}

func (v noteVerifier) Verify(_ context.Context, alg, keyID string, digest, sig []byte) error {
	nv, ok := v[keyID]
	if alg != AlgEd25519 || !ok {
		return ErrUnknownKey
	}
	if !nv.Verify(digest, sig) {
		return ErrBadSignature
	}
	return nil
}

// HMAC-SHA256 with a key kept wrapped by a secrets.Keeper.

// hmacKeySize is the size of an HMAC key GenerateHMACKey makes.
const hmacKeySize = 32

// GenerateHMACKey returns a new random 32-byte HMAC key, wrapped
// (encrypted) by keeper. Store the wrapped key; NewHMACSigner and
// NewHMACVerifier unwrap it with the same keeper.
func GenerateHMACKey(ctx context.Context, keeper *secrets.Keeper) (wrapped []byte, err error) {
	key := make([]byte, hmacKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return keeper.Encrypt(ctx, key)
}

func unwrapHMACKey(ctx context.Context, keyID string, keeper *secrets.Keeper, wrapped []byte) ([]byte, error) {
	if keyID == "" {
		return nil, errors.New("empty HMAC key id")
	}
	key, err := keeper.Decrypt(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrap HMAC key %q: %w", keyID, err)
	}
	if len(key) < hmacKeySize {
		return nil, fmt.Errorf("HMAC key %q is %d bytes, want at least %d", keyID, len(key), hmacKeySize)
	}
	return key, nil
}

type hmacKey struct {
	keyID string
	macs  sync.Pool // of hash.Hash: hmac.New keyed with the key, reused after Reset
}

func newHMACKey(keyID string, key []byte) *hmacKey {
	k := &hmacKey{keyID: keyID}
	k.macs.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// NewHMACSigner returns an HMAC-SHA256 Signer named keyID whose key is
// wrapped (from GenerateHMACKey) unwrapped once, now, by keeper.
func NewHMACSigner(ctx context.Context, keyID string, keeper *secrets.Keeper, wrapped []byte) (Signer, error) {
	key, err := unwrapHMACKey(ctx, keyID, keeper, wrapped)
	if err != nil {
		return nil, err
	}
	return newHMACKey(keyID, key), nil
}

// NewHMACVerifier returns a Verifier for HMAC-SHA256 key keyID, unwrapping
// it once, now, with keeper. Combine several with Verifiers.
func NewHMACVerifier(ctx context.Context, keyID string, keeper *secrets.Keeper, wrapped []byte) (Verifier, error) {
	key, err := unwrapHMACKey(ctx, keyID, keeper, wrapped)
	if err != nil {
		return nil, err
	}
	return newHMACKey(keyID, key), nil
}

func (k *hmacKey) Algorithm() string { return AlgHMACSHA256 }
func (k *hmacKey) KeyID() string     { return k.keyID }
func (k *hmacKey) Sign(_ context.Context, digest []byte) ([]byte, error) {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(digest)
	sig := m.Sum(nil)
	k.macs.Put(m)
	return sig, nil
}

func (k *hmacKey) Verify(ctx context.Context, alg, keyID string, digest, sig []byte) error {
	if alg != AlgHMACSHA256 || keyID != k.keyID {
		return ErrUnknownKey
	}
	want, _ := k.Sign(ctx, digest)
	if !hmac.Equal(want, sig) {
		return ErrBadSignature
	}
	return nil
}

// Verifiers returns a Verifier that asks each of vs in turn; the first that
// holds the key decides.
func Verifiers(vs ...Verifier) Verifier { return verifierList(vs) }

type verifierList []Verifier

func (l verifierList) Verify(ctx context.Context, alg, keyID string, digest, sig []byte) error {
	for _, v := range l {
		if err := v.Verify(ctx, alg, keyID, digest, sig); !errors.Is(err, ErrUnknownKey) {
			return err
		}
	}
	return ErrUnknownKey
}

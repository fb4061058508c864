// Package live runs civicport's conformance suites against a live backend
// named by URL, safely, for a Go program as for the civicport conform
// command: the backend is opened and reached before a suite starts (a
// backend that cannot be is an *Error, not a report of failures), a bucket
// is measured under a fresh prefix of its own that is checked empty first
// and swept afterwards, and no URL, key or credential reaches a report.
//
// The suites themselves are conformance/blobtest, secretstest and
// pubsubtest; this package opens by URL, so it links every driver.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/pubsubtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/conformance/secretstest"
	"github.com/civicport/civicport/internal/redact"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

// Roles of the URLs an *Error can be about.
const (
	RoleBlob         = "blob"
	RoleSealKeeper   = "seal keeper"
	RoleSecrets      = "secrets"
	RoleTopic        = "topic/subscription" // the pair could not be opened
	RoleSubscription = "subscription"
	RoleDeadLetter   = "dead letter"
)

// An Error is a backend that could not be opened or reached, so no suite
// ran. Role says which URL it was (RoleBlob, ...); Err is redacted.
type Error struct {
	Role string
	Err  error
}

func (e *Error) Error() string { return e.Role + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Only returns the names in only that belong to the suite whose
// capabilities are all. A nil only stays nil (run everything).
func Only(only, all []string) []string {
	if len(only) == 0 {
		return nil
	}
	var out []string
	for _, c := range only {
		if slices.Contains(all, c) {
			out = append(out, c)
		}
	}
	return out
}

// BlobOptions configure Blob. A nil *BlobOptions means the defaults.
type BlobOptions struct {
	// Capabilities limits the run to these names (others are ignored);
	// empty runs every blob capability.
	Capabilities []string
	// LargeObjectSize is the size of the blob.large_object check (0: the
	// suite's default).
	LargeObjectSize int64
	// SealKeeper, if set, is a keeper URL: the suite then runs through
	// blob/seal under that key, measuring the sealed bucket.
	SealKeeper string
	// Logf, if set, receives the suite's progress lines.
	Logf func(format string, args ...any)
}

// Blob runs blobtest against the bucket at urlstr under a fresh prefix
// (civicport-conform-<random>/, refused if not empty) and deletes what the
// run left under it. The bucket is opened and pinged first.
func Blob(ctx context.Context, urlstr string, opts *BlobOptions) (report.Backend, error) {
	var o BlobOptions
	if opts != nil {
		o = *opts
	}
	root, err := blob.Open(ctx, urlstr)
	if err != nil {
		return report.Backend{}, &Error{RoleBlob, err}
	}
	defer root.Close()
	if err := blob.Ping(ctx, root, urlstr); err != nil {
		return report.Backend{}, &Error{RoleBlob, err}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "civicport-conform-" + hex.EncodeToString(rnd[:]) + "/"
	if objs, _, err := root.ListPage(ctx, gcblob.FirstPageToken, 1, &gcblob.ListOptions{Prefix: prefix}); err != nil {
		return report.Backend{}, &Error{RoleBlob, err}
	} else if len(objs) > 0 {
		return report.Backend{}, &Error{RoleBlob, fmt.Errorf("prefix %s in %s is not empty; refusing to run there", prefix, blob.Redact(urlstr))}
	}
	var keks []envelope.KEK
	via := ""
	if o.SealKeeper != "" {
		k, err := secrets.Open(ctx, o.SealKeeper)
		if err != nil {
			return report.Backend{}, &Error{RoleSealKeeper, err}
		}
		defer k.Close()
		keks = []envelope.KEK{{ID: secrets.RedactURL(o.SealKeeper), Keeper: k}}
		via = "seal " + keks[0].ID
	}
	n := 0
	open := func(ctx context.Context) (*gcblob.Bucket, error) {
		n++
		b, err := blob.Open(ctx, urlstr)
		if err != nil {
			return nil, err
		}
		b = gcblob.PrefixedBucket(b, checkPrefix(prefix, n))
		if keks == nil {
			return b, nil
		}
		sealed, err := seal.Wrap(b, keks, nil)
		if err != nil {
			b.Close()
			return nil, err
		}
		return sealed, nil
	}
	t0 := time.Now()
	results := blobtest.Run(ctx, open, &blobtest.Options{LargeObjectSize: o.LargeObjectSize, Capabilities: Only(o.Capabilities, conformance.BlobCapabilities()), Logf: o.Logf,
		KeyPrefixLen: len(checkPrefix(prefix, 99)) + len(urlPrefix(urlstr))})
	d := time.Since(t0)
	// The suite cleans up after each check; this sweeps anything a failed
	// check left behind, and only under the run's own prefix.
	sweep(context.WithoutCancel(ctx), root, prefix)
	removeEmptyDirs(urlstr, prefix)
	be := report.NewBackend(urlstr, report.KindBlob, results, d)
	be.Via = via
	return be, nil
}

func sweep(ctx context.Context, b *gcblob.Bucket, prefix string) {
	it := b.List(&gcblob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			return
		}
		_ = b.Delete(ctx, obj.Key)
	}
}

// removeEmptyDirs removes the directories a file:// run leaves under its
// prefix (fileblob deletes files, not the directories it made for them),
// but only when no file at all is left in them.
func removeEmptyDirs(urlstr, prefix string) {
	u, err := url.Parse(urlstr)
	if err != nil || u.Scheme != "file" {
		return
	}
	dir := filepath.Join(filepath.FromSlash(u.Path), filepath.FromSlash(prefix))
	files := 0
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		_ = os.RemoveAll(dir)
	}
}

// SecretsOptions configure Secrets. A nil *SecretsOptions means the
// defaults.
type SecretsOptions struct {
	Capabilities       []string // as BlobOptions.Capabilities
	LargePlaintextSize int64    // 0: secretstest.DefaultLargePlaintextSize
	Logf               func(format string, args ...any)
}

// Secrets runs secretstest against the keeper at urlstr. The keeper is
// opened and asked to encrypt once first: one that cannot be opened or
// reached (bad URL, unknown key, no access, server down) is an *Error. A
// keeper that says it cannot encrypt (Unimplemented) is left for the suite
// to report as unsupported. Every result's detail is redacted (secrets.RedactMessage).
func Secrets(ctx context.Context, urlstr string, opts *SecretsOptions) (report.Backend, error) {
	var o SecretsOptions
	if opts != nil {
		o = *opts
	}
	if err := probeKeeper(ctx, urlstr); err != nil {
		return report.Backend{}, err
	}
	t0 := time.Now()
	results := secretstest.Run(ctx, secretstest.URLOpener(urlstr), &secretstest.Options{
		Capabilities:       Only(o.Capabilities, conformance.SecretsCapabilities()),
		LargePlaintextSize: o.LargePlaintextSize,
		Logf:               o.Logf,
	})
	d := time.Since(t0)
	for i := range results {
		results[i].Detail = secrets.RedactMessage(results[i].Detail, urlstr)
	}
	return report.NewBackend(secrets.RedactURL(urlstr), report.KindSecrets, results, d), nil
}

// probeKeeper opens the keeper at urlstr and encrypts 32 bytes with it.
func probeKeeper(ctx context.Context, urlstr string) (err error) {
	k, err := secrets.Open(ctx, urlstr)
	if err != nil {
		return &Error{RoleSecrets, err}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &Error{RoleSecrets, fmt.Errorf("encrypt with %s panicked: %v", secrets.RedactURL(urlstr), r)}
		}
		k.Close()
	}()
	var dk [32]byte
	_, _ = rand.Read(dk[:])
	if _, err := k.Encrypt(ctx, dk[:]); err != nil && gcerrors.Code(err) != gcerrors.Unimplemented {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{RoleSecrets, fmt.Errorf("encrypt with %s: %s", secrets.RedactURL(urlstr), secrets.RedactMessage(err.Error(), urlstr))}
	}
	return nil
}

// PubSubOptions configure PubSub. A nil *PubSubOptions means the defaults.
type PubSubOptions struct {
	Capabilities []string      // as BlobOptions.Capabilities
	AckDeadline  time.Duration // 0: pubsubtest.DefaultAckDeadline
	Messages     int           // 0: pubsubtest.DefaultMessages
	Logf         func(format string, args ...any)
}

// PubSub runs pubsubtest against p. The topic and every subscription are
// opened, and every subscription received from once, before the suite
// starts: a pair that cannot be opened or reached is an *Error. (The topic
// itself is reached only by the first send: a topic that opens but refuses
// sends shows up as failed checks.) Details are redacted.
func PubSub(ctx context.Context, p pubsubtest.URLPair, opts *PubSubOptions) (report.Backend, error) {
	var o PubSubOptions
	if opts != nil {
		o = *opts
	}
	if err := probePubSub(ctx, p); err != nil {
		return report.Backend{}, err
	}
	t0 := time.Now()
	results := pubsubtest.Run(ctx, p.Opener(), &pubsubtest.Options{
		Capabilities: Only(o.Capabilities, conformance.PubSubCapabilities()),
		AckDeadline:  o.AckDeadline,
		Messages:     o.Messages,
		Logf:         o.Logf,
	})
	d := time.Since(t0)
	for i := range results {
		results[i].Detail = redact.Strings(results[i].Detail, p.Topic, p.Subscription, p.DeadLetter)
	}
	be := report.NewBackend(p.Topic, report.KindPubSub, results, d)
	be.Via = "subscription " + redact.URL(p.Subscription)
	if p.DeadLetter != "" {
		be.Via += ", dead letter " + redact.URL(p.DeadLetter)
	}
	return be, nil
}

// probeWait is how long probePubSub waits on each subscription; no message
// within it is fine (the subscription was reached).
const probeWait = 2 * time.Second

// probePubSub opens p's topic and subscriptions and receives once from each
// subscription (a message that arrives is nacked, or left to come back
// after the ack deadline, for the suite to ack as a leftover), so that a
// missing queue or consumer, bad credentials or an unreachable server is
// found before the suite runs.
func probePubSub(ctx context.Context, p pubsubtest.URLPair) (err error) {
	pair, err := p.Opener()(ctx)
	if err != nil {
		return &Error{RoleTopic, err}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &Error{RoleTopic, fmt.Errorf("opening panicked: %v", r)}
		}
		if pair.Close != nil {
			pair.Close()
		}
	}()
	if err := probeSub(ctx, RoleSubscription, p.Subscription, pair.Subscribe); err != nil {
		return err
	}
	if pair.DeadLetter != nil {
		return probeSub(ctx, RoleDeadLetter, p.DeadLetter, pair.DeadLetter)
	}
	return nil
}

func probeSub(ctx context.Context, role, urlstr string, open func(context.Context) (*gcpubsub.Subscription, error)) error {
	s, err := open(ctx)
	if err != nil {
		return &Error{role, err}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = shutdown.Subscription(sctx, s)
	}()
	rctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	m, err := s.Receive(rctx)
	switch {
	case err == nil:
		if m.Nackable() {
			m.Nack()
		}
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case rctx.Err() != nil:
		return nil // reached; nothing there
	}
	return &Error{role, fmt.Errorf("receive from %s: %s", redact.URL(urlstr), pubsub.Describe(err, urlstr))}
}

// checkPrefix is the prefix of check n's bucket under the run's prefix.
func checkPrefix(prefix string, n int) string { return fmt.Sprintf("%s%02d/", prefix, n) }

// urlPrefix is the "prefix" parameter of a bucket URL (gocloud's mux wraps
// such a bucket in a PrefixedBucket), or "".
func urlPrefix(urlstr string) string {
	u, err := url.Parse(urlstr)
	if err != nil {
		return ""
	}
	return u.Query().Get("prefix")
}

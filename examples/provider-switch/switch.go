package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/pubsub/mempubsub"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/bytesize"
	"github.com/civicport/civicport/internal/listwork"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

// Options configures Switch.
type Options struct {
	// Stacks in switch order: the archive starts on the first and ends on
	// the last. At least two. Their buckets must be empty.
	Stacks []NamedConfig
	// WorkDir receives the hops' manifests.
	WorkDir string
	// Workers migrate and rewrap objects in parallel (default 4).
	Workers int
	// UntilIdle ends each bridge once its source was idle this long
	// (default 2s).
	UntilIdle time.Duration
	// Progress, if set, gets a line per check as it finishes.
	Progress io.Writer
}

// NamedConfig is one stack: a name for the report and its profile.
type NamedConfig struct {
	Name   string
	Config profile.Config
}

// Check is one checked step.
type Check struct {
	Name     string
	OK       bool
	Detail   string
	Duration time.Duration
}

// Hop is what one switch from a stack to the next did.
type Hop struct {
	From, To     string
	Plan         *report.Plan
	Objects      int64 // migrated (records and audit log)
	Bytes        int64
	Verified     int64 // identical on both sides after the move
	Manifest     string
	Rewrapped    int64
	Messages     int64 // bridged
	AuditEntries int64 // in the destination's log after the hop, all signed
	Checks       []Check
	Duration     time.Duration
}

// StackInfo describes a stack, redacted.
type StackInfo struct {
	Name, Profile, Bucket, Keeper, Topic string
}

// Report is the whole switch.
type Report struct {
	Stacks []StackInfo
	// Seed: what the first stack started with.
	Records, RecordBytes int64
	Published            int // signed results messages (plus a replay and a forgery)
	Seed                 []Check
	Hops                 []Hop
	// Final checks on the last stack.
	Final []Check
	// ReadableWithLastKey counts the records the last stack's key alone
	// opens; EarlierKeysRefused the earlier stacks' keys that open none.
	ReadableWithLastKey int
	EarlierKeysRefused  int
	// The results consumer on the last stack (Dedup over Verify).
	Delivered, Duplicates, Quarantined int64
	AuditOK                            bool
	Elapsed                            time.Duration
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	n := 0
	for _, cs := range r.allChecks() {
		for _, c := range cs {
			if !c.OK {
				return false
			}
			n++
		}
	}
	return n > 0 && len(r.Hops) == len(r.Stacks)-1 && len(r.Final) > 0
}

func (r *Report) allChecks() [][]Check {
	out := [][]Check{r.Seed, r.Final}
	for _, h := range r.Hops {
		out = append(out, h.Checks)
	}
	return out
}

// stack is an open stack.
type stack struct {
	name    string
	profile string
	urls    profile.URLs
	*profile.Stack
	kek envelope.KEK
}

func (s *stack) bucketName() string { return s.name + " " + blob.Redact(s.urls.Bucket) }

// openBucket opens another handle on the stack's bucket (decorators own the
// bucket they wrap; the Stack keeps its own).
func (s *stack) openBucket(ctx context.Context) (*gcblob.Bucket, error) {
	return blob.Open(ctx, s.urls.Bucket)
}

// switcher holds the keys of one run.
type switcher struct {
	opts        Options
	rep         *Report
	stacks      []*stack
	logSigner   note.Signer
	logVerifier note.Verifier
	msgSigner   sign.Signer
	msgVerifier sign.Verifier
	ids         []string // MetadataIDs of the published results
	plans       map[int]report.Backend
	// shutdown: decorators that took ownership of a stack's topic or
	// subscription (Sign, Verify, Dedup); shut down before the stacks.
	shutdown []func(context.Context) error
}

// Switch opens every stack, seeds the first, runs every hop and the final
// checks. An error means it could not run (bad options, a stack that does
// not open, a bucket that is not empty); failed checks are in the Report.
func Switch(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if len(opts.Stacks) < 2 {
		return nil, fmt.Errorf("a switch needs at least two stacks, got %d", len(opts.Stacks))
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.UntilIdle <= 0 {
		opts.UntilIdle = 2 * time.Second
	}
	sw := &switcher{opts: opts, rep: &Report{}, plans: map[int]report.Backend{}}
	if err := sw.keys(); err != nil {
		return nil, err
	}
	defer sw.close()
	if err := sw.open(ctx); err != nil {
		return nil, err
	}
	rep := sw.rep
	if sw.seed(ctx) {
		for i := 1; i < len(sw.stacks); i++ {
			h := sw.hop(ctx, i, sw.stacks[i-1], sw.stacks[i])
			rep.Hops = append(rep.Hops, *h)
			if !checksOK(h.Checks) {
				break
			}
		}
	}
	if len(rep.Hops) == len(sw.stacks)-1 && checksOK(rep.Hops[len(rep.Hops)-1].Checks) {
		sw.final(ctx)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func checksOK(cs []Check) bool {
	for _, c := range cs {
		if !c.OK {
			return false
		}
	}
	return len(cs) > 0
}

func (sw *switcher) keys() error {
	skey, vkey, err := note.GenerateKey(rand.Reader, "provider-switch/audit")
	if err != nil {
		return err
	}
	if sw.logSigner, err = note.NewSigner(skey); err != nil {
		return err
	}
	if sw.logVerifier, err = note.NewVerifier(vkey); err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	const keyID = "county-clerk-2026"
	sw.msgSigner = sign.NewEd25519Signer(keyID, priv)
	sw.msgVerifier = sign.NewEd25519Verifier(map[string]ed25519.PublicKey{keyID: pub})
	return nil
}

// open opens every stack (and so every subscription, before anything is
// published: an in-process topic delivers only to existing subscriptions)
// and checks that the buckets are empty.
func (sw *switcher) open(ctx context.Context) error {
	seen := map[string]string{}
	for _, nc := range sw.opts.Stacks {
		u, err := nc.Config.URLs()
		if err != nil {
			return fmt.Errorf("stack %s: %w", nc.Name, err)
		}
		st, _, err := profile.Open(ctx, nc.Config)
		if err != nil {
			return fmt.Errorf("stack %s: %w", nc.Name, err)
		}
		s := &stack{name: nc.Name, profile: nc.Config.Profile, urls: u, Stack: st}
		sw.stacks = append(sw.stacks, s)
		// The KEK id is stored in every envelope header: the redacted
		// keeper URL names the key stably and holds no secret.
		s.kek = envelope.KEK{ID: secrets.RedactURL(u.Keeper), Keeper: st.Keeper}
		if other, dup := seen[s.kek.ID]; dup {
			return fmt.Errorf("stacks %s and %s use the same key (%s); a switch needs a key on the new stack", other, s.name, s.kek.ID)
		}
		seen[s.kek.ID] = s.name
		if err := blob.Ping(ctx, st.Bucket, u.Bucket); err != nil {
			return fmt.Errorf("stack %s: %w", s.name, err)
		}
		objs, _, err := st.Bucket.ListPage(ctx, gcblob.FirstPageToken, 1, nil)
		if err != nil {
			return fmt.Errorf("stack %s: list %s: %w", s.name, blob.Redact(u.Bucket), err)
		}
		if len(objs) > 0 {
			return fmt.Errorf("stack %s: bucket %s is not empty (%s); the example needs empty buckets", s.name, blob.Redact(u.Bucket), objs[0].Key)
		}
		sw.rep.Stacks = append(sw.rep.Stacks, StackInfo{Name: s.name, Profile: s.profile,
			Bucket: blob.Redact(u.Bucket), Keeper: s.kek.ID, Topic: pubsub.Redact(u.Topic)})
	}
	return nil
}

func (sw *switcher) close() {
	for _, f := range sw.shutdown {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = f(ctx)
		cancel()
	}
	for _, s := range sw.stacks {
		s.Close()
	}
}

// step runs fn as a check named name and appends it to *checks.
func (sw *switcher) step(checks *[]Check, name string, fn func() (string, error)) bool {
	t0 := time.Now()
	detail, err := fn()
	c := Check{Name: name, OK: err == nil, Detail: detail, Duration: time.Since(t0)}
	if err != nil {
		c.Detail = err.Error()
	}
	*checks = append(*checks, c)
	if sw.opts.Progress != nil {
		fmt.Fprintf(sw.opts.Progress, "  %-4s %s (%s)\n", mark(c.OK), c.Name, c.Duration.Round(time.Millisecond))
	}
	return c.OK
}

// seed writes the sealed, audited archive to the first stack and publishes
// the signed results on its topic.
func (sw *switcher) seed(ctx context.Context) bool {
	first := sw.stacks[0]
	rep := sw.rep
	ok := sw.step(&rep.Seed, "seed "+first.name+": sealed archive, audit log", func() (string, error) {
		log, logBucket, err := sw.openLog(ctx, first)
		if err != nil {
			return "", err
		}
		defer logBucket.Close()
		inner, err := first.openBucket(ctx)
		if err != nil {
			return "", err
		}
		s, err := seal.Wrap(inner, []envelope.KEK{first.kek}, nil)
		if err != nil {
			inner.Close()
			return "", err
		}
		b := audit.Wrap(s, log, first.bucketName())
		defer b.Close()
		if rep.Records, rep.RecordBytes, err = writeArchive(ctx, b); err != nil {
			return "", err
		}
		if _, err := log.Checkpoint(ctx); err != nil {
			return "", fmt.Errorf("sign the audit checkpoint: %w", err)
		}
		return fmt.Sprintf("%d records (%s) sealed under %s; %d audit entries, checkpoint signed", rep.Records, bytesize.String(rep.RecordBytes), first.kek.ID, log.Size()), nil
	})
	return ok && sw.step(&rep.Seed, "seed "+first.name+": signed results messages", func() (string, error) {
		signed, ids, err := publishResults(ctx, first.Topic, sw.msgSigner)
		// signed owns first.Topic: shut it down at the end, before the stacks.
		sw.shutdown = append(sw.shutdown, signed.Shutdown)
		if err != nil {
			return "", err
		}
		sw.ids = ids
		rep.Published = len(ids)
		return fmt.Sprintf("%d results signed (Ed25519) and published, plus 1 replay and 1 forgery", len(ids)), nil
	})
}

// openLog opens the audit log in s's bucket under audit/. Close the returned
// bucket when done.
func (sw *switcher) openLog(ctx context.Context, s *stack) (*audit.Log, *gcblob.Bucket, error) {
	raw, err := s.openBucket(ctx)
	if err != nil {
		return nil, nil, err
	}
	lb := gcblob.PrefixedBucket(raw, auditPrefix) // owns raw
	log, err := audit.Open(ctx, lb, sw.logSigner, &audit.Options{Actor: "provider-switch"})
	if err != nil {
		lb.Close()
		return nil, nil, err
	}
	return log, lb, nil
}

// planCapabilities: every blob capability but list pagination, which
// writes over a thousand objects (civicport conform measures it).
func planCapabilities() []string {
	var out []string
	for _, c := range conformance.BlobCapabilities() {
		if c != conformance.BlobListPagination {
			out = append(out, c)
		}
	}
	return out
}

// measure runs the blob conformance suite on stack i's bucket, once per run.
func (sw *switcher) measure(ctx context.Context, idx ...int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, i := range idx {
		if _, done := sw.plans[i]; done {
			continue
		}
		wg.Go(func() {
			u := sw.stacks[i].urls.Bucket
			t0 := time.Now()
			res := blobtest.Run(ctx, func(ctx context.Context) (*gcblob.Bucket, error) {
				b, err := blob.Open(ctx, u)
				if err != nil {
					return nil, err
				}
				return gcblob.PrefixedBucket(b, "provider-switch-conform/"), nil
			}, &blobtest.Options{LargeObjectSize: 6 << 20, Capabilities: planCapabilities()})
			be := report.NewBackend(u, report.KindBlob, res, time.Since(t0))
			mu.Lock()
			sw.plans[i] = be
			mu.Unlock()
		})
	}
	wg.Wait()
}

// hop moves everything from src to dst (stack i).
func (sw *switcher) hop(ctx context.Context, i int, src, dst *stack) *Hop {
	t0 := time.Now()
	h := &Hop{From: src.name, To: dst.name, Manifest: filepath.Join(sw.opts.WorkDir, fmt.Sprintf("hop%d-%s-to-%s.manifest.jsonl", i, src.name, dst.name))}
	defer func() { h.Duration = time.Since(t0) }()
	if sw.opts.Progress != nil {
		fmt.Fprintf(sw.opts.Progress, "hop %d: %s -> %s\n", i, src.name, dst.name)
	}
	step := func(name string, fn func() (string, error)) bool { return sw.step(&h.Checks, name, fn) }

	// A capability lost is reported, not fatal: the office decides.
	step("plan (blob conformance on both buckets)", func() (string, error) {
		sw.measure(ctx, i-1, i)
		h.Plan = report.Compare(sw.plans[i-1], sw.plans[i])
		return fmt.Sprintf("kept %d, lost %d, gained %d", len(h.Plan.Kept), len(h.Plan.Lost), len(h.Plan.Gained)), nil
	})
	var entries []migrate.Entry
	ok := step("migrate (SHA-256 while streaming, manifest)", func() (string, error) {
		f, err := os.Create(h.Manifest)
		if err != nil {
			return "", err
		}
		sum, err := migrate.Run(ctx, src.Bucket, dst.Bucket, &migrate.Options{Manifest: f, Workers: sw.opts.Workers})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		if err := sum.Err(); err != nil {
			return "", err
		}
		h.Objects, h.Bytes = sum.Copied, sum.CopiedBytes
		f, err = os.Open(h.Manifest)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if entries, err = migrate.ReadManifest(f); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d objects (%s) copied; manifest %s", sum.Copied, bytesize.String(sum.CopiedBytes), filepath.Base(h.Manifest)), nil
	})
	ok = ok && step("verify (re-read both sides; manifest)", func() (string, error) {
		vr, err := migrate.Verify(ctx, src.Bucket, dst.Bucket, &migrate.VerifyOptions{Workers: sw.opts.Workers})
		if err != nil {
			return "", err
		}
		if err := vr.Err(); err != nil {
			return "", err
		}
		mr, err := migrate.VerifyManifest(ctx, dst.Bucket, entries, &migrate.VerifyOptions{Workers: sw.opts.Workers})
		if err != nil {
			return "", err
		}
		if !mr.OK() {
			return "", fmt.Errorf("against the manifest: %s", mr)
		}
		h.Verified = vr.Verified
		return fmt.Sprintf("%d objects (%s) identical on %s and %s; %d match the manifest", vr.Verified, bytesize.String(vr.VerifiedBytes), src.name, dst.name, mr.Verified), nil
	})
	if !ok {
		return h
	}

	// From here on every change to dst is recorded in its audit log, which
	// the migration just brought over.
	log, logBucket, err := sw.openLog(ctx, dst)
	if !step("open the audit log on "+dst.name, func() (string, error) {
		if err != nil {
			return "", err
		}
		carried := log.Size()
		for _, e := range entries {
			if strings.HasPrefix(e.Key, auditPrefix) {
				continue
			}
			if _, err := log.Append(ctx, audit.Entry{Operation: "migrate from " + src.bucketName(), Bucket: dst.bucketName(), Key: e.Key, SHA256: e.SHA256}); err != nil {
				return "", err
			}
		}
		_, err := log.Append(ctx, audit.Entry{Operation: "verify", Bucket: dst.bucketName(), Key: recordsPrefix, SHA256: ""})
		return fmt.Sprintf("%d entries came over from %s; %d added for the move", carried, src.name, log.Size()-carried), err
	}) {
		return h
	}
	defer logBucket.Close()
	ok = step(fmt.Sprintf("rewrap data keys: %s's key -> %s's key", src.name, dst.name), func() (string, error) {
		return sw.rewrap(ctx, h, log, src, dst)
	})
	ok = ok && step("bridge the results queue", func() (string, error) {
		st, err := bridge.Run(ctx, src.Subscription, dst.Topic, &bridge.Options{UntilIdle: sw.opts.UntilIdle})
		h.Messages = st.Forwarded
		if err != nil {
			return "", err
		}
		if want := int64(len(sw.ids) + 2); st.Forwarded < want {
			return "", fmt.Errorf("forwarded %d messages, want at least %d", st.Forwarded, want)
		}
		if _, err := log.Append(ctx, audit.Entry{Operation: fmt.Sprintf("bridge %d messages from %s", st.Forwarded, pubsub.Redact(src.urls.Subscription)),
			Bucket: dst.bucketName(), Key: pubsub.Redact(dst.urls.Topic)}); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d messages (%s) moved; each acked on %s only after %s accepted it", st.Forwarded, bytesize.String(st.Bytes), src.name, dst.name), nil
	})
	if ok {
		step("audit verify on "+dst.name, func() (string, error) {
			if _, err := log.Checkpoint(ctx); err != nil {
				return "", fmt.Errorf("sign the checkpoint: %w", err)
			}
			n, err := sw.verifyAudit(ctx, dst, log.Size())
			h.AuditEntries = n
			return fmt.Sprintf("%d entries, all under a signed checkpoint", n), err
		})
	}
	return h
}

// rewrap moves dst's data keys from src's KEK to dst's, then reads every
// record back with dst's key alone and checks src's key is refused.
func (sw *switcher) rewrap(ctx context.Context, h *Hop, log *audit.Log, src, dst *stack) (string, error) {
	raw, err := dst.openBucket(ctx)
	if err != nil {
		return "", err
	}
	inner := audit.Wrap(raw, log, dst.bucketName())
	defer inner.Close()
	sum, err := seal.Rewrap(ctx, inner, []envelope.KEK{src.kek}, []envelope.KEK{dst.kek}, []string{src.kek.ID},
		&seal.RewrapOptions{Prefix: recordsPrefix, Workers: sw.opts.Workers})
	if err != nil {
		return "", fmt.Errorf("%+v: %w", sum, err)
	}
	h.Rewrapped = sum.Rewrapped
	n, _, err := readAll(ctx, dst, dst.kek)
	if err != nil {
		return "", fmt.Errorf("with %s's key alone: %w", dst.name, err)
	}
	if n != int(sw.rep.Records) {
		return "", fmt.Errorf("%s's key alone opened %d records, want %d", dst.name, n, sw.rep.Records)
	}
	if err := refused(ctx, dst, src.kek); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d data keys rewrapped (bodies untouched); all %d records read with %s's key alone, %s's key refused",
		sum.Rewrapped, n, dst.name, src.name), nil
}

// readAll reads every record of s through Seal with kek alone.
func readAll(ctx context.Context, s *stack, kek envelope.KEK) (int, int64, error) {
	inner, err := s.openBucket(ctx)
	if err != nil {
		return 0, 0, err
	}
	b, err := seal.Wrap(inner, []envelope.KEK{kek}, nil)
	if err != nil {
		inner.Close()
		return 0, 0, err
	}
	defer b.Close()
	n, bytes := 0, int64(0)
	err = listwork.Walk(ctx, b, recordsPrefix, func(obj *gcblob.ListObject) error {
		r, err := b.NewReader(ctx, obj.Key, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Key, err)
		}
		m, err := io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Key, err)
		}
		n++
		bytes += m
		return nil
	})
	return n, bytes, err
}

// refused checks that kek opens no record of s (envelope.ErrWrongKey).
func refused(ctx context.Context, s *stack, kek envelope.KEK) error {
	inner, err := s.openBucket(ctx)
	if err != nil {
		return err
	}
	b, err := seal.Wrap(inner, []envelope.KEK{kek}, nil)
	if err != nil {
		inner.Close()
		return err
	}
	defer b.Close()
	return listwork.Walk(ctx, b, recordsPrefix, func(obj *gcblob.ListObject) error {
		_, err := b.ReadAll(ctx, obj.Key)
		if !errors.Is(err, envelope.ErrWrongKey) {
			return fmt.Errorf("reading %s with the retired key %s: got %v, want %v", obj.Key, kek.ID, err, envelope.ErrWrongKey)
		}
		return nil
	})
}

// verifyAudit checks the whole log in s's bucket against the signer's key.
func (sw *switcher) verifyAudit(ctx context.Context, s *stack, want int64) (int64, error) {
	raw, err := s.openBucket(ctx)
	if err != nil {
		return 0, err
	}
	lb := gcblob.PrefixedBucket(raw, auditPrefix)
	defer lb.Close()
	r, err := audit.Verify(ctx, lb, sw.logVerifier, nil)
	if err != nil {
		return 0, err
	}
	if !r.OK() {
		return r.Entries, fmt.Errorf("%d problems, first: %v", len(r.Problems), r.Problems[0])
	}
	if r.Entries != want || r.TreeSize != want || !r.SignaturesChecked {
		return r.Entries, fmt.Errorf("%d entries, %d signed, signatures checked %v; the log recorded %d", r.Entries, r.TreeSize, r.SignaturesChecked, want)
	}
	return r.Entries, nil
}

// final checks the last stack: records readable with its key only, every
// earlier key refused, the audit log, and the results consumer.
func (sw *switcher) final(ctx context.Context) {
	last := sw.stacks[len(sw.stacks)-1]
	rep := sw.rep
	step := func(name string, fn func() (string, error)) bool { return sw.step(&rep.Final, name, fn) }
	if sw.opts.Progress != nil {
		fmt.Fprintf(sw.opts.Progress, "final: %s\n", last.name)
	}
	step("records readable with "+last.name+"'s key only", func() (string, error) {
		n, bytes, err := readAll(ctx, last, last.kek)
		rep.ReadableWithLastKey = n
		if err != nil {
			return "", err
		}
		if n != int(rep.Records) {
			return "", fmt.Errorf("opened %d records, want %d", n, rep.Records)
		}
		var names []string
		for _, s := range sw.stacks[:len(sw.stacks)-1] {
			if err := refused(ctx, last, s.kek); err != nil {
				return "", err
			}
			rep.EarlierKeysRefused++
			names = append(names, s.name)
		}
		return fmt.Sprintf("all %d records (%s) opened; the keys of %s refused", n, bytesize.String(bytes), strings.Join(names, ", ")), nil
	})
	step("audit log on "+last.name, func() (string, error) {
		log, lb, err := sw.openLog(ctx, last)
		if err != nil {
			return "", err
		}
		size := log.Size()
		lb.Close()
		n, err := sw.verifyAudit(ctx, last, size)
		rep.AuditOK = err == nil
		return fmt.Sprintf("%d entries from the seed and every hop, all signed and consistent", n), err
	})
	step("results consumer on "+last.name+" (Dedup over Verify)", func() (string, error) {
		return sw.consume(ctx, last)
	})
}

// consume reads the last stack's subscription as the results aggregator
// does: Verify (forgeries to quarantine) under Dedup (replays dropped).
func (sw *switcher) consume(ctx context.Context, s *stack) (string, error) {
	// Quarantine: an in-process topic here; a real office would use a
	// topic on the new stack that people watch.
	quarantine := mempubsub.NewTopic()
	defer quarantine.Shutdown(context.Background())
	quarantined := mempubsub.NewSubscription(quarantine, time.Minute)
	defer quarantined.Shutdown(context.Background())
	verified, err := sign.Verify(s.Subscription, sw.msgVerifier, quarantine, nil)
	if err != nil {
		return "", err
	}
	// The dedup store is durable, in the new stack's bucket: a replay
	// after the aggregator restarts is still dropped.
	storeBucket, err := s.openBucket(ctx)
	if err != nil {
		return "", err
	}
	feed := dedup.Wrap(verified, &dedup.Options{Store: dedup.NewBucketStore(storeBucket, "dedup/results/")})
	// feed owns the stack's subscription now; the store's bucket closes
	// after the feed's last acks are recorded.
	sw.shutdown = append(sw.shutdown, feed.Shutdown, func(context.Context) error { return storeBucket.Close() })
	want := map[string]bool{}
	for _, id := range sw.ids {
		want[id] = true
	}
	got := map[string]int{}
	for len(got) < len(want) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m, err := feed.Receive(rctx)
		cancel()
		if err != nil {
			return "", fmt.Errorf("after %d of %d results: %w", len(got), len(want), err)
		}
		m.Ack()
		id := m.Metadata[meta.ID]
		if !want[id] {
			return "", fmt.Errorf("delivered a message never published: %q", id)
		}
		got[id]++
	}
	var ds *dedup.Stats
	var vs *sign.VerifyStats
	if !feed.As(&ds) || !feed.As(&vs) {
		return "", errors.New("decorator stats not reachable")
	}
	// The replay and the forgery are handled, never delivered.
	deadline := time.Now().Add(15 * time.Second)
	for (ds.Duplicates() < 1 || vs.Quarantined() < 1) && time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		m, err := feed.Receive(rctx)
		cancel()
		if err == nil {
			m.Ack()
			return "", fmt.Errorf("an extra message was delivered: %q", m.Metadata[meta.ID])
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	sw.rep.Delivered, sw.rep.Duplicates, sw.rep.Quarantined = int64(len(got)), ds.Duplicates(), vs.Quarantined()
	if sw.rep.Duplicates != 1 || sw.rep.Quarantined != 1 {
		return "", fmt.Errorf("replay dropped %d times (want 1), forgery quarantined %d times (want 1)", sw.rep.Duplicates, sw.rep.Quarantined)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	q, err := quarantined.Receive(rctx)
	if err != nil {
		return "", fmt.Errorf("the forgery is not in quarantine: %w", err)
	}
	q.Ack()
	return fmt.Sprintf("%d results delivered once each, signatures good; the replay dropped; the forgery quarantined (%s)",
		len(got), q.Metadata[meta.QuarantineReason]), nil
}

// Package rehearsal runs a provider-switch rehearsal on embedded defaults:
// it builds a synthetic election archive on "provider A", moves it to
// "provider B" the way a real switch would, proves every byte arrived, and
// shows that a corrupted copy is caught. It needs no servers: both providers
// are local directories unless the caller passes other bucket URLs.
//
// `civicport rehearse` is a thin command over Run.
package rehearsal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/cmd/civicport/internal/electiondata"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/blobcopy"
	"github.com/civicport/civicport/internal/bytesize"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/secrets"
)

// Options configures Run.
type Options struct {
	// Dir holds the providers' directories and the manifest when From/To
	// are not given. It must be empty or not exist yet.
	Dir string
	// From and To are providers A and B. Nil means local defaults: a
	// directory under Dir, a random local key and an in-process topic.
	// Their buckets must be empty.
	From, To *Provider
	// FromURL and ToURL, if set, replace only the bucket of the default
	// providers (kept for bucket-only rehearsals).
	FromURL, ToURL string
	// Data sizes the synthetic dataset (defaults: electiondata.Options).
	Data electiondata.Options
	// Workers for the migration and rewrap (default 4).
	Workers int
	// Progress, if set, receives one line per step as it finishes.
	Progress io.Writer
}

// Provider is one side of the switch, by URL (see blob.Open, secrets.Open,
// pubsub.OpenTopic / OpenSubscription).
type Provider struct {
	Name      string // e.g. "provider A"
	BucketURL string
	KeeperURL string // key-encryption key for sealed records
	// TopicURL and SubscriptionURL are the results feed; the subscription
	// must receive what is sent to the topic (and, for a durable backend,
	// exist before the rehearsal publishes).
	TopicURL, SubscriptionURL string
	// QuarantineTopicURL and QuarantineSubscriptionURL receive forged
	// messages on this provider. Empty: an in-process topic.
	QuarantineTopicURL, QuarantineSubscriptionURL string
}

// Step is one checked stage of the rehearsal.
type Step struct {
	Name string
	OK   bool
	// NA marks a safeguard the provider cannot enforce (Detail says why):
	// not a failure, but not a pass either.
	NA       bool
	Detail   string
	Duration time.Duration
}

// Report is what a rehearsal did and found.
type Report struct {
	From, To Provider
	Manifest string // path of the manifest written
	Steps    []Step
	Records  int64 // election records generated on A
	Objects  int64 // objects moved to B (records and audit log)
	Bytes    int64 // bytes moved to B
	Messages int64 // results messages moved to B
	Elapsed  time.Duration
	Plan     *report.Plan // capabilities kept, lost and gained by the switch
}

// planCapabilities are the capabilities the rehearsal measures: all but
// list pagination, which writes over a thousand objects and would make the
// rehearsal slow on local disks (civicport conform measures it).
func planCapabilities() []string {
	var out []string
	for _, c := range conformance.BlobCapabilities() {
		if c != conformance.BlobListPagination {
			out = append(out, c)
		}
	}
	return out
}

func capNames(cs []report.Change) string {
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(c.Capability, "blob."))
	}
	return strings.Join(names, ", ")
}

// OK reports whether every step passed (or could not apply).
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.OK && !s.NA {
			return false
		}
	}
	return len(r.Steps) > 0
}

// defaultProvider is a local provider under dir: a directory, a random
// local key, an in-process topic.
func defaultProvider(dir, name, slug, run string) (*Provider, error) {
	d := filepath.Join(dir, slug)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		return nil, err
	}
	topic := "mem://civicport-rehearsal-" + slug + "-" + run
	return &Provider{
		Name:            name,
		BucketURL:       "file://" + filepath.ToSlash(d),
		KeeperURL:       "base64key://" + base64.URLEncoding.EncodeToString(key[:]),
		TopicURL:        topic,
		SubscriptionURL: topic,
	}, nil
}

// Run performs the rehearsal. An error means it could not run at all (bad
// options, unusable directory or provider); a failed check is reported in
// the Report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Dir == "" {
		return nil, fmt.Errorf("rehearsal: Dir is required")
	}
	if err := emptyDir(opts.Dir); err != nil {
		return nil, err
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	run := strings.ToLower(rand.Text()[:8])
	rep := &Report{Manifest: filepath.Join(opts.Dir, "manifest.jsonl")}
	for _, side := range []struct {
		given *Provider
		url   string
		out   *Provider
		name  string
		slug  string
	}{{opts.From, opts.FromURL, &rep.From, "provider A", "provider-a"}, {opts.To, opts.ToURL, &rep.To, "provider B", "provider-b"}} {
		p := side.given
		if p == nil {
			var err error
			if p, err = defaultProvider(opts.Dir, side.name, side.slug, run); err != nil {
				return nil, err
			}
			if side.url != "" {
				p.BucketURL = side.url
			}
		}
		*side.out = *p
		if side.out.Name == "" {
			side.out.Name = side.name
		}
		if side.out.QuarantineTopicURL == "" {
			q := "mem://civicport-rehearsal-quarantine-" + side.slug + "-" + run
			side.out.QuarantineTopicURL, side.out.QuarantineSubscriptionURL = q, q
		}
	}
	// A and B must be two providers: one bucket or queue for both would
	// make the move a no-op, and a bridge from a queue into itself loops.
	for _, same := range []struct{ what, a, b string }{
		{"bucket", rep.From.BucketURL, rep.To.BucketURL},
		{"topic", rep.From.TopicURL, rep.To.TopicURL},
	} {
		if same.a == same.b {
			return nil, fmt.Errorf("providers A and B use the same %s (%s); a switch needs two", same.what, pubsub.Redact(same.a))
		}
	}
	a, err := openEmpty(ctx, rep.From.BucketURL)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := openEmpty(ctx, rep.To.BucketURL)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	keys, err := newCustody(ctx, &rep.From, &rep.To)
	if err != nil {
		return nil, err
	}
	defer keys.close()
	feed, err := openFeed(ctx, &rep.From, &rep.To)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	ev, err := newEvents()
	if err != nil {
		return nil, err
	}

	step := func(name string, fn func() (string, error)) bool {
		t0 := time.Now()
		detail, err := fn()
		s := Step{Name: name, OK: err == nil, Detail: detail, Duration: time.Since(t0)}
		if errors.Is(err, errNotEnforced) {
			s.NA = true
		}
		if err != nil {
			s.Detail = err.Error()
		}
		rep.Steps = append(rep.Steps, s)
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "  %-4s %s (%s)\n", s.mark(), s.Name, s.Duration.Round(time.Millisecond))
		}
		return s.OK || s.NA
	}

	// A capability lost in the switch fails the rehearsal, but the move is
	// still rehearsed: the report shows both.
	step("plan: capabilities of A and B (conformance suite)", func() (string, error) {
		measure := func(u string) report.Backend {
			t0 := time.Now()
			res := blobtest.Run(ctx, func(ctx context.Context) (*gcblob.Bucket, error) {
				b, err := blob.Open(ctx, u)
				if err != nil {
					return nil, err
				}
				return gcblob.PrefixedBucket(b, "civicport-rehearsal-conform/"), nil
			}, &blobtest.Options{LargeObjectSize: 8 << 20, Capabilities: planCapabilities()})
			return report.NewBackend(u, report.KindBlob, res, time.Since(t0))
		}
		rep.Plan = report.Compare(measure(rep.From.BucketURL), measure(rep.To.BucketURL))
		if rep.Plan.Losing() {
			return "", fmt.Errorf("the switch would lose %d capabilities: %s", len(rep.Plan.Lost), capNames(rep.Plan.Lost))
		}
		return fmt.Sprintf("kept %d, lost 0, gained %d, neither %d (%s)", len(rep.Plan.Kept), len(rep.Plan.Gained), len(rep.Plan.Other), capNames(rep.Plan.Other)), nil
	})
	var logEntries int64
	ok := step("generate election archive on A: sealed, audited", func() (string, error) {
		st, n, err := keys.generateSealed(ctx, rep.From.BucketURL, keys.kekA, opts.Data)
		if err != nil {
			return "", err
		}
		rep.Records, logEntries = st.Objects, n
		return fmt.Sprintf("%d records, %s: %d registration shards, %d precinct results, %d ballot scans; sealed under A's key (%s); %d audit entries, checkpoint signed",
			st.Objects, bytesize.String(st.Bytes), st.RegistrationShards, st.Results, st.Scans, keys.kekA.ID, n), nil
	})
	ok = ok && step("retention on A (federal 22 months)", func() (string, error) { return retain(ctx, a) })
	ok = ok && step("publish results events on A (signed)", func() (string, error) {
		return ev.publish(ctx, feed.topicA, rep.From.BucketURL, keys.kekA)
	})
	ok = ok && step("migrate A -> B (SHA-256 while streaming, metadata kept)", func() (string, error) {
		f, err := os.Create(rep.Manifest)
		if err != nil {
			return "", err
		}
		t0 := time.Now()
		sum, err := migrate.Run(ctx, a, b, &migrate.Options{Manifest: f, Workers: opts.Workers})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		if err := sum.Err(); err != nil {
			return "", err
		}
		rep.Objects, rep.Bytes = sum.Copied, sum.CopiedBytes
		return fmt.Sprintf("copied %d objects (records and audit log), %s, %s; manifest %s", sum.Copied, bytesize.String(sum.CopiedBytes), rate(sum.CopiedBytes, time.Since(t0)), rep.Manifest), nil
	})
	ok = ok && step("verify B against A (re-read both sides)", func() (string, error) {
		vr, err := migrate.Verify(ctx, a, b, &migrate.VerifyOptions{Workers: opts.Workers})
		if err != nil {
			return "", err
		}
		if err := vr.Err(); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d objects, %s identical", vr.Verified, bytesize.String(vr.VerifiedBytes)), nil
	})
	ok = ok && step("tamper drill: corrupt one copy on B, verify must name it, repair", func() (string, error) {
		return tamperDrill(ctx, a, b)
	})
	ok = ok && step("rewrap keys on B: A's key -> B's key", func() (string, error) {
		return keys.rewrapAndRead(ctx, rep.To.BucketURL, opts.Workers)
	})
	ok = ok && step("bridge the results queue A -> B", func() (string, error) {
		s, err := ev.bridge(ctx, feed.subA, feed.topicB)
		rep.Messages = ev.bridged.Forwarded
		return s, err
	})
	ok = ok && step("aggregator on B: verify signatures, drop duplicates", func() (string, error) {
		return ev.consume(ctx, feed.subB, feed.quarantineB, feed.quarantinedB)
	})
	ok = ok && step("audit verify on B (log moved with the records)", func() (string, error) {
		return keys.verifyAudit(ctx, rep.To.BucketURL, logEntries)
	})
	_ = ok && step("retention on B (federal 22 months)", func() (string, error) { return retain(ctx, b) })
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// tamperDrill flips one byte of one object on b (as an insider or a failing
// disk would, bypassing civicport), checks that Verify reports exactly that
// object, then repairs it from a and verifies again.
func tamperDrill(ctx context.Context, a, b *gcblob.Bucket) (string, error) {
	it := b.List(&gcblob.ListOptions{Prefix: "ballots/"})
	obj, err := it.Next(ctx)
	if err != nil {
		return "", fmt.Errorf("find an object to corrupt: %w", err)
	}
	key := obj.Key
	data, err := b.ReadAll(ctx, key)
	if err != nil {
		return "", err
	}
	attrs, err := b.Attributes(ctx, key)
	if err != nil {
		return "", err
	}
	data[len(data)/2] ^= 0x01
	if err := blobcopy.Put(ctx, b, key, data, &gcblob.WriterOptions{ContentType: attrs.ContentType, Metadata: attrs.Metadata}); err != nil {
		return "", err
	}
	vr, err := migrate.Verify(ctx, a, b, nil)
	if err != nil {
		return "", err
	}
	if len(vr.Problems) != 1 || vr.Problems[0].Key != key || vr.Problems[0].Kind != migrate.Mismatch {
		return "", fmt.Errorf("verify after corrupting %s reported %v, want exactly one mismatch for it", key, vr.Problems)
	}
	if err := b.Delete(ctx, key); err != nil {
		return "", err
	}
	if _, err := migrate.Run(ctx, a, b, &migrate.Options{Prefix: key}); err != nil {
		return "", err
	}
	vr, err = migrate.Verify(ctx, a, b, nil)
	if err != nil {
		return "", err
	}
	if !vr.OK() {
		return "", fmt.Errorf("after repair: %s", vr)
	}
	return fmt.Sprintf("1 flipped bit in %s found; repaired from A and re-verified", key), nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("rehearsal directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("rehearsal directory %s is not empty; give an empty or new directory", dir)
	}
	return nil
}

func openEmpty(ctx context.Context, u string) (*gcblob.Bucket, error) {
	b, err := blob.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := blob.Ping(ctx, b, u); err != nil {
		b.Close()
		return nil, err
	}
	objs, _, err := b.ListPage(ctx, gcblob.FirstPageToken, 1, nil)
	if err != nil {
		b.Close()
		return nil, err
	}
	if len(objs) > 0 {
		b.Close()
		return nil, fmt.Errorf("bucket %s is not empty; the rehearsal needs empty buckets", blob.Redact(u))
	}
	return b, nil
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "civicport rehearsal: a provider switch from %s to %s\n\n", r.From.Name, r.To.Name)
	for _, p := range []Provider{r.From, r.To} {
		fmt.Fprintf(w, "  %s  bucket %s\n              keys   %s\n              queue  %s\n",
			p.Name, blob.Redact(p.BucketURL), secrets.RedactURL(p.KeeperURL), pubsub.Redact(p.TopicURL))
	}
	fmt.Fprintln(w)
	if r.Plan != nil {
		fmt.Fprintf(w, "What the switch keeps and loses (blob conformance, A -> B):\n")
		fmt.Fprintf(w, "  kept    %s\n", orNone(capNames(r.Plan.Kept)))
		fmt.Fprintf(w, "  lost    %s\n", orNone(capNames(r.Plan.Lost)))
		fmt.Fprintf(w, "  gained  %s\n", orNone(capNames(r.Plan.Gained)))
		fmt.Fprintf(w, "  neither %s\n\n", orNone(capNames(r.Plan.Other)))
	}
	fmt.Fprintln(w, "Checks:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.mark(), s.Name, s.Duration.Round(time.Millisecond), s.Detail)
	}
	tw.Flush()
	passed, na := 0, 0
	for _, s := range r.Steps {
		switch {
		case s.OK:
			passed++
		case s.NA:
			na++
		}
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	notApplicable := ""
	if na > 0 {
		notApplicable = fmt.Sprintf(" (%d not enforceable by these providers)", na)
	}
	fmt.Fprintf(w, "\n%s: %d/%d checks passed%s; %d records sealed, %d objects (%s) moved and verified, %d messages bridged, in %s\n",
		verdict, passed, len(r.Steps), notApplicable, r.Records, r.Objects, bytesize.String(r.Bytes), r.Messages, r.Elapsed.Round(time.Millisecond))
}

func (s Step) mark() string {
	switch {
	case s.OK:
		return "ok"
	case s.NA:
		return "n/a"
	}
	return "FAIL"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strings.TrimSuffix(bytesize.String(int64(float64(n)/d.Seconds())), "B") + "B/s"
}

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
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/conformance"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/electiondata"
)

// Options configures Run.
type Options struct {
	// Dir holds provider A, provider B and the manifest when FromURL/ToURL
	// are empty. It must be empty or not exist yet.
	Dir string
	// FromURL and ToURL, if set, are the buckets used as providers A and B
	// instead of directories under Dir. Both must be empty.
	FromURL, ToURL string
	// Data sizes the synthetic dataset (defaults: electiondata.Options).
	Data electiondata.Options
	// Workers for the migration (default 4).
	Workers int
}

// Step is one checked stage of the rehearsal.
type Step struct {
	Name     string
	OK       bool
	Detail   string
	Duration time.Duration
}

// Report is what a rehearsal did and found.
type Report struct {
	From, To string // bucket URLs
	Manifest string // path of the manifest written
	Steps    []Step
	Objects  int64
	Bytes    int64
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

// OK reports whether every step passed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return len(r.Steps) > 0
}

// Run performs the rehearsal. An error means it could not run at all (bad
// options, unusable directory); a failed check is reported in the Report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Dir == "" {
		return nil, fmt.Errorf("rehearsal: Dir is required")
	}
	if err := emptyDir(opts.Dir); err != nil {
		return nil, err
	}
	rep := &Report{From: opts.FromURL, To: opts.ToURL, Manifest: filepath.Join(opts.Dir, "manifest.jsonl")}
	for _, p := range []*string{&rep.From, &rep.To} {
		if *p != "" {
			continue
		}
		name := "provider-a"
		if p == &rep.To {
			name = "provider-b"
		}
		d := filepath.Join(opts.Dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		*p = "file://" + filepath.ToSlash(d)
	}
	a, err := openEmpty(ctx, rep.From)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := openEmpty(ctx, rep.To)
	if err != nil {
		return nil, err
	}
	defer b.Close()

	step := func(name string, fn func() (string, error)) bool {
		t0 := time.Now()
		detail, err := fn()
		s := Step{Name: name, OK: err == nil, Detail: detail, Duration: time.Since(t0)}
		if err != nil {
			s.Detail = err.Error()
		}
		rep.Steps = append(rep.Steps, s)
		return s.OK
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
		rep.Plan = report.Compare(measure(rep.From), measure(rep.To))
		if rep.Plan.Losing() {
			return "", fmt.Errorf("the switch would lose %d capabilities: %s", len(rep.Plan.Lost), capNames(rep.Plan.Lost))
		}
		return fmt.Sprintf("kept %d, lost 0, gained %d, neither %d (%s)", len(rep.Plan.Kept), len(rep.Plan.Gained), len(rep.Plan.Other), capNames(rep.Plan.Other)), nil
	})
	ok := step("generate election archive on provider A", func() (string, error) {
		st, err := electiondata.Generate(ctx, a, opts.Data)
		if err != nil {
			return "", err
		}
		rep.Objects, rep.Bytes = st.Objects, st.Bytes
		return fmt.Sprintf("%d objects, %s: %d registration shards, %d precinct results, %d ballot scans",
			st.Objects, human(st.Bytes), st.RegistrationShards, st.Results, st.Scans), nil
	})
	ok = ok && step("migrate A -> B (SHA-256 while streaming, metadata kept)", func() (string, error) {
		f, err := os.Create(rep.Manifest)
		if err != nil {
			return "", err
		}
		t0 := time.Now()
		sum, err := blob.Migrate(ctx, a, b, &blob.MigrateOptions{Manifest: f, Workers: opts.Workers})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		if sum.Failed > 0 {
			return "", fmt.Errorf("%s; first failure %s: %s", sum, sum.Failures[0].Key, sum.Failures[0].Err)
		}
		return fmt.Sprintf("copied %d objects, %s, %s; manifest %s", sum.Copied, human(sum.CopiedBytes), rate(sum.CopiedBytes, time.Since(t0)), rep.Manifest), nil
	})
	ok = ok && step("verify B against A (re-read both sides)", func() (string, error) {
		vr, err := blob.Verify(ctx, a, b, &blob.VerifyOptions{Workers: opts.Workers})
		if err != nil {
			return "", err
		}
		if !vr.OK() {
			return "", fmt.Errorf("%s; first problem %s: %s %s", vr, vr.Problems[0].Key, vr.Problems[0].Kind, vr.Problems[0].Detail)
		}
		return fmt.Sprintf("%d objects, %s identical", vr.Verified, human(vr.VerifiedBytes)), nil
	})
	_ = ok && step("tamper drill: corrupt one copy on B, verify must name it, repair", func() (string, error) {
		return tamperDrill(ctx, a, b)
	})
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
	if err := b.WriteAll(ctx, key, data, &gcblob.WriterOptions{ContentType: attrs.ContentType, Metadata: attrs.Metadata}); err != nil {
		return "", err
	}
	vr, err := blob.Verify(ctx, a, b, nil)
	if err != nil {
		return "", err
	}
	if len(vr.Problems) != 1 || vr.Problems[0].Key != key || vr.Problems[0].Kind != blob.Mismatch {
		return "", fmt.Errorf("verify after corrupting %s reported %v, want exactly one mismatch for it", key, vr.Problems)
	}
	if err := b.Delete(ctx, key); err != nil {
		return "", err
	}
	if _, err := blob.Migrate(ctx, a, b, &blob.MigrateOptions{Prefix: key}); err != nil {
		return "", err
	}
	vr, err = blob.Verify(ctx, a, b, nil)
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
	fmt.Fprintf(w, "civicport rehearsal: a provider switch on embedded defaults\n\n")
	fmt.Fprintf(w, "  provider A  %s\n  provider B  %s\n\n", blob.Redact(r.From), blob.Redact(r.To))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Steps {
		mark := "ok"
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark, s.Name, s.Duration.Round(time.Millisecond), s.Detail)
	}
	tw.Flush()
	passed := 0
	for _, s := range r.Steps {
		if s.OK {
			passed++
		}
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d/%d checks passed; %d objects, %s moved and verified in %s\n",
		verdict, passed, len(r.Steps), r.Objects, human(r.Bytes), r.Elapsed.Round(time.Millisecond))
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strings.TrimSuffix(human(int64(float64(n)/d.Seconds())), "B") + "B/s"
}

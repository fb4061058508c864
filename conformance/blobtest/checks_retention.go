package blobtest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/conformance/internal/verdict"
)

// The retention checks use civicport's portable retention API
// (blob/retention), which reaches S3 Object Lock through civicport's minio
// adapter and gocloud's s3blob, and GCS object retention and holds through
// gcsblob, with the retention drivers of adapters/retention. Buckets from
// civicport's blob.Open have them; a caller opening buckets with gocloud's
// openers must blank-import the drivers it needs, or the checks report the
// backend as having no retention API. The checks pass only when the
// backend enforces what it accepts:
//
//   - the retained version cannot be deleted (retention.Delete, which
//     removes a version for good; a plain Bucket.Delete on a versioned
//     bucket only adds a delete marker and proves nothing), and an
//     overwrite leaves it readable and unaltered (on S3 the overwrite adds
//     a version; GCS refuses it);
//   - governance: changing or shortening it needs the explicit bypass, and
//     a delete with the bypass succeeds;
//   - compliance: deleting (also with the bypass), shortening and switching
//     to governance are refused before the date; after it the version can
//     be deleted. The check retains for complianceCheckPeriod and waits for
//     it to pass, so that its object (and the bucket) can be removed;
//   - legal hold: it reads back as placed, blocks a delete even with the
//     bypass, and once released the delete succeeds.
//
// A backend without a retention API, or a bucket created without object
// lock (S3) or object retention (GCS), is unsupported, and the detail says
// which. A backend that accepts a retention or hold and then lets the
// version be deleted is a fail.

// complianceCheckPeriod is how long blob.retention_compliance retains its
// object. Compliance cannot be lifted: the check waits it out.
const complianceCheckPeriod = 8 * time.Second

// retentionTarget is the object version a retention check works on.
type retentionTarget struct {
	e       *env
	key     string
	content []byte
	version string
	probe   *versionProbe
}

// retentionStart checks support, writes the object and finds its version,
// or returns the outcome that ends the check.
func retentionStart(e *env, name string, hold bool) (*retentionTarget, *verdict.Outcome) {
	check := retention.Supported
	if hold {
		check = retention.LegalHoldSupported
	}
	if err := check(e.ctx, e.b); err != nil {
		o := retentionUnsupported(err)
		if o == nil {
			f := verdict.Fail("checking retention support: %s", errText(err))
			o = &f
		}
		return nil, o
	}
	t := &retentionTarget{e: e, key: e.key(name), content: []byte("retained record " + name)}
	if err := e.write(t.key, t.content, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		f := verdict.Fail("write %q: %s", t.key, errText(err))
		return nil, &f
	}
	a, err := e.b.Attributes(e.ctx, t.key)
	if err != nil {
		f := verdict.Fail("attributes of %q: %s", t.key, errText(err))
		return nil, &f
	}
	t.probe, t.version = findVersion(a)
	if t.probe == nil || t.version == "" || t.version == "null" {
		u := verdict.Unsupported("retention is enabled but %q has no version id (%q), so the retained version cannot be named", t.key, t.version)
		return nil, &u
	}
	return t, nil
}

// retentionUnsupported turns ErrUnsupported / ErrNotEnabled into an
// unsupported outcome, or returns nil.
func retentionUnsupported(err error) *verdict.Outcome {
	var o verdict.Outcome
	switch {
	case errors.Is(err, retention.ErrUnsupported):
		o = verdict.Unsupported("no retention API for this backend: %s", retentionCause(err))
	case errors.Is(err, retention.ErrNotEnabled):
		o = verdict.Unsupported("not enabled on the bucket (S3: create it with object lock; GCS: with object retention): %s", retentionCause(err))
	default:
		return nil
	}
	return &o
}

// retentionCause is a retention.Error's code, backend and cause, without
// the operation already named by the detail.
func retentionCause(err error) string {
	var re *retention.Error
	if !errors.As(err, &re) || re.Err == nil {
		return errText(err)
	}
	on := ""
	if re.Backend != "" {
		on = " on " + re.Backend
	}
	return fmt.Sprintf("%s%s: %s", re.Code, on, truncateMiddle(awsRequestIDs.ReplaceAllString(re.Err.Error(), ""), 300))
}

func (t *retentionTarget) ver() retention.Option { return retention.VersionID(t.version) }

// read reads the retained version.
func (t *retentionTarget) read() ([]byte, error) {
	return t.e.readWith(t.key, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		return t.probe.selectVersion(as, t.version)
	}})
}

// intact describes how the retained version is no longer what was
// written, or returns "".
func (t *retentionTarget) intact(after string) string {
	got, err := t.read()
	switch {
	case isGone(err):
		return fmt.Sprintf("after %s, version %q of %q is gone: %s", after, t.version, t.key, errText(err))
	case err != nil:
		return fmt.Sprintf("after %s, reading version %q of %q: %s", after, t.version, t.key, errText(err))
	case !bytesEqual(got, t.content):
		return fmt.Sprintf("after %s, version %q of %q holds %s, want %s", after, t.version, t.key, quoteBytes(got), quoteBytes(t.content))
	}
	return ""
}

// gone says whether the retained version was deleted.
func (t *retentionTarget) gone() (bool, error) {
	_, err := t.read()
	if err == nil {
		return false, nil
	}
	if isGone(err) {
		return true, nil
	}
	return false, err
}

// isGone: NotFound, or S3's NoSuchVersion (s3blob leaves it Unknown).
func isGone(err error) bool {
	return err != nil && (gcerrors.Code(err) == gcerrors.NotFound || strings.Contains(err.Error(), "NoSuchVersion"))
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// refused records a problem unless err is a refusal; it returns the
// refusal's text for the pass note.
func refused(p *verdict.Problems, err error, what string) string {
	if err == nil {
		p.Add("%s succeeded: not enforced", what)
		return ""
	}
	return refusalText(err)
}

// refusalText is the code and the server's own words of a refusal, for a
// pass note.
func refusalText(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		msg = msg[i+len("api error "):]
	} else if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return fmt.Sprintf("%s: %s", gcerrors.Code(err), truncate(msg, 120))
}

// overwrite writes other content at the key and checks the retained
// version is unaltered (S3 adds a version; GCS refuses the write).
func (t *retentionTarget) overwrite(p *verdict.Problems) {
	err := t.e.write(t.key, []byte("tampered"), &blob.WriterOptions{ContentType: "text/plain"})
	what := "an overwrite"
	if err != nil {
		what = "a refused overwrite (" + shortErr(err) + ")"
	}
	if d := t.intact(what); d != "" {
		p.Add("%s", d)
	}
}

// setRetention sets r on the retained version, or returns the outcome
// that ends the check.
func (t *retentionTarget) setRetention(r retention.Retention) *verdict.Outcome {
	err := retention.Set(t.e.ctx, t.e.b, t.key, r, t.ver())
	if err == nil {
		return nil
	}
	if o := retentionUnsupported(err); o != nil {
		return o
	}
	if gcerrors.Code(err) == gcerrors.Unimplemented {
		u := verdict.Unsupported("setting retention: %s", errText(err))
		return &u
	}
	f := verdict.Fail("set %s retention on version %q of %q: %s", r.Mode, t.version, t.key, errText(err))
	return &f
}

// readsBack checks the version's retention is r (to the second).
func (t *retentionTarget) readsBack(p *verdict.Problems, r retention.Retention, when string) {
	got, err := retention.Get(t.e.ctx, t.e.b, t.key, t.ver())
	switch {
	case err != nil:
		p.Add("get the retention of version %q %s: %s", t.version, when, errText(err))
	case got.Mode != r.Mode || got.Until.Sub(r.Until).Abs() > time.Second:
		p.Add("retention of version %q %s reads %v, want %v", t.version, when, got, r)
	}
}

func checkRetentionGovernance(e *env) verdict.Outcome {
	t, o := retentionStart(e, "retention/governance.txt", false)
	if o != nil {
		return *o
	}
	r := retention.Retention{Mode: retention.Governance, Until: time.Now().Add(time.Hour)}
	if o := t.setRetention(r); o != nil {
		return *o
	}
	var p verdict.Problems
	t.readsBack(&p, r, "after setting it")
	refusal := refused(&p, retention.Delete(e.ctx, e.b, t.key, t.ver()), fmt.Sprintf("deleting governance-retained version %q of %q without the bypass", t.version, t.key))
	if gone, _ := t.gone(); gone {
		p.Add("version %q of %q is gone: governance retention not enforced", t.version, t.key)
		return p.Fail(maxEvidence)
	}
	shorter := retention.Retention{Mode: retention.Governance, Until: time.Now().Add(30 * time.Minute)}
	refused(&p, retention.Set(e.ctx, e.b, t.key, shorter, t.ver()), fmt.Sprintf("shortening the governance retention of version %q without the bypass", t.version))
	t.readsBack(&p, r, "after a refused shortening")
	t.overwrite(&p)

	// The bypass is the way out.
	if err := retention.Set(e.ctx, e.b, t.key, shorter, t.ver(), retention.BypassGovernance()); err != nil {
		p.Add("shortening governance retention with the bypass: %s", errText(err))
	}
	if err := retention.Delete(e.ctx, e.b, t.key, t.ver(), retention.BypassGovernance()); err != nil {
		p.Add("deleting version %q with the bypass: %s", t.version, errText(err))
	} else if gone, err := t.gone(); !gone {
		p.Add("version %q still readable after a delete with the bypass (%v)", t.version, err)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("delete of the retained version refused (%s); shortening needs the bypass; an overwrite leaves it intact; with the bypass it can be shortened and deleted", refusal)
}

func checkRetentionCompliance(e *env) verdict.Outcome {
	t, o := retentionStart(e, "retention/compliance.txt", false)
	if o != nil {
		return *o
	}
	r := retention.Retention{Mode: retention.Compliance, Until: time.Now().Add(complianceCheckPeriod)}
	if o := t.setRetention(r); o != nil {
		return *o
	}
	got, err := retention.Get(e.ctx, e.b, t.key, t.ver())
	if err == nil && got.Mode == retention.Compliance {
		r.Until = got.Until // as stored (rounded to the second)
	}
	var p verdict.Problems
	// definite counts the problems found by steps that finished before the
	// date: those are failures however long the rest takes. A step that
	// ends after the date may have been accepted because the date passed.
	definite := 0
	inTimeSoFar := func() {
		if time.Now().Before(r.Until) {
			definite = len(p)
		}
	}
	t.readsBack(&p, r, "after setting it")
	inTimeSoFar()
	refusal := refused(&p, retention.Delete(e.ctx, e.b, t.key, t.ver()), fmt.Sprintf("deleting compliance-retained version %q of %q", t.version, t.key))
	inTimeSoFar()
	refused(&p, retention.Delete(e.ctx, e.b, t.key, t.ver(), retention.BypassGovernance()), fmt.Sprintf("deleting compliance-retained version %q with the governance bypass", t.version))
	inTimeSoFar()
	if gone, _ := t.gone(); gone {
		p.Add("version %q of %q is gone before its date: compliance retention not enforced", t.version, t.key)
		return p.Fail(maxEvidence)
	}
	if time.Until(r.Until) > 2*time.Second {
		shorter := retention.Retention{Mode: retention.Compliance, Until: time.Now().Add(time.Until(r.Until) / 2)}
		refused(&p, retention.Set(e.ctx, e.b, t.key, shorter, t.ver(), retention.BypassGovernance()), fmt.Sprintf("shortening the compliance retention of version %q (with the bypass)", t.version))
		inTimeSoFar()
	}
	gov := retention.Retention{Mode: retention.Governance, Until: r.Until.Add(time.Hour)}
	refused(&p, retention.Set(e.ctx, e.b, t.key, gov, t.ver(), retention.BypassGovernance()), fmt.Sprintf("switching version %q from compliance to governance (with the bypass)", t.version))
	inTimeSoFar()
	t.overwrite(&p)
	inTimeSoFar()
	t.readsBack(&p, r, "after the refused changes")
	inTimeSoFar()
	inTime := time.Now().Before(r.Until)
	// After the date the version can be deleted (so the bucket can be
	// removed), whatever the verdict; a server may take a moment to agree.
	note := t.deleteAfter(r.Until)
	switch {
	case !inTime && definite > 0:
		// What failed before the date is a failure; a timeout does not
		// hide it.
		return p[:definite].Fail(maxEvidence)
	case !inTime:
		return verdict.Skipped("inconclusive: the check took longer than its %v compliance period (evidence so far: %s)", complianceCheckPeriod, strings.Join(p, "; "))
	case !p.Empty():
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("delete (also with the governance bypass), shortening and a switch to governance refused before the date (%s); an overwrite leaves the version intact; %s", refusal, note)
}

// deleteAfter waits until the compliance date has passed and deletes the
// retained version, and says how that went.
func (t *retentionTarget) deleteAfter(until time.Time) string {
	e := t.e
	select {
	case <-time.After(time.Until(until) + time.Second):
	case <-e.ctx.Done():
		e.o.Logf("blob.retention_compliance: version %q of %q left behind: interrupted while waiting for its date", t.version, t.key)
		return "interrupted while waiting for the date to pass"
	}
	for i := 0; ; i++ {
		err := retention.Delete(e.ctx, e.b, t.key, t.ver())
		if err == nil {
			return "deleted after the date"
		}
		if i == 5 || e.ctx.Err() != nil {
			note := "still not deletable after its date: " + errText(err)
			e.o.Logf("blob.retention_compliance: version %q of %q %s", t.version, t.key, note)
			return note
		}
		time.Sleep(time.Second)
	}
}

func checkLegalHold(e *env) verdict.Outcome {
	t, o := retentionStart(e, "retention/legal-hold.txt", true)
	if o != nil {
		return *o
	}
	var p verdict.Problems
	if on, err := retention.LegalHold(e.ctx, e.b, t.key, t.ver()); err != nil {
		if o := retentionUnsupported(err); o != nil {
			return *o
		}
		p.Add("get the legal hold of a new object: %s", errText(err))
	} else if on {
		p.Add("a new object %q is under legal hold", t.key)
	}
	if err := retention.SetLegalHold(e.ctx, e.b, t.key, true, t.ver()); err != nil {
		if o := retentionUnsupported(err); o != nil {
			return *o
		}
		return verdict.Fail("place a legal hold on version %q of %q: %s", t.version, t.key, errText(err))
	}
	if on, err := retention.LegalHold(e.ctx, e.b, t.key, t.ver()); err != nil {
		p.Add("legal hold placed without error, but reading it back: %s", errText(err))
	} else if !on {
		p.Add("legal hold placed without error, but reads back as off")
	}
	refusal := refused(&p, retention.Delete(e.ctx, e.b, t.key, t.ver(), retention.BypassGovernance()), fmt.Sprintf("deleting held version %q of %q (with the governance bypass)", t.version, t.key))
	if gone, _ := t.gone(); gone {
		p.Add("version %q of %q is gone: legal hold not enforced", t.version, t.key)
		return p.Fail(maxEvidence)
	}
	t.overwrite(&p)

	if err := retention.SetLegalHold(e.ctx, e.b, t.key, false, t.ver()); err != nil {
		p.Add("release the legal hold: %s", errText(err))
	} else if on, err := retention.LegalHold(e.ctx, e.b, t.key, t.ver()); err != nil {
		p.Add("legal hold released without error, but reading it back: %s", errText(err))
	} else if on {
		p.Add("legal hold released without error, but reads back as on")
	} else if err := retention.Delete(e.ctx, e.b, t.key, t.ver()); err != nil {
		p.Add("deleting version %q after releasing the hold: %s", t.version, errText(err))
	} else if gone, err := t.gone(); !gone {
		p.Add("version %q still readable after the hold was released and it was deleted (%v)", t.version, err)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("delete of the held version refused, also with the governance bypass (%s); an overwrite leaves it intact; released, it can be deleted", refusal)
}

package blobtest

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/civicport/civicport/conformance/internal/verdict"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

func checkCopy(e *env) verdict.Outcome {
	var p verdict.Problems
	md := map[string]string{"origin": "civicport", "sha": "abc123"}
	names := []string{"plain.bin", "with space.bin", "plus+sign.bin", "unicodé-選挙.bin", "percent%20.bin"}
	for i, name := range names {
		src, dst := e.key("src/"+name), e.key("dst/"+name)
		data := pattern(50+i).bytes(0, 3000)
		if err := e.write(src, data, &blob.WriterOptions{ContentType: "application/x-civicport", Metadata: md}); err != nil {
			p.Add("%q: write source: %s", name, shortErr(err))
			continue
		}
		e.track(dst)
		if err := e.b.Copy(e.ctx, dst, src, nil); err != nil {
			if isUnimplemented(err) {
				return verdict.Unsupported("Copy is not implemented: %s", errText(err))
			}
			p.Add("%q: Copy: %s", name, shortErr(err))
			continue
		}
		got, err := e.read(dst)
		if err != nil {
			p.Add("%q: read the copy: %s", name, shortErr(err))
			continue
		}
		if d := diff(data, got); d != "" {
			p.Add("%q: the copy differs: %s", name, d)
		}
		a, err := e.b.Attributes(e.ctx, dst)
		if err != nil {
			p.Add("%q: attributes of the copy: %s", name, shortErr(err))
			continue
		}
		if !sameMediaType(a.ContentType, "application/x-civicport") {
			p.Add("%q: the copy has Content-Type %q, want %q", name, a.ContentType, "application/x-civicport")
		}
		if !maps.Equal(userMetadata(a.Metadata), md) {
			p.Add("%q: the copy has metadata %q, want %q", name, a.Metadata, md)
		}
		if got, err := e.read(src); err != nil || !bytes.Equal(got, data) {
			p.Add("%q: the source changed or vanished after Copy (err %v)", name, err)
		}
	}
	// Copy overwrites an existing destination.
	src, dst := e.key("src/"+names[0]), e.key("dst/existing")
	if err := e.write(dst, []byte("old content"), nil); err != nil {
		p.Add("write %q: %s", dst, shortErr(err))
	} else if err := e.b.Copy(e.ctx, dst, src, nil); err != nil {
		p.Add("Copy over the existing %q: %s", e.rel(dst), shortErr(err))
	} else if got, err := e.read(dst); err != nil {
		p.Add("read %q after Copy over it: %s", e.rel(dst), shortErr(err))
	} else if d := diff(pattern(50).bytes(0, 3000), got); d != "" {
		p.Add("Copy over the existing %q: %s", e.rel(dst), d)
	}
	// A missing source is NotFound.
	missing := e.key("src/missing")
	e.track(e.key("dst/from-missing"))
	if err := e.b.Copy(e.ctx, e.key("dst/from-missing"), missing, nil); gcerrors.Code(err) != gcerrors.NotFound {
		p.Add("Copy from a missing source: got %s, want NotFound", errText(err))
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

func checkConditionalWrite(e *env) verdict.Outcome {
	k := e.key("conditional/object")
	v1, v2 := []byte("first if-not-exists write"), []byte("second if-not-exists write")
	ine := &blob.WriterOptions{ContentType: "text/plain", IfNotExist: true}
	if err := e.write(k, v1, ine); err != nil {
		if isUnimplemented(err) {
			return verdict.Unsupported("IfNotExist writes are not implemented: %s", errText(err))
		}
		return verdict.Fail("first if-not-exists write of %q (the key is new): %s", k, errText(err))
	}
	var p verdict.Problems
	err := e.write(k, v2, ine)
	switch {
	case err == nil:
		p.Add("second if-not-exists write of %q succeeded, want FailedPrecondition", k)
	case gcerrors.Code(err) != gcerrors.FailedPrecondition:
		p.Add("second if-not-exists write of %q: got %s, want FailedPrecondition", k, errText(err))
	}
	if got, err := e.read(k); err != nil {
		p.Add("read %q: %s", k, errText(err))
	} else if !bytes.Equal(got, v1) {
		p.Add("%q after the refused write: got %s, want %s", k, quoteBytes(got), quoteBytes(v1))
	}
	// After a delete the key is free again.
	if err := e.b.Delete(e.ctx, k); err != nil {
		p.Add("delete %q: %s", k, errText(err))
	} else if err := e.write(k, v2, ine); err != nil {
		p.Add("if-not-exists write of %q after deleting it: %s", k, errText(err))
	}

	// Of several concurrent if-not-exists writers to a new key, exactly one
	// wins and the object holds its content. A race is won or lost by
	// timing, so it is run several times.
	const rounds, writers = 20, 8
	for round := range rounds {
		race := e.key(fmt.Sprintf("conditional/race-%d", round))
		if msg := ifNotExistRace(e, race, writers, ine); msg != "" {
			p.Add("round %d of %d: %s", round+1, rounds, msg)
			break
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

// ifNotExistRace opens writers if-not-exists writers on key, writes each
// one's content, then closes (commits) them all at once, and describes what
// went wrong, or returns "".
func ifNotExistRace(e *env, key string, writers int, ine *blob.WriterOptions) string {
	e.track(key)
	content := func(i int) []byte { return []byte(fmt.Sprintf("writer %d of %d", i, writers)) }
	ws := make([]*blob.Writer, writers)
	errs := make([]error, writers)
	for i := range ws {
		w, err := e.b.NewWriter(e.ctx, key, ine)
		if err != nil {
			errs[i] = err
			continue
		}
		ws[i] = w
		if _, err := w.Write(content(i)); err != nil {
			errs[i] = err
		}
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i, w := range ws {
		if w == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
			}()
			<-start
			if err := w.Close(); errs[i] == nil {
				errs[i] = err
			}
		}()
	}
	close(start)
	wg.Wait()
	var winners []int
	var msgs []string
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, i)
		case gcerrors.Code(err) != gcerrors.FailedPrecondition:
			msgs = append(msgs, fmt.Sprintf("writer %d: got %s, want success or FailedPrecondition", i, errText(err)))
		}
	}
	if len(winners) != 1 {
		msgs = append(msgs, fmt.Sprintf("%d concurrent if-not-exists writes to %q: %d succeeded (writers %v), want exactly 1", writers, key, len(winners), winners))
	}
	if got, err := e.read(key); err != nil {
		msgs = append(msgs, fmt.Sprintf("read %q: %s", key, errText(err)))
	} else if len(winners) == 1 && !bytes.Equal(got, content(winners[0])) {
		msgs = append(msgs, fmt.Sprintf("%q holds %s, but writer %d was told it won", key, quoteBytes(got), winners[0]))
	}
	return strings.Join(msgs, "; ")
}

func checkVersioning(e *env) verdict.Outcome {
	k := e.key("versioning/object.txt")
	v1, v2 := []byte("version one"), []byte("version two, longer")
	if err := e.write(k, v1, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return verdict.Fail("write %q: %s", k, errText(err))
	}
	a1, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	probe, id1 := findVersion(a1)
	if probe == nil {
		return verdict.Unsupported("versioning not enabled or not exposed: no version id visible through Attributes.As (blobtest reads version ids from %s)", probeNames())
	}
	if id1 == "" || id1 == "null" {
		return verdict.Unsupported("versioning not enabled on the bucket: %s reports version id %q", probe.name, id1)
	}
	if err := e.write(k, v2, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return verdict.Fail("overwrite %q: %s", k, errText(err))
	}
	a2, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q after overwrite: %s", k, errText(err))
	}
	id2 := probe.id(a2)
	if id2 == id1 {
		return verdict.Fail("overwrite of %q kept version id %q", k, id1)
	}
	readVersion := func(id string) ([]byte, error) {
		return e.readWith(k, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error { return probe.selectVersion(as, id) }})
	}
	got, err := readVersion(id1)
	switch {
	case gcerrors.Code(err) == gcerrors.NotFound:
		return verdict.Unsupported("%s reports version ids, but version %q of %q was gone after an overwrite (versioning not enabled on the bucket): %s", probe.name, id1, k, errText(err))
	case err != nil:
		return verdict.Fail("read version %q of %q: %s", id1, k, errText(err))
	case bytes.Equal(got, v2):
		return verdict.Fail("read of the older version %q of %q returned the newer content: the version id was ignored", id1, k)
	case !bytes.Equal(got, v1):
		return verdict.Fail("read version %q of %q: got %s, want %s", id1, k, quoteBytes(got), quoteBytes(v1))
	}
	var p verdict.Problems
	if got, err := readVersion(id2); err != nil || !bytes.Equal(got, v2) {
		p.Add("read version %q (the newest) of %q: got %s, %v; want %s", id2, k, quoteBytes(got), err, quoteBytes(v2))
	}
	if got, err := e.read(k); err != nil || !bytes.Equal(got, v2) {
		p.Add("read %q: got %s, %v; want the newest %s", k, quoteBytes(got), err, quoteBytes(v2))
	}
	// A delete hides the object but keeps its versions.
	if err := e.b.Delete(e.ctx, k); err != nil {
		p.Add("delete %q: %s", k, errText(err))
	} else {
		if ok, err := e.b.Exists(e.ctx, k); ok || err != nil {
			p.Add("exists %q after delete: got %v, %v; want false", k, ok, err)
		}
		if got, err := readVersion(id1); err != nil || !bytes.Equal(got, v1) {
			p.Add("read version %q of %q after delete: got %s, %s; want %s", id1, k, quoteBytes(got), errText(err), quoteBytes(v1))
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("version ids through %s; the older version stays readable after an overwrite and a delete", probe.name)
}

func checkSignedURL(e *env) verdict.Outcome {
	client := e.o.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	}
	do := func(method, u string, body []byte) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(e.ctx, method, u, rd)
		if err != nil {
			return 0, nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, b, err
	}

	getKey, otherKey := e.key("signed/get.txt"), e.key("signed/other.txt")
	data, other := []byte("signed GET content"), []byte("another object")
	if err := e.write(getKey, data, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return verdict.Fail("write %q: %s", getKey, errText(err))
	}
	if err := e.write(otherKey, other, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return verdict.Fail("write %q: %s", otherKey, errText(err))
	}
	var p verdict.Problems
	var notes []string
	getURL, err := e.b.SignedURL(e.ctx, getKey, &blob.SignedURLOptions{Method: http.MethodGet, Expiry: 10 * time.Minute})
	getUnimpl := isUnimplemented(err)
	switch {
	case getUnimpl:
		notes = append(notes, "GET: "+shortErr(err))
	case err != nil:
		p.Add("SignedURL GET %q: %s", getKey, errText(err))
	default:
		status, body, err := do(http.MethodGet, getURL, nil)
		switch {
		case err != nil:
			p.Add("GET the signed URL for %q: %v", getKey, err)
		case status != http.StatusOK:
			p.Add("GET the signed URL for %q: HTTP %d: %s", getKey, status, truncate(string(body), 200))
		case !bytes.Equal(body, data):
			p.Add("GET the signed URL for %q: %s", getKey, diff(data, body))
		}
		// The signature must cover the key: the same URL pointed at another
		// object must be refused.
		if u, ok := retarget(getURL, "get.txt", "other.txt"); ok {
			status, body, err := do(http.MethodGet, u, nil)
			if err == nil && status/100 == 2 {
				p.Add("a signed GET URL for %q, edited to name %q, was accepted (HTTP %d, %d bytes): the signature does not cover the key", getKey, otherKey, status, len(body))
			}
		}
	}

	putKey := e.key("signed/put.txt")
	e.track(putKey)
	putData := []byte("uploaded through a signed PUT URL")
	putURL, err := e.b.SignedURL(e.ctx, putKey, &blob.SignedURLOptions{Method: http.MethodPut, Expiry: 10 * time.Minute})
	putUnimpl := isUnimplemented(err)
	switch {
	case putUnimpl:
		notes = append(notes, "PUT: "+shortErr(err))
	case err != nil:
		p.Add("SignedURL PUT %q: %s", putKey, errText(err))
	default:
		status, body, err := do(http.MethodPut, putURL, putData)
		switch {
		case err != nil:
			p.Add("PUT to the signed URL for %q: %v", putKey, err)
		case status/100 != 2:
			p.Add("PUT to the signed URL for %q: HTTP %d: %s", putKey, status, truncate(string(body), 200))
		default:
			if got, err := e.read(putKey); err != nil {
				p.Add("read %q after a signed PUT: %s", putKey, errText(err))
			} else if d := diff(putData, got); d != "" {
				p.Add("read %q after a signed PUT: %s", putKey, d)
			}
		}
	}
	switch {
	case !p.Empty():
		if len(notes) > 0 {
			p.Add("(%s)", strings.Join(notes, "; "))
		}
		return p.Fail(maxEvidence)
	case getUnimpl && putUnimpl:
		return verdict.Unsupported("SignedURL is not implemented: %s", strings.Join(notes, "; "))
	case getUnimpl || putUnimpl:
		works := "PUT"
		if putUnimpl {
			works = "GET"
		}
		return verdict.Unsupported("only signed %s URLs work; %s", works, strings.Join(notes, "; "))
	}
	return verdict.Pass("signed GET and PUT URLs work through a plain HTTP client")
}

// retarget replaces the last occurrence of from in the URL's path with to.
func retarget(rawURL, from, to string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	path := u.EscapedPath()
	i := strings.LastIndex(path, from)
	if i < 0 {
		return "", false
	}
	newPath := path[:i] + to + path[i+len(from):]
	p, err := url.PathUnescape(newPath)
	if err != nil {
		return "", false
	}
	u.Path, u.RawPath = p, newPath
	return u.String(), true
}

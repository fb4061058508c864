package blobtest

import (
	"bytes"
	"compress/gzip"
	"crypto/fips140"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"mime"
	"slices"
	"strings"

	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/conformance/internal/verdict"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

func checkMetadata(e *env) verdict.Outcome {
	k := e.key("metadata/object.txt")
	// Keys are written as given; the portable API lower-cases them (and
	// documents that it does), so "Mixed-Case" must come back as
	// "mixed-case" on every backend.
	written := map[string]string{
		"Mixed-Case":      "Value One",
		"lowercase":       "plain ascii",
		"unicode-value":   "Élection · 選挙 · выборы · انتخابات · 🗳️",
		"with_underscore": "a_b",
		"inner-spaces":    "two  spaces and\ttab",
		"punctuation":     `a=b; c,d "quoted" /slash\ %25 +plus`,
	}
	want := map[string]string{}
	for k, v := range written {
		want[strings.ToLower(k)] = v
	}
	if err := e.write(k, []byte("metadata"), &blob.WriterOptions{Metadata: written}); err != nil {
		return verdict.Fail("write %q with metadata: %s", k, errText(err))
	}
	a, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	a.Metadata = userMetadata(a.Metadata)
	var p verdict.Problems
	for _, mk := range slices.Sorted(maps.Keys(want)) {
		got, ok := a.Metadata[mk]
		switch {
		case !ok:
			p.Add("metadata %q missing (got keys %q)", mk, slices.Sorted(maps.Keys(a.Metadata)))
		case got != want[mk]:
			p.Add("metadata %q: got %q, want %q", mk, got, want[mk])
		}
	}
	for _, mk := range slices.Sorted(maps.Keys(a.Metadata)) {
		if _, ok := want[mk]; !ok {
			p.Add("unexpected metadata %q = %q", mk, a.Metadata[mk])
		}
	}
	// Overwriting replaces metadata; nothing of the old set may remain.
	if err := e.write(k, []byte("metadata 2"), &blob.WriterOptions{Metadata: map[string]string{"second": "2"}}); err != nil {
		p.Add("overwrite %q with new metadata: %s", k, errText(err))
	} else if a, err := e.b.Attributes(e.ctx, k); err != nil {
		p.Add("attributes of %q after overwrite: %s", k, errText(err))
	} else if md := userMetadata(a.Metadata); len(md) != 1 || md["second"] != "2" {
		p.Add("metadata after overwrite: got %q, want only second=2", md)
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass(`keys came back lower-cased by the portable API ("Mixed-Case" -> "mixed-case"); Unicode and punctuation values round-trip`)
}

// sameMediaType reports whether two Content-Type values mean the same thing
// (type, subtype and parameters, ignoring case and spacing).
func sameMediaType(a, b string) bool {
	ta, pa, errA := mime.ParseMediaType(a)
	tb, pb, errB := mime.ParseMediaType(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if ta != tb || len(pa) != len(pb) {
		return false
	}
	for k, v := range pa {
		if !strings.EqualFold(pb[k], v) {
			return false
		}
	}
	return true
}

func checkContentType(e *env) verdict.Outcome {
	var p verdict.Problems
	for i, c := range []struct {
		name, set, want string
		data            []byte
	}{
		{"csv", "text/csv; charset=utf-8", "text/csv; charset=utf-8", []byte("precinct,votes\n1,42\n")},
		{"vendor", "application/vnd.civicport.manifest+json", "application/vnd.civicport.manifest+json", []byte(`{"v":1}`)},
		{"binary", "application/octet-stream", "application/octet-stream", pattern(20).bytes(0, 600)},
		// No Content-Type given: the portable API sniffs one and the backend
		// must store what it was told.
		{"sniffed", "", "text/html; charset=utf-8", []byte("<!DOCTYPE html><html><body><p>results</p></body></html>")},
	} {
		k := e.key(fmt.Sprintf("content-type/%d-%s", i, c.name))
		if err := e.write(k, c.data, &blob.WriterOptions{ContentType: c.set}); err != nil {
			p.Add("write %q with Content-Type %q: %s", k, c.set, errText(err))
			continue
		}
		a, err := e.b.Attributes(e.ctx, k)
		if err != nil {
			p.Add("attributes of %q: %s", k, errText(err))
			continue
		}
		if !sameMediaType(a.ContentType, c.want) {
			p.Add("%s: Attributes.ContentType %q, want %q", c.name, a.ContentType, c.want)
		}
		r, err := e.b.NewReader(e.ctx, k, nil)
		if err != nil {
			p.Add("read %q: %s", k, errText(err))
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			p.Add("read %q: %s", k, errText(err))
		} else if d := diff(c.data, got); d != "" {
			p.Add("read %q: %s", k, d)
		}
		if !sameMediaType(r.ContentType(), c.want) {
			p.Add("%s: Reader.ContentType() %q, want %q", c.name, r.ContentType(), c.want)
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

func checkHTTPHeaders(e *env) verdict.Outcome {
	plain := bytes.Repeat([]byte("precinct 7: 1234 ballots\n"), 40)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	stored := gz.Bytes()

	k := e.key("http-headers/results.csv.gz")
	opts := &blob.WriterOptions{
		ContentType:        "text/csv",
		CacheControl:       "public, max-age=3600",
		ContentDisposition: `attachment; filename="results.csv"`,
		ContentEncoding:    "gzip",
		ContentLanguage:    "fr-CA",
	}
	if err := e.write(k, stored, opts); err != nil {
		return verdict.Fail("write %q with HTTP headers: %s", k, errText(err))
	}
	a, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	var p verdict.Problems
	for _, c := range []struct{ name, got, want string }{
		{"Cache-Control", a.CacheControl, opts.CacheControl},
		{"Content-Disposition", a.ContentDisposition, opts.ContentDisposition},
		{"Content-Encoding", a.ContentEncoding, opts.ContentEncoding},
		{"Content-Language", a.ContentLanguage, opts.ContentLanguage},
	} {
		if c.got != c.want {
			p.Add("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !sameMediaType(a.ContentType, opts.ContentType) {
		p.Add("Content-Type: got %q, want %q", a.ContentType, opts.ContentType)
	}
	// Reading must return the bytes as stored: a backend (or client) that
	// decompresses "Content-Encoding: gzip" on the way out would make a
	// copy to another provider store different bytes under the same
	// attributes.
	got, err := e.read(k)
	switch {
	case err != nil:
		p.Add("read %q: %s", k, errText(err))
	case bytes.Equal(got, plain):
		p.Add("read %q: got the decompressed content (%d bytes) instead of the stored gzip bytes (%d): the backend transcodes Content-Encoding on read", k, len(got), len(stored))
	default:
		if d := diff(stored, got); d != "" {
			p.Add("read %q: %s", k, d)
		}
	}
	if !p.Empty() {
		return p.Fail(maxEvidence)
	}
	return verdict.Pass("")
}

func checkMD5(e *env) verdict.Outcome {
	if fips140.Enforced() {
		// The check computes MD5s to compare with the backend's; only
		// mode forbids MD5 even for that.
		return verdict.Skipped("GODEBUG=fips140=only forbids MD5, which this check computes to test the backend's Attributes.MD5")
	}
	var p verdict.Problems
	data := pattern(30).bytes(0, 20<<10)
	sum := md5.Sum(data)
	k := e.key("md5/object.bin")
	// WriteAll sends the MD5 of data as ContentMD5.
	if err := e.write(k, data, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return verdict.Fail("write %q: %s", k, errText(err))
	}
	a, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	reported := a.MD5 != nil
	if reported && !bytes.Equal(a.MD5, sum[:]) {
		p.Add("Attributes.MD5 of %q: got %x, want %x", k, a.MD5, sum)
	}
	if objs, err := e.listAll(e.key("md5/object")); err == nil {
		for _, o := range objs {
			if o.Key == k && o.MD5 != nil && !bytes.Equal(o.MD5, sum[:]) {
				p.Add("ListObject.MD5 of %q: got %x, want %x", k, o.MD5, sum)
			}
		}
	}

	// A write whose ContentMD5 does not match what is written must be
	// refused and must leave nothing behind: not a new object, and not a
	// changed one. The data is larger than the sniffing buffer and typed,
	// so it really reaches the driver before Close.
	wrong := md5.Sum([]byte("not the data"))
	bad := pattern(31).bytes(0, 8<<10)
	badWrite := func(key string) error {
		e.track(key)
		w, err := e.b.NewWriter(e.ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", ContentMD5: wrong[:]})
		if err != nil {
			return err
		}
		_, werr := w.Write(bad)
		cerr := w.Close()
		if werr != nil {
			return werr
		}
		return cerr
	}
	newKey := e.key("md5/wrong-md5-new")
	if err := badWrite(newKey); err == nil {
		p.Add("write of %q with a wrong ContentMD5 succeeded, want it refused", newKey)
	}
	if ok, err := e.b.Exists(e.ctx, newKey); err != nil {
		p.Add("exists %q: %s", newKey, errText(err))
	} else if ok {
		p.Add("an object %q was created by a write refused for a wrong ContentMD5", newKey)
	}
	if err := badWrite(k); err == nil {
		p.Add("overwrite of %q with a wrong ContentMD5 succeeded, want it refused", k)
	}
	if got, err := e.read(k); err != nil {
		p.Add("read %q after a refused overwrite: %s", k, errText(err))
	} else if d := diff(data, got); d != "" {
		p.Add("%q changed by an overwrite refused for a wrong ContentMD5: %s", k, d)
	}

	switch {
	case !p.Empty():
		return p.Fail(maxEvidence)
	case !reported:
		return verdict.Unsupported("the backend reports no MD5 (Attributes.MD5 is nil) for a %d-byte single-part object; writes with a wrong ContentMD5 are refused", len(data))
	}
	return verdict.Pass("")
}

func checkLargeObject(e *env) verdict.Outcome {
	size := e.o.LargeObjectSize
	k := e.key("large/object.bin")
	p := pattern(40)

	// Write: stream the generated object, hashing it on the way.
	e.track(k)
	h := sha256.New()
	w, err := e.b.NewWriter(e.ctx, k, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return verdict.Fail("NewWriter %q: %s", k, errText(err))
	}
	n, werr := io.Copy(w, io.TeeReader(p.reader(size), h))
	cerr := w.Close()
	switch {
	case werr != nil:
		return verdict.Fail("write %q: after %d of %d bytes: %s", k, n, size, errText(werr))
	case cerr != nil:
		return verdict.Fail("write %q (%d bytes): Close: %s", k, size, errText(cerr))
	}
	wantSHA := h.Sum(nil)

	a, err := e.b.Attributes(e.ctx, k)
	if err != nil {
		return verdict.Fail("attributes of %q: %s", k, errText(err))
	}
	if a.Size != size {
		return verdict.Fail("attributes of %q: size %d, want %d", k, a.Size, size)
	}

	// Read: stream it back, hashing and comparing with the generator.
	r, err := e.b.NewReader(e.ctx, k, nil)
	if err != nil {
		return verdict.Fail("read %q: %s", k, errText(err))
	}
	v := newVerifier(p, 0)
	_, rerr := io.Copy(v, r)
	r.Close()
	if rerr != nil {
		return verdict.Fail("read %q: after %d of %d bytes: %s", k, v.n, size, errText(rerr))
	}
	if prob := v.problem(size, wantSHA); prob != "" {
		return verdict.Fail("read %q (%d bytes written, sha256 %x): %s", k, size, wantSHA, prob)
	}

	// Ranges of a multipart object: the tail, and one across the 5 MiB
	// part boundary S3 clients use by default.
	var probs verdict.Problems
	for _, c := range []struct{ off, length int64 }{
		{max(0, size-1<<20), -1},
		{max(0, min(size, 5<<20)-100), 200},
	} {
		want := min(size-c.off, c.length)
		if c.length < 0 {
			want = size - c.off
		}
		r, err := e.b.NewRangeReader(e.ctx, k, c.off, c.length, nil)
		if err != nil {
			probs.Add("range (offset %d, length %d) of %q: %s", c.off, c.length, k, errText(err))
			continue
		}
		v := newVerifier(p, c.off)
		_, err = io.Copy(v, r)
		r.Close()
		if err != nil {
			probs.Add("range (offset %d, length %d) of %q: %s", c.off, c.length, k, errText(err))
		} else if prob := v.problem(want, nil); prob != "" {
			probs.Add("range (offset %d, length %d) of %q: %s", c.off, c.length, k, prob)
		}
	}
	if !probs.Empty() {
		return probs.Fail(maxEvidence)
	}
	return verdict.Pass("%d bytes streamed up and down, sha256 %x", size, wantSHA)
}

// isUnimplemented reports whether err says the backend does not implement
// the operation.
func isUnimplemented(err error) bool { return gcerrors.Code(err) == gcerrors.Unimplemented }

// userMetadata returns md without the integrity record civicport's own
// decorators keep beside user metadata ("civicport-sha256", written by
// mirrors and migrations): it is not the user's and not a difference.
func userMetadata(md map[string]string) map[string]string {
	if _, ok := md[digest.MetadataKey]; !ok {
		return md
	}
	out := maps.Clone(md)
	delete(out, digest.MetadataKey)
	return out
}

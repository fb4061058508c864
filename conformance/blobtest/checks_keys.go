package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/civicport/civicport/blob/keyrefusal"
	"github.com/civicport/civicport/conformance/internal/verdict"
	"golang.org/x/text/unicode/norm"

	"gocloud.dev/blob"
)

// unicodeKeys are key names (under the check's prefix) in several scripts.
// The "norm/" keys are the same names in different Unicode normal forms:
// they are distinct byte strings, so distinct keys, and must stay distinct
// objects (a backend that normalises keys merges them).
var unicodeKeys = []string{
	"latin/élection-résultats.csv",
	"cyrillic/выборы-бюллетень.txt",
	"greek/εκλογές.txt",
	"cjk/選挙-投票用紙.txt",
	"korean/선거-결과.txt",
	"arabic/الانتخابات.txt",
	"hebrew/בחירות.txt",
	"devanagari/चुनाव-परिणाम.txt",
	"thai/การเลือกตั้ง.txt",
	"emoji/🗳️-ballot-✅.txt",
	"emoji/👩‍👩‍👧-zwj-family.txt",
	"emoji/🇺🇸-flag.txt",
	"math/𝔘𝔫𝔦𝔠𝔬𝔡𝔢-astral.txt",
	"norm/caf\u00e9.txt",        // NFC
	"norm/cafe\u0301.txt",       // NFD spelling of the same name
	"norm/\u00c5ngstr\u00f6m",   // NFC
	"norm/A\u030angstro\u0308m", // NFD
	"norm/\u212bngstr\u00f6m",   // ANGSTROM SIGN, which NFC maps to U+00C5
}

func checkUnicodeKeys(e *env) verdict.Outcome {
	return roundTripKeys(e, unicodeKeys, "unicode", func(name string) string {
		if !norm.NFC.IsNormalString(name) {
			return " (not NFC)"
		}
		return ""
	})
}

// specialKeys are key names (under the check's prefix) that some backends
// refuse or rewrite. The 1,000-byte key is added by checkSpecialKeys.
var specialKeys = []string{
	"with space.txt",
	"two  spaces",
	" leading-space",
	"trailing-space ",
	"plus+sign",
	"percent%20encoded",
	"percent%2Fslash",
	"100%",
	"double//slash",
	"trailing-slash/",
	"dotdot/../escape",
	"dotdot/..",
	"single/./dot",
	"single/dot", // the same path once "./" is cleaned away
	"..",
	"nested",       // an object ...
	"nested/child", // ... and an object "inside" it
	"query?x=1&y=2",
	"hash#fragment",
	"semi;colon,comma",
	"colon:at@equals=",
	"tilde~star*caret^",
	"quotes'\"`",
	"brackets[]{}()<>",
	"pipe|backslash\\dollar$bang!",
	"tab\tkey",
	"newline\nkey",
	"sidecar.attrs", // the suffix fileblob uses for its attribute files
}

func checkSpecialKeys(e *env) verdict.Outcome {
	names := slices.Clone(specialKeys)
	// A key of exactly 1,000 bytes in all (S3 and GCS allow 1,024), made of
	// 100-byte path segments, and a key with one 300-byte segment (file
	// systems, and servers storing objects as files, allow 255).
	// The server's length counts every prefix: the check's own and the
	// caller's (Options.KeyPrefixLen).
	full := func(name string) int { return e.o.KeyPrefixLen + len(e.key(name)) }
	long := "long/"
	for full(long)+100 < 1000-len(".txt") {
		long += strings.Repeat("k", 99) + "/"
	}
	long += strings.Repeat("k", max(1, 1000-full(long)-len(".txt"))) + ".txt"
	segment := "segment/" + strings.Repeat("s", 300)
	names = append(names, long, segment)
	return roundTripKeys(e, names, "special", func(name string) string {
		switch name {
		case long:
			return fmt.Sprintf(" (%d bytes with the prefixes)", full(name))
		case segment:
			return " (one 300-byte path segment)"
		}
		return ""
	})
}

// roundTripKeys writes an object per name, reads each back, lists them and
// deletes them, reporting every key that did not survive and how. A key the
// backend refuses at write time is a failure too (a migration to this
// backend would lose it), unless the refusal is one the backend documents:
// an error wrapping a *keyrefusal.Error that names the key (as the backend
// saw it, after any prefix of the Opener's bucket) and why the backend
// cannot hold it, as civicport's file:// bucket refuses a key with a
// 300-byte path segment. Such a refusal is named in the verdict's detail;
// it still fails the check if the key is then found in the bucket (a
// refusal leaves nothing behind). A key read back or listed under another
// name always fails.
func roundTripKeys(e *env, names []string, what string, label func(string) string) verdict.Outcome {
	var p verdict.Problems
	var documented []string
	content := func(i int) []byte { return []byte(fmt.Sprintf("%s key #%d: %q", what, i, names[i])) }
	ok := make([]bool, len(names))
	refused := make([]bool, len(names))
	for i, name := range names {
		k := e.key(name)
		if err := e.write(k, content(i), &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
			var r *keyrefusal.Error
			if errors.As(err, &r) && strings.HasSuffix(r.Key, k) {
				refused[i] = true
				documented = append(documented, fmt.Sprintf("%s%s: %s", showKey(name), label(name), truncateMiddle(e.relQuoted(r.Reason), 240)))
				continue
			}
			p.Add("%s%s: write refused: %s", showKey(name), label(name), shortErr(err))
			continue
		}
		ok[i] = true
	}
	// A documented refusal leaves nothing behind.
	for i, name := range names {
		if !refused[i] {
			continue
		}
		if exists, err := e.b.Exists(e.ctx, e.key(name)); err != nil || exists {
			p.Add("%s%s: refused as documented, but then Exists = %v, %v", showKey(name), label(name), exists, err)
		}
	}
	// Read after all writes, so that two keys that collapse into one
	// object (NFC/NFD, "a/./b" and "a/b") show up as wrong content.
	for i, name := range names {
		if !ok[i] {
			continue
		}
		k := e.key(name)
		got, err := e.read(k)
		if err != nil {
			p.Add("%s%s: written but read failed: %s", showKey(name), label(name), shortErr(err))
			ok[i] = false
			continue
		}
		if d := diff(content(i), got); d != "" {
			other := -1
			for j := range names {
				if j != i && bytes.Equal(got, content(j)) {
					other = j
				}
			}
			if other >= 0 {
				p.Add("%s%s: read back the content of %s (the backend treats them as one key)", showKey(name), label(name), showKey(names[other]))
			} else {
				p.Add("%s%s: read back %s", showKey(name), label(name), d)
			}
			ok[i] = false
			continue
		}
		if _, err := e.b.Attributes(e.ctx, k); err != nil {
			p.Add("%s%s: attributes: %s", showKey(name), label(name), shortErr(err))
			ok[i] = false
		}
	}
	// List: every key written must be listed byte-exactly.
	objs, err := e.listAll(e.base)
	if err != nil {
		p.Add("list %q: %s", e.base, shortErr(err))
	} else {
		listed := map[string]bool{}
		for _, o := range objs {
			listed[o.Key] = true
		}
		for i, name := range names {
			if refused[i] && listed[e.key(name)] {
				p.Add("%s%s: refused as documented, but listed", showKey(name), label(name))
			}
			if !ok[i] || listed[e.key(name)] {
				continue
			}
			var near []string
			for _, o := range objs {
				r := e.rel(o.Key)
				if looseKey(r) == looseKey(name) {
					near = append(near, showKey(r))
				}
			}
			if len(near) > 0 {
				p.Add("%s%s: not listed as written; listed as %s", showKey(name), label(name), strings.Join(near, ", "))
			} else {
				p.Add("%s%s: readable but not listed", showKey(name), label(name))
			}
		}
	}
	// Delete: each key goes away.
	for i, name := range names {
		if !ok[i] {
			continue
		}
		k := e.key(name)
		if err := e.b.Delete(e.ctx, k); err != nil {
			p.Add("%s%s: delete: %s", showKey(name), label(name), shortErr(err))
			continue
		}
		if exists, err := e.b.Exists(e.ctx, k); err != nil || exists {
			p.Add("%s%s: after delete, Exists = %v, %v", showKey(name), label(name), exists, err)
		}
	}
	if !p.Empty() {
		out := p.Fail(maxEvidence)
		out.Detail = fmt.Sprintf("%d of %d keys did not round-trip: %s", countKeys(p), len(names), out.Detail)
		if len(documented) > 0 {
			out.Detail += fmt.Sprintf(" (and %d refused as the backend documents)", len(documented))
		}
		return out
	}
	if len(documented) > 0 {
		return verdict.Pass("%d keys round-tripped (write, read, list, delete); %d refused as the backend documents: %s",
			len(names)-len(documented), len(documented), strings.Join(documented, "; "))
	}
	return verdict.Pass("%d keys round-tripped (write, read, list, delete)", len(names))
}

// relQuoted shortens the quoted keys in a backend's message that lie under
// the check's prefix (and whatever prefix the Opener's bucket adds) to
// their names under it, as the rest of the evidence shows them.
func (e *env) relQuoted(msg string) string {
	re := regexp.MustCompile(`"(?:[^"\\]|\\.)*?` + regexp.QuoteMeta(e.base))
	return re.ReplaceAllString(msg, `"`)
}

// looseKey folds the ways backends are seen to rewrite keys (Unicode
// normalisation, path cleaning, trailing slashes), to name what a key was
// listed as.
func looseKey(k string) string {
	return strings.TrimRight(path.Clean("/"+norm.NFC.String(k)), "/")
}

// countKeys counts distinct key names (the quoted prefix) among problems.
func countKeys(p verdict.Problems) int {
	seen := map[string]bool{}
	for _, s := range p {
		if i := strings.Index(s, ": "); i > 0 {
			seen[s[:i]] = true
		}
	}
	return len(seen)
}

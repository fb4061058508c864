package blob

import (
	"context"
	"fmt"
	"net/url"
	"sort"

	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/memblob"   // mem://
	_ "gocloud.dev/blob/s3blob"    // s3://

	_ "github.com/civicport/civicport/adapters/minio"           // minio://
	_ "github.com/civicport/civicport/adapters/retention/gcs"   // blob/retention on gs://
	_ "github.com/civicport/civicport/adapters/retention/minio" // blob/retention on minio://
	_ "github.com/civicport/civicport/adapters/retention/s3"    // blob/retention on s3://
	"github.com/civicport/civicport/internal/openurl"
	"github.com/civicport/civicport/internal/redact"
)

// Schemes lists the URL schemes Open accepts, sorted.
func Schemes() []string {
	s := gcblob.DefaultURLMux().BucketSchemes()
	sort.Strings(s)
	return s
}

// Error is returned by Open and Ping. URL is redacted; Err is the cause, its
// message redacted too (errors.Is and errors.As reach the driver's error
// under it, whose own message is not).
type Error struct {
	URL string // redacted
	Op  string // "open" or "ping"
	Msg string // what went wrong, in words, credentials removed
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("%s bucket %s: %s", e.Op, e.URL, e.Msg) }
func (e *Error) Unwrap() error { return e.Err }

// Open opens the bucket at urlstr. See the package doc for the schemes.
func Open(ctx context.Context, urlstr string) (*gcblob.Bucket, error) {
	u, err := parse(urlstr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "s3" {
		u = s3Defaults(u)
	}
	b, err := gcblob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, &Error{URL: redact.URL(urlstr), Op: "open", Msg: redact.String(Describe(err, u.String()), urlstr), Err: redact.Err(err, urlstr)}
	}
	switch u.Scheme {
	case "s3":
		b = wrapS3(b)
	case "gs":
		b = wrapGCS(b, u)
	case "azblob":
		b = wrapAzure(b)
	case "file":
		b = wrapFile(b, u)
	}
	return b, nil
}

// parse checks urlstr is a URL with a registered scheme.
func parse(urlstr string) (*url.URL, error) {
	u, msg, cause := openurl.Parse(urlstr, "SCHEME://BUCKET", "", Schemes(), gcblob.DefaultURLMux().ValidBucketScheme)
	if msg != "" {
		return nil, &Error{URL: redact.URL(urlstr), Op: "open", Msg: msg, Err: redact.Err(cause, urlstr)}
	}
	return u, nil
}

// s3Defaults sets on-prem friendly checksum behaviour for s3:// URLs that
// name an endpoint (see the package doc).
func s3Defaults(u *url.URL) *url.URL {
	q := u.Query()
	if q.Get("endpoint") == "" {
		return u
	}
	changed := false
	for _, k := range []string{"request_checksum_calculation", "response_checksum_validation"} {
		if !q.Has(k) {
			q.Set(k, "when_required")
			changed = true
		}
	}
	if changed {
		c := *u
		c.RawQuery = q.Encode()
		return &c
	}
	return u
}

// Ping checks that b exists and that the credentials in use may list it. It
// returns nil or an *Error whose message says which of the common failures
// happened: the bucket does not exist, access was denied, or the server could
// not be reached. urlstr is used only in the message (redacted).
func Ping(ctx context.Context, b *gcblob.Bucket, urlstr string) error {
	var err error
	if p := (pinger)(nil); b.As(&p) {
		err = p.ping(ctx)
	} else {
		_, _, err = b.ListPage(ctx, gcblob.FirstPageToken, 1, nil)
	}
	if err == nil {
		return nil
	}
	return &Error{URL: redact.URL(urlstr), Op: "ping", Msg: Describe(err, urlstr), Err: redact.Err(err, urlstr)}
}

// pinger is a bucket that checks it can be listed more cheaply than by
// listing a page of one object (file://).
type pinger interface {
	ping(ctx context.Context) error
}

// Describe says in words what kind of failure err is (missing bucket or key,
// access denied, unreachable server, ...) followed by the backend's message,
// with credentials from urlstr removed.
func Describe(err error, urlstr string) string {
	return openurl.Describe(err, urlstr, "not found (does the bucket exist?)")
}

// Redact returns urlstr with credentials removed, for printing.
func Redact(urlstr string) string { return redact.URL(urlstr) }

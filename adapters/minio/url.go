package minio

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"gocloud.dev/blob"
)

// Scheme is the URL scheme this package registers its URLOpener under on
// blob.DefaultURLMux.
const Scheme = "minio"

func init() {
	blob.DefaultURLMux().RegisterBucket(Scheme, &URLOpener{})
}

// URLOpener opens URLs of the form
//
//	minio://host[:port]/bucket[?secure=false][&region=us-east-1]
//
// Query parameters:
//   - secure: "true" (the default) for HTTPS, "false" for plain HTTP.
//   - region: the bucket's region; when empty, minio-go asks the server once.
//   - stream: "true" (the default) streams writes of a declared size up to
//     Options.StreamLimit as one PUT with a trailing checksum; "false" sends
//     them as multipart uploads (StreamLimit -1), for servers that refuse
//     trailing checksums.
//
// The gocloud mux also accepts "prefix" (see blob.PrefixedBucket) and "key"
// (blob.SingleKeyBucket). Any other parameter is an error.
//
// Credentials come only from the environment, never from the URL:
// MINIO_ACCESS_KEY and MINIO_SECRET_KEY, or, when neither is set,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN.
type URLOpener struct {
	// Options specifies the options to pass to OpenBucket.
	Options Options
}

var urlParams = []string{"region", "secure", "stream"}

// OpenBucketURL opens the bucket named by u.
func (o *URLOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	host, bucketName, mopts, stream, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	opts := o.Options
	if !stream {
		opts.StreamLimit = -1
	}
	mopts.Creds, err = envCredentials()
	if err != nil {
		return nil, err
	}
	client, err := minio.New(host, mopts)
	if err != nil {
		return nil, fmt.Errorf("minio: open %s: %w", u.Redacted(), err)
	}
	return OpenBucket(ctx, client, bucketName, &opts)
}

// parseURL checks u and returns the server address, the bucket name and the
// client options it asks for (without credentials), and whether writes may
// stream (the "stream" parameter).
func parseURL(u *url.URL) (host, bucketName string, _ *minio.Options, stream bool, _ error) {
	want := fmt.Sprintf("want %s://host:port/bucket", Scheme)
	if u.User != nil {
		return "", "", nil, false, fmt.Errorf("minio: URL %s carries credentials; remove them and set MINIO_ACCESS_KEY and MINIO_SECRET_KEY instead", u.Redacted())
	}
	if u.Host == "" {
		return "", "", nil, false, fmt.Errorf("minio: URL %s names no server; %s", u.Redacted(), want)
	}
	bucketName = strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/")
	if bucketName == "" {
		return "", "", nil, false, fmt.Errorf("minio: URL %s names no bucket; %s", u.Redacted(), want)
	}
	if strings.Contains(bucketName, "/") {
		return "", "", nil, false, fmt.Errorf("minio: URL %s: path %q is not a bucket name; %s (use ?prefix= for a key prefix)", u.Redacted(), u.Path, want)
	}

	q := u.Query()
	var unknown []string
	for k := range q {
		if !slices.Contains(urlParams, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return "", "", nil, false, fmt.Errorf("minio: URL %s: unknown query parameter %s; allowed: %s (and the gocloud parameters prefix, key)",
			u.Redacted(), strings.Join(unknown, ", "), strings.Join(urlParams, ", "))
	}
	opts := &minio.Options{Region: q.Get("region")}
	var err error
	if opts.Secure, err = boolParam(u, q, "secure"); err != nil {
		return "", "", nil, false, err
	}
	if stream, err = boolParam(u, q, "stream"); err != nil {
		return "", "", nil, false, err
	}
	return u.Host, bucketName, opts, stream, nil
}

// boolParam is the value of the query parameter name (q is u's query):
// true when absent.
func boolParam(u *url.URL, q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return true, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("minio: URL %s: invalid value %q for query parameter %q; want true or false", u.Redacted(), s, name)
	}
	return v, nil
}

// envCredentials reads the credentials of the URL opener from the
// environment. Its errors name variables, never their values.
func envCredentials() (*credentials.Credentials, error) {
	for _, p := range []struct{ id, secret, token string }{
		{"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", ""},
		{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
	} {
		id, secret := os.Getenv(p.id), os.Getenv(p.secret)
		switch {
		case id == "" && secret == "":
			continue
		case id == "":
			return nil, fmt.Errorf("minio: %s is set but %s is not", p.secret, p.id)
		case secret == "":
			return nil, fmt.Errorf("minio: %s is set but %s is not", p.id, p.secret)
		}
		var token string
		if p.token != "" {
			token = os.Getenv(p.token)
		}
		return credentials.NewStaticV4(id, secret, token), nil
	}
	return nil, errors.New("minio: no credentials: set MINIO_ACCESS_KEY and MINIO_SECRET_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
}

package secrets

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	kms "cloud.google.com/go/kms/apiv1"
	gcsecrets "gocloud.dev/secrets"
	_ "gocloud.dev/secrets/awskms" // awskms://
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/gcpkms"         // gcpkms://
	_ "gocloud.dev/secrets/localsecrets" // base64key://
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	_ "github.com/civicport/civicport/adapters/pkcs11" // pkcs11://
	"github.com/civicport/civicport/internal/driveradapter"
	"github.com/civicport/civicport/internal/openurl"
	"github.com/civicport/civicport/internal/redact"
	"github.com/civicport/civicport/secrets/envelope"
	"github.com/civicport/civicport/secrets/ring"
)

// RingScheme is the scheme of ring URLs:
//
//	ring://?keeper=URL1&keeper=URL2...
//
// each keeper= value a URL-escaped keeper URL of any scheme Open accepts.
// The members' ids (stored in clear in every ring ciphertext) are their URLs
// as RedactURL prints them; a member opened later under a URL written
// differently still decrypts (see ring.New).
const RingScheme = "ring"

func init() { gcsecrets.DefaultURLMux().RegisterKeeper(RingScheme, ringOpener{}) }

// Schemes lists the URL schemes Open accepts, sorted.
func Schemes() []string {
	s := gcsecrets.DefaultURLMux().KeeperSchemes()
	slices.Sort(s)
	return s
}

// OpenError is returned by Open. URL is redacted; Err is the cause, its
// message redacted too (errors.Is and errors.As reach the driver's error
// under it, whose own message is not).
type OpenError struct {
	URL string // redacted (see RedactURL)
	Msg string // what went wrong, credentials removed
	Err error
}

func (e *OpenError) Error() string { return fmt.Sprintf("open keeper %s: %s", e.URL, e.Msg) }
func (e *OpenError) Unwrap() error { return e.Err }

// Open opens the keeper at urlstr. Schemes:
//
//   - base64key://KEY (gocloud localsecrets: a base64 URL-safe 32-byte key;
//     base64key:// alone is a random key);
//   - awskms://KEYID?region=R (gocloud awskms; key id, ARN or alias/NAME).
//     With endpoint= naming a non-AWS server (local-kms, a KMS-compatible
//     HSM gateway) and no region in the URL or environment, the region
//     defaults to us-east-1, since such servers ignore it but the SDK requires
//     one. Credentials come from the environment as usual;
//   - gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K (gocloud gcpkms).
//     civicport adds endpoint=HOST:PORT for a KMS-compatible gRPC server:
//     on a loopback address it is dialled in plaintext without credentials
//     (the in-repo test fake, internal/testing/gcpkmsfake), elsewhere with TLS and
//     the default Google credentials;
//   - pkcs11://TOKEN/KEY?module=LIB (civicport/adapters/pkcs11; PIN from
//     $PKCS11_PIN or pin_file=, never the URL);
//   - ring://?keeper=URL1&keeper=URL2 (a Ring over the members, see ring.New
//     and RingScheme).
//
// A bad, unknown or malformed URL gives an *OpenError naming the URL with
// credentials removed and listing the schemes.
func Open(ctx context.Context, urlstr string) (*gcsecrets.Keeper, error) {
	u, err := parseKeeperURL(urlstr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "awskms" {
		u = awsDefaults(u)
	}
	var k *gcsecrets.Keeper
	if u.Scheme == "gcpkms" && u.Query().Has("endpoint") {
		k, err = openGCPKMSEndpoint(ctx, u)
	} else {
		k, err = gcsecrets.OpenKeeper(ctx, u.String())
	}
	if err != nil {
		msg := RedactMessage(err.Error(), urlstr)
		return nil, &OpenError{URL: RedactURL(urlstr), Msg: msg, Err: redact.ErrMessage(err, msg)}
	}
	return k, nil
}

func parseKeeperURL(urlstr string) (*url.URL, error) {
	u, msg, cause := openurl.Parse(urlstr, "SCHEME://...", "", Schemes(), gcsecrets.DefaultURLMux().ValidKeeperScheme)
	if msg != "" {
		return nil, &OpenError{URL: RedactURL(urlstr), Msg: msg, Err: redact.ErrMessage(cause, RedactMessage(fmt.Sprint(cause), urlstr))}
	}
	return u, nil
}

// awsDefaults sets region=us-east-1 on awskms URLs whose endpoint is not
// AWS's and that name no region, when the environment names none either.
func awsDefaults(u *url.URL) *url.URL {
	q := u.Query()
	ep := q.Get("endpoint")
	if ep == "" || q.Has("region") || os.Getenv("AWS_REGION") != "" || os.Getenv("AWS_DEFAULT_REGION") != "" {
		return u
	}
	if e, err := url.Parse(ep); err == nil && (strings.HasSuffix(e.Hostname(), ".amazonaws.com") || strings.HasSuffix(e.Hostname(), ".amazonaws.com.cn")) {
		return u
	}
	q.Set("region", "us-east-1")
	c := *u
	c.RawQuery = q.Encode()
	return &c
}

// RedactURL returns a keeper URL fit to print or store: credentials removed
// as internal/redact does, the key of a base64key:// URL replaced by a short
// SHA-256 fingerprint ("base64key://sha256:0123abcd..."), and ring members
// redacted the same way.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redact.URL(s)
	}
	switch u.Scheme {
	case "base64key":
		sum := sha256.Sum256([]byte(u.Host + u.Path))
		return "base64key://sha256:" + hex.EncodeToString(sum[:8])
	case RingScheme:
		q := u.Query()
		members := q["keeper"]
		for i, m := range members {
			members[i] = RedactURL(m)
		}
		for k := range q {
			if k != "keeper" {
				q[k] = []string{redact.Mask}
			}
		}
		return RingScheme + "://?" + q.Encode()
	}
	return redact.URL(s)
}

// RedactMessage removes from msg (an error message, a report detail)
// every credential and key in the keeper URL urlstr, and in a ring's
// members: the URL itself becomes its RedactURL form, a base64key:// key is
// masked as written and %-escaped (as a URL nested in another carries it).
func RedactMessage(msg, urlstr string) string {
	if urlstr == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, urlstr, RedactURL(urlstr))
	msg = redact.String(msg, urlstr)
	u, err := url.Parse(urlstr)
	if err != nil {
		return msg
	}
	switch u.Scheme {
	case "base64key":
		if key := u.Host + u.Path; len(key) >= 4 {
			for _, k := range []string{key, url.QueryEscape(key), url.PathEscape(key)} {
				msg = strings.ReplaceAll(msg, k, redact.Mask)
			}
		}
	case RingScheme:
		for _, m := range u.Query()["keeper"] {
			msg = strings.ReplaceAll(msg, url.QueryEscape(m), url.QueryEscape(RedactURL(m)))
			msg = RedactMessage(msg, m)
		}
	}
	return msg
}

// ringOpener opens ring:// URLs; the ring owns (and closes) its members.
type ringOpener struct{}

func (ringOpener) OpenKeeperURL(ctx context.Context, u *url.URL) (*gcsecrets.Keeper, error) {
	q := u.Query()
	for k := range q {
		if k != "keeper" {
			return nil, fmt.Errorf("ring: unknown parameter %q; want ring://?keeper=URL1&keeper=URL2", k)
		}
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return nil, errors.New("ring: want ring://?keeper=URL1&keeper=URL2 (nothing between ring:// and ?)")
	}
	members := q["keeper"]
	if len(members) == 0 {
		return nil, errors.New("ring: no members; want ring://?keeper=URL1&keeper=URL2")
	}
	keks := make([]envelope.KEK, 0, len(members))
	closeAll := func() {
		for _, k := range keks {
			k.Keeper.Close()
		}
	}
	for i, m := range members {
		k, err := Open(ctx, m)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("ring member %d: %w", i+1, err)
		}
		keks = append(keks, envelope.KEK{ID: RedactURL(m), Keeper: k})
	}
	r, err := ring.New(keks, &ring.Options{CloseMembers: true})
	if err != nil {
		closeAll()
		return nil, err
	}
	return r, nil
}

// openGCPKMSEndpoint opens a gcpkms:// URL with endpoint= (see Open).
func openGCPKMSEndpoint(ctx context.Context, u *url.URL) (*gcsecrets.Keeper, error) {
	q := u.Query()
	var opts gcpkms.KeeperOptions
	for k, v := range q {
		switch k {
		case "endpoint":
		case "additional_authenticated_data":
			aad, err := base64.URLEncoding.DecodeString(v[0])
			if err != nil {
				return nil, fmt.Errorf("gcpkms: additional_authenticated_data is not base64 (URL alphabet): %w", err)
			}
			opts.AdditionalAuthenticatedData = aad
		default:
			return nil, fmt.Errorf("gcpkms: unknown parameter %q (known: endpoint, additional_authenticated_data)", k)
		}
	}
	ep := q.Get("endpoint")
	host, _, err := net.SplitHostPort(ep)
	if err != nil {
		return nil, fmt.Errorf("gcpkms: endpoint=%q is not HOST:PORT", ep)
	}
	var copts []option.ClientOption
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("gcpkms: dialling %s: %w", ep, err)
		}
		copts = append(copts, option.WithGRPCConn(conn))
	} else {
		copts = append(copts, option.WithEndpoint(ep))
	}
	client, err := kms.NewKeyManagementClient(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gcpkms: client for %s: %w", ep, err)
	}
	keyID := strings.TrimPrefix(path.Join(u.Host, u.Path), "/")
	return gcsecrets.NewKeeper(&closingKeeper{
		Keeper: driveradapter.Keeper(gcpkms.OpenKeeper(client, keyID, &opts)),
		close:  client.Close,
	}), nil
}

// closingKeeper also closes a client when the keeper is closed.
type closingKeeper struct {
	driver.Keeper
	close func() error
}

func (k *closingKeeper) Close() error { return errors.Join(k.Keeper.Close(), k.close()) }

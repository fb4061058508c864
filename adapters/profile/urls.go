package profile

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/civicport/civicport/adapters/pkcs11"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/secrets"
)

// URLs are the four URLs a profile opens (see blob.Open, secrets.Open,
// pubsub.OpenTopic and pubsub.OpenSubscription). They may hold secrets (the
// local profile's key): never print them; Describe prints them redacted.
type URLs struct {
	Bucket, Keeper, Topic, Subscription string
}

func (u URLs) redacted() URLs {
	return URLs{
		Bucket:       blob.Redact(u.Bucket),
		Keeper:       secrets.RedactURL(u.Keeper),
		Topic:        pubsub.Redact(u.Topic),
		Subscription: pubsub.Redact(u.Subscription),
	}
}

// Describe returns the validated configuration's profile and the URLs it
// opens, one per line, with credentials and keys redacted: fit to print or
// log. Nothing is contacted and no secret is read (the local key is shown
// as "base64key://sha256:..." only when it can be read).
func Describe(c Config) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var u URLs
	noKey := false
	switch c.Profile {
	case AWS:
		u = c.AWS.urls()
	case GCP:
		u = c.GCP.urls()
	case OnPrem:
		u = c.OnPrem.urls()
	case Local:
		var err error
		u, err = c.Local.urls()
		noKey = err != nil
	}
	r := u.redacted()
	if noKey {
		// Describe works before the key exists: say where it will come from.
		r.Keeper = "base64key://(" + c.Local.keySource() + ")"
	}
	return fmt.Sprintf("profile:      %s\nbucket:       %s\nkeeper:       %s\ntopic:        %s\nsubscription: %s\n",
		c.Profile, r.Bucket, r.Keeper, r.Topic, r.Subscription), nil
}

// URLs returns the URLs the validated configuration's profile opens, for
// tools that open them themselves (civicport rehearse --from-profile). The
// onprem profile's URL reads the HSM PIN from $PKCS11_PIN or pin_file only
// (pkcs11_pin_env is honoured by Open, not by a URL). The local profile's
// key is read, and is in the keeper URL.
func (c Config) URLs() (URLs, error) {
	if err := c.Validate(); err != nil {
		return URLs{}, err
	}
	switch c.Profile {
	case AWS:
		return c.AWS.urls(), nil
	case GCP:
		return c.GCP.urls(), nil
	case OnPrem:
		return c.OnPrem.urls(), nil
	}
	return c.Local.urls()
}

func withQuery(base string, q url.Values) string {
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// urls builds the aws profile's URLs (the config must be valid).
func (a AWSConfig) urls() URLs {
	common := func(endpoint string) url.Values {
		q := url.Values{"region": {a.Region}}
		if endpoint != "" {
			q.Set("endpoint", strings.TrimSuffix(endpoint, "/"))
		}
		if a.SharedConfigProfile != "" {
			q.Set("profile", a.SharedConfigProfile)
		}
		return q
	}
	bq := common(a.S3Endpoint)
	if a.S3Endpoint != "" {
		bq.Set("use_path_style", "true")
	}
	// gocloud's awssqs:// takes the queue URL without its scheme and adds
	// https:// back; with an endpoint, requests go to the endpoint anyway.
	qu, _ := url.Parse(a.QueueURL)
	sub := withQuery("awssqs://"+qu.Host+qu.Path, common(a.SQSEndpoint))
	topic := sub
	if a.SNSTopicARN != "" {
		topic = withQuery("awssns:///"+a.SNSTopicARN, common(a.SNSEndpoint))
	}
	return URLs{
		Bucket:       withQuery("s3://"+a.Bucket, bq),
		Keeper:       withQuery("awskms:///"+a.KMSKey, common(a.KMSEndpoint)), // ARNs hold ':', so the key goes in the path
		Topic:        topic,
		Subscription: sub,
	}
}

// gcpName returns name if it is a full resource name (starting with
// "projects/"), else the name under project, of the given kind
// ("topics", "subscriptions", or "" for a KMS key).
func gcpName(project, kind, name string) string {
	if strings.HasPrefix(name, "projects/") {
		return name
	}
	if kind == "" {
		return "projects/" + project + "/" + name
	}
	return "projects/" + project + "/" + kind + "/" + name
}

func (g GCPConfig) urls() URLs {
	kq := url.Values{}
	if g.KMSEndpoint != "" {
		kq.Set("endpoint", g.KMSEndpoint)
	}
	bucket := "gs://" + g.Bucket
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		// An emulator takes no credentials; without this gcsblob would look
		// for real ones.
		bucket += "?anonymous=true"
	}
	return URLs{
		Bucket:       bucket,
		Keeper:       withQuery("gcpkms://"+gcpName(g.Project, "", g.KMSKey), kq),
		Topic:        "gcppubsub://" + gcpName(g.Project, "topics", g.Topic),
		Subscription: "gcppubsub://" + gcpName(g.Project, "subscriptions", g.Subscription),
	}
}

func (o OnPremConfig) region() string {
	if o.Region == "" {
		return "us-east-1"
	}
	return o.Region
}

func (o OnPremConfig) urls() URLs {
	var u URLs
	ep, _ := url.Parse(o.S3Endpoint)
	if o.BlobDriver == "minio" {
		q := url.Values{"region": {o.region()}, "secure": {fmt.Sprint(ep.Scheme == "https")}}
		u.Bucket = withQuery("minio://"+ep.Host+"/"+o.Bucket, q)
	} else {
		q := url.Values{"endpoint": {ep.Scheme + "://" + ep.Host}, "use_path_style": {"true"}, "region": {o.region()}}
		u.Bucket = withQuery("s3://"+o.Bucket, q)
	}
	u.Keeper = o.keeperURL()
	switch o.Messaging {
	case "jetstream":
		tq, sq := url.Values{}, url.Values{}
		if o.JetStreamCreate {
			tq.Set("create", "true")
			sq.Set("create", "true")
			sq.Set("filter_subject", o.JetStreamSubject)
		}
		u.Topic = withQuery("jetstream://"+o.JetStreamStream+"/"+url.PathEscape(o.JetStreamSubject), tq)
		u.Subscription = withQuery("jetstream://"+o.JetStreamStream+"/"+url.PathEscape(o.JetStreamConsumer), sq)
	case "rabbit":
		u.Topic = "rabbit://" + o.RabbitExchange
		u.Subscription = "rabbit://" + o.RabbitQueue
	}
	return u
}

// pinFromURL reports whether the pkcs11:// URL itself can carry the PIN
// source: a pin_file, or the adapter's own $PKCS11_PIN.
func (o OnPremConfig) pinFromURL() bool {
	return o.PKCS11PINFile != "" || o.PKCS11PINEnv == "" || o.PKCS11PINEnv == pkcs11.EnvPIN
}

func (o OnPremConfig) keeperURL() string {
	q := url.Values{}
	if o.PKCS11Module != "" {
		q.Set("module", o.PKCS11Module)
	}
	if o.PKCS11PINFile != "" {
		q.Set("pin_file", o.PKCS11PINFile)
	}
	if o.PKCS11CreateKey {
		q.Set("create", "true")
	}
	return withQuery("pkcs11://"+o.PKCS11Token+"/"+url.PathEscape(o.PKCS11Key), q)
}

func (l LocalConfig) topic() string {
	if l.Topic == "" {
		return DefaultLocalTopic
	}
	return l.Topic
}

func (l LocalConfig) keyEnv() string {
	if l.KeyEnv == "" {
		return DefaultLocalKeyEnv
	}
	return l.KeyEnv
}

func (l LocalConfig) keySource() string {
	if l.KeyFile != "" {
		return "key_file " + l.KeyFile
	}
	return "$" + l.keyEnv()
}

// key reads the local key from KeyFile or the KeyEnv variable. Errors never
// contain the key.
func (l LocalConfig) key() ([]byte, error) {
	var raw, field, value string
	if l.KeyFile != "" {
		field, value = "key_file", l.KeyFile
		b, err := os.ReadFile(l.KeyFile)
		if err != nil {
			return nil, &FieldError{Profile: Local, Field: field, Value: value, Problem: "cannot read it: " + errText(err),
				Want: "a readable file holding a base64-encoded 32-byte key"}
		}
		raw = string(b)
	} else {
		field, value = "key_env", l.KeyEnv
		env := l.keyEnv()
		raw = os.Getenv(env)
		if raw == "" {
			return nil, &FieldError{Profile: Local, Field: field, Value: value, Problem: "$" + env + " is unset or empty",
				Want: "a base64-encoded 32-byte key in $" + env + " (e.g. from `openssl rand -base64 32`), or key_file"}
		}
	}
	raw = strings.TrimSpace(raw)
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(raw); err == nil {
			break
		}
	}
	if err != nil || len(key) != 32 {
		problem := "the key is not base64"
		if err == nil {
			problem = fmt.Sprintf("the key is %d bytes", len(key))
		}
		return nil, &FieldError{Profile: Local, Field: field, Value: value, Problem: problem,
			Want: "a base64-encoded 32-byte key (e.g. from `openssl rand -base64 32`)"}
	}
	return key, nil
}

// errText is err's message for a path error without repeating the path.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func (l LocalConfig) dirURL() (string, error) {
	abs, err := filepath.Abs(l.Dir)
	if err != nil {
		return "", &FieldError{Profile: Local, Field: "dir", Value: l.Dir, Problem: errText(err), Want: "a directory"}
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if l.CreateDir {
		u.RawQuery = "create_dir=true"
	}
	return u.String(), nil
}

// urls builds the local profile's URLs, reading the key.
func (l LocalConfig) urls() (URLs, error) {
	var u URLs
	var err error
	if u.Bucket, err = l.dirURL(); err != nil {
		return u, err
	}
	u.Topic = "mem://" + l.topic()
	u.Subscription = u.Topic
	key, err := l.key()
	if err != nil {
		return u, err
	}
	u.Keeper = "base64key://" + base64.URLEncoding.EncodeToString(key)
	return u, nil
}

// Command voter-rolls-archive is the nightly archive of a voter registration
// file, as an election office would run it from cron:
//
//  1. export the registration file (here: synthetic CSV, fake names);
//  2. seal it on the client under two key-encryption keys on two
//     providers (the profile's keeper and a second one), so that either key
//     alone can read it and the storage provider sees ciphertext only;
//  3. record every write in a tamper-evident audit log and sign a checkpoint;
//  4. write a manifest (key, size, SHA-256) and sign it;
//  5. retain the objects for the federal 22 months (52 U.S.C. 20701) where
//     the bucket can enforce retention, and say so plainly where it cannot;
//  6. verify all of it: the audit log, the manifest's signature, the bucket
//     against the manifest, the audit log against the manifest, and a read
//     with each key alone.
//
// The provider is a configuration choice: -profile FILE (and CIVICPORT_*
// variables) select aws, gcp, onprem or local (see adapters/profile). With
// neither, it runs on a local profile in -dir (default: a temporary directory),
// with no server at all. See README.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/blob/digest"
	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/examples/internal/exmain"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

func main() { exmain.Main("voter-rolls-archive", run) }

// Where things go in the bucket.
const (
	recordsPrefix  = "voter-rolls/"           // voter-rolls/DATE/registrations.csv (sealed)
	manifestPrefix = "manifests/voter-rolls/" // manifests/voter-rolls/DATE.jsonl and .jsonl.sig
	auditPrefix    = "audit/voter-rolls/"     // the audit log, unless -audit-log names another bucket
)

type options struct {
	profile, dir, secondKeeper, signKey, auditLog string
	date, election, mode                          string
	rows                                          int
	verifyOnly                                    bool
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	var o options
	fs := exmain.Flags("voter-rolls-archive", stdout, &o.profile)
	fs.StringVar(&o.dir, "dir", "", "working `DIR`: keys/ (and, without a profile, the local bucket in bucket/); default a temporary directory, removed at the end")
	fs.StringVar(&o.secondKeeper, "second-keeper", "", "`URL` of the second key-encryption key (awskms://, gcpkms://, pkcs11://, base64key://); default a local key in DIR/keys/offline.key")
	fs.StringVar(&o.signKey, "sign-key", "", "note private key `FILE` signing the audit checkpoints and the manifest (created, with FILE.pub, if missing); default DIR/keys/clerk.key")
	fs.StringVar(&o.auditLog, "audit-log", "", "bucket `URL` of the audit log (ideally at another provider); default the profile's bucket under "+auditPrefix)
	fs.StringVar(&o.date, "date", time.Now().UTC().Format(time.DateOnly), "export `DATE` (YYYY-MM-DD)")
	fs.StringVar(&o.election, "election", "2026-11-03", "`DATE` of the federal election the rolls serve; retention runs 22 months from it")
	fs.StringVar(&o.mode, "retention", "governance", "retention `MODE` where the bucket enforces it: governance, or compliance (nobody can shorten or remove it, nor delete the bucket, until the date)")
	fs.IntVar(&o.rows, "rows", 5000, "synthetic voters to export")
	fs.BoolVar(&o.verifyOnly, "verify-only", false, "do not export: verify the export of -date made earlier (same -dir, or -sign-key and -second-keeper)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", exmain.ErrUsage, fs.Arg(0))
	}
	if _, err := time.Parse(time.DateOnly, o.date); err != nil {
		return fmt.Errorf("%w: -date %q: want YYYY-MM-DD", exmain.ErrUsage, o.date)
	}
	electionDay, err := time.Parse(time.DateOnly, o.election)
	if err != nil {
		return fmt.Errorf("%w: -election %q: want YYYY-MM-DD", exmain.ErrUsage, o.election)
	}
	mode := retention.Mode(strings.ToUpper(o.mode))
	if mode != retention.Governance && mode != retention.Compliance {
		return fmt.Errorf("%w: -retention %q: want governance or compliance", exmain.ErrUsage, o.mode)
	}
	if o.rows < 1 {
		return fmt.Errorf("%w: -rows must be at least 1", exmain.ErrUsage)
	}

	if o.dir == "" {
		if o.verifyOnly {
			return fmt.Errorf("%w: -verify-only needs the -dir of the export (its keys)", exmain.ErrUsage)
		}
		if o.dir, err = os.MkdirTemp("", "voter-rolls-archive-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.dir)
		defer fmt.Fprintf(stdout, "(the temporary directory %s and its keys are removed now; pass -dir to keep them)\n", o.dir)
	}
	cfg, err := loadConfig(o.profile, o.dir)
	if err != nil {
		return err
	}
	urls, err := cfg.URLs() // to open further handles on the same bucket (decorators own what they wrap)
	if err != nil {
		return err
	}
	stack, closeStack, err := exmain.OpenStack(ctx, cfg, "voter-rolls-archive", stdout)
	if err != nil {
		return err
	}
	defer closeStack()

	k, err := loadKeys(ctx, o, stack, urls.Keeper)
	if err != nil {
		return err
	}
	defer k.close()

	openBucket := func() (*gcblob.Bucket, error) { return blob.Open(ctx, urls.Bucket) }
	var logBucket *gcblob.Bucket
	if o.auditLog != "" {
		logBucket, err = blob.Open(ctx, o.auditLog)
	} else {
		var b *gcblob.Bucket
		if b, err = openBucket(); err == nil {
			logBucket = gcblob.PrefixedBucket(b, auditPrefix)
		}
	}
	if err != nil {
		return fmt.Errorf("audit log bucket: %w", err)
	}
	defer logBucket.Close()

	a := &archive{o: o, out: stdout, stack: stack, keys: k, open: openBucket, logBucket: logBucket,
		bucketName: blob.Redact(urls.Bucket), mode: mode,
		until: retention.FederalElectionRetention(electionDay)}
	if !o.verifyOnly {
		if err := a.export(ctx); err != nil {
			return err
		}
	}
	return a.verify(ctx)
}

// loadConfig reads the profile from path and CIVICPORT_* variables; with
// neither it makes a local profile in dir (bucket/ and keys/county.key).
func loadConfig(path, dir string) (profile.Config, error) {
	if path != "" || os.Getenv(profile.EnvProfile) != "" {
		return profile.Load(path)
	}
	keyFile := filepath.Join(dir, "keys", "county.key")
	if _, err := readOrCreate(keyFile, newLocalKey); err != nil {
		return profile.Config{}, err
	}
	cfg := profile.Config{Profile: profile.Local, Local: profile.LocalConfig{
		Dir: filepath.Join(dir, "bucket"), CreateDir: true, KeyFile: keyFile,
		Topic: "voter-rolls-archive"}}
	return cfg, cfg.Validate()
}

// keys are the two key-encryption keys and the clerk's signing key.
type keys struct {
	county, offline envelope.KEK // the profile's keeper, the second keeper
	signer          note.Signer  // nil with -verify-only
	verifier        note.Verifier
	ownOffline      bool
}

func (k *keys) close() {
	if k.ownOffline && k.offline.Keeper != nil {
		k.offline.Keeper.Close()
	}
}

func loadKeys(ctx context.Context, o options, stack *profile.Stack, keeperURL string) (*keys, error) {
	k := &keys{county: envelope.KEK{ID: kekID(keeperURL), Keeper: stack.Keeper}}
	second := o.secondKeeper
	if second == "" {
		key, err := readOrCreate(filepath.Join(o.dir, "keys", "offline.key"), newLocalKey)
		if err != nil {
			return nil, err
		}
		second = "base64key://" + strings.TrimSpace(string(key))
	}
	keeper, err := secrets.Open(ctx, second)
	if err != nil {
		return nil, fmt.Errorf("second keeper: %w", err)
	}
	k.offline, k.ownOffline = envelope.KEK{ID: kekID(second), Keeper: keeper}, true
	if k.offline.ID == k.county.ID {
		k.close()
		return nil, fmt.Errorf("the second keeper is the profile's keeper (%s): the point is a key at another provider", k.county.ID)
	}

	signKey := o.signKey
	if signKey == "" {
		signKey = filepath.Join(o.dir, "keys", "clerk.key")
	}
	var vkey []byte
	if o.verifyOnly {
		vkey, err = os.ReadFile(signKey + ".pub")
	} else {
		var skey []byte
		skey, err = readOrCreate(signKey, func() ([]byte, error) {
			s, v, err := note.GenerateKey(rand.Reader, "voter-rolls-clerk")
			if err != nil {
				return nil, err
			}
			return []byte(s), os.WriteFile(signKey+".pub", []byte(v+"\n"), 0o644)
		})
		if err == nil {
			k.signer, err = note.NewSigner(strings.TrimSpace(string(skey)))
		}
		if err == nil {
			vkey, err = os.ReadFile(signKey + ".pub")
		}
	}
	if err == nil {
		k.verifier, err = note.NewVerifier(strings.TrimSpace(string(vkey)))
	}
	if err != nil {
		k.close()
		return nil, fmt.Errorf("clerk signing key %s: %w", signKey, err)
	}
	return k, nil
}

// kekID names a key-encryption key in the envelope headers. The id is
// stored in clear in every sealed object and is how a reader finds its
// wrapped data key, so it must be stable and hold no secret: the keeper URL
// redacted (a local key shows as a fingerprint) and without its query
// (endpoint=, create=, module= may change while the key stays the same).
func kekID(keeperURL string) string {
	id, _, _ := strings.Cut(secrets.RedactURL(keeperURL), "?")
	return id
}

// readOrCreate returns the file's content, creating it (mode 0600, and its
// directory) with create's bytes when it does not exist.
func readOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return data, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if data, err = create(); err != nil {
		return nil, err
	}
	return data, os.WriteFile(path, data, 0o600)
}

// newLocalKey is a random AES-256 key, base64 (URL alphabet): what the local
// profile's key_file and base64key:// URLs take.
func newLocalKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return []byte(base64.URLEncoding.EncodeToString(key) + "\n"), nil
}

type archive struct {
	o          options
	out        io.Writer
	stack      *profile.Stack
	keys       *keys
	open       func() (*gcblob.Bucket, error) // a new handle on the profile's bucket
	logBucket  *gcblob.Bucket
	bucketName string
	mode       retention.Mode
	until      time.Time
}

func (a *archive) recordKey() string   { return recordsPrefix + a.o.date + "/registrations.csv" }
func (a *archive) manifestKey() string { return manifestPrefix + a.o.date + ".jsonl" }
func (a *archive) sigKey() string      { return a.manifestKey() + ".sig" }

func (a *archive) printf(format string, args ...any) { fmt.Fprintf(a.out, format, args...) }

// export writes the sealed file, the manifest and its signature, all
// recorded in the audit log, signs a checkpoint and sets retention.
func (a *archive) export(ctx context.Context) error {
	key := a.recordKey()
	if ok, err := a.stack.Bucket.Exists(ctx, key); err != nil {
		return errors.New(blob.Describe(err, a.bucketName))
	} else if ok {
		return fmt.Errorf("%s is already archived; run with -verify-only to check it", key)
	}
	log, err := audit.Open(ctx, a.logBucket, a.keys.signer, &audit.Options{Actor: "voter-rolls-archive"})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	before := log.Size()

	data, voters := syntheticRolls(a.o.date, a.o.rows)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])

	// audit(seal(bucket)): the provider stores ciphertext; the log records
	// the SHA-256 of the plaintext, like the manifest.
	inner, err := a.open()
	if err != nil {
		return err
	}
	s, err := seal.Wrap(inner, []envelope.KEK{a.keys.county, a.keys.offline}, nil)
	if err != nil {
		inner.Close()
		return err
	}
	sealed := audit.Wrap(s, log, a.bucketName)
	defer sealed.Close()
	err = sealed.WriteAll(ctx, key, data, &gcblob.WriterOptions{
		ContentType: "text/csv",
		Metadata:    map[string]string{digest.MetadataKey: sha, "voters": strconv.Itoa(voters)},
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	attrs, err := sealed.Attributes(ctx, key)
	if err != nil {
		return err
	}
	a.printf("export      %s: %d voters, %d bytes, sha256 %s\n", key, voters, len(data), sha[:16])
	a.printf("sealed      under 2 keys, either one reads it: %s (profile), %s (second)\n", a.keys.county.ID, a.keys.offline.ID)

	// The manifest: what the archive is, signed by the clerk.
	line, err := json.Marshal(migrate.Entry{Key: key, Size: int64(len(data)), SHA256: sha,
		ContentType: attrs.ContentType, Metadata: attrs.Metadata})
	if err != nil {
		return err
	}
	manifest := append(line, '\n')
	sig, err := migrate.SignManifest(manifest, a.keys.signer)
	if err != nil {
		return err
	}
	plainInner, err := a.open()
	if err != nil {
		return err
	}
	plain := audit.Wrap(plainInner, log, a.bucketName)
	defer plain.Close()
	for _, w := range []struct {
		key, ct string
		data    []byte
	}{{a.manifestKey(), "application/jsonl", manifest}, {a.sigKey(), "text/plain; charset=utf-8", sig}} {
		if err := plain.WriteAll(ctx, w.key, w.data, &gcblob.WriterOptions{ContentType: w.ct}); err != nil {
			return fmt.Errorf("write %s: %w", w.key, err)
		}
	}
	a.printf("manifest    %s (1 object), signature %s\n", a.manifestKey(), a.sigKey())

	cp, err := log.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("sign the audit checkpoint: %w", err)
	}
	n, err := note.Open(cp, note.VerifierList(a.keys.verifier))
	if err != nil {
		return err
	}
	c, err := audit.ParseCheckpoint(n.Text)
	if err != nil {
		return err
	}
	a.printf("audit       %d entries recorded (an intent and a record per write); checkpoint signed at tree size %d (%s)\n", log.Size()-before, c.N, c.Origin)

	// Retention: enforced by the storage, or reported as not enforced.
	if err := retention.Supported(ctx, a.stack.Bucket); err != nil {
		a.printf("retention   NOT ENFORCED by this bucket: %v\n", err)
		a.printf("            keep the archive on storage with object lock (S3) or object retention (GCS)\n")
		return nil
	}
	if !a.until.After(time.Now()) {
		return fmt.Errorf("the federal retention period of the %s election ended on %s", a.o.election, a.until.Format(time.DateOnly))
	}
	for _, k := range []string{key, a.manifestKey(), a.sigKey()} {
		if err := retention.Set(ctx, a.stack.Bucket, k, retention.Retention{Mode: a.mode, Until: a.until}); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	a.printf("retention   3 objects retained (%s) until %s: 22 months after the %s election (52 U.S.C. 20701)\n",
		strings.ToLower(string(a.mode)), a.until.Format(time.DateOnly), a.o.election)
	return nil
}

// check is one line of the verification report.
type check struct {
	name string
	err  error
	ok   string // what was checked, when err is nil
	warn bool   // nothing to check: say so, but do not fail
}

// verify checks the export of a.o.date against everything that vouches for
// it and prints one line per check. It fails if any check fails.
func (a *archive) verify(ctx context.Context) error {
	var checks []check
	add := func(name, ok string, err error) { checks = append(checks, check{name: name, ok: ok, err: err}) }

	// 1. The audit log hangs together and is signed by the clerk.
	rep, err := audit.Verify(ctx, a.logBucket, a.keys.verifier, nil)
	switch {
	case err != nil:
		add("audit log", "", err)
	case !rep.OK():
		add("audit log", "", fmt.Errorf("%d problems, first bad entry %d: %v", len(rep.Problems), rep.FirstBad, rep.Problems[0]))
	case rep.Unsigned() > 0:
		add("audit log", "", fmt.Errorf("%d entries after the last signed checkpoint", rep.Unsigned()))
	default:
		add("audit log", fmt.Sprintf("%d entries, all under a checkpoint signed by %s", rep.Entries, rep.Origin), nil)
	}

	// 2. The manifest is the one the clerk signed.
	var entries []migrate.Entry
	manifest, err := a.stack.Bucket.ReadAll(ctx, a.manifestKey())
	var sig []byte
	if err == nil {
		sig, err = a.stack.Bucket.ReadAll(ctx, a.sigKey())
	}
	if err == nil {
		err = migrate.CheckManifestSignature(manifest, sig, a.keys.verifier)
	}
	if err == nil {
		entries, err = migrate.ReadManifest(bytes.NewReader(manifest))
	}
	add("manifest signature", "signed by "+a.keys.verifier.Name(), err)

	// 3. The audit log's last write of each object has the manifest's
	// SHA-256 (and the manifest is the one the log saw written).
	if rep != nil && rep.OK() && entries != nil {
		last, err := lastWrites(ctx, a.logBucket, rep.Entries)
		want := map[string]string{a.manifestKey(): sha256hex(manifest)}
		for _, e := range entries {
			want[e.Key] = e.SHA256
		}
		for k, sha := range want {
			if err != nil {
				break
			}
			if got, ok := last[k]; !ok {
				err = fmt.Errorf("%s: no write in the audit log", k)
			} else if got != sha {
				err = fmt.Errorf("%s: the log's last write has sha256 %.16s, the manifest %.16s", k, got, sha)
			}
		}
		add("audit log vs manifest", fmt.Sprintf("the last logged write of each of %d objects has the recorded sha256", len(want)), err)
	}

	// 4. The bucket holds what the manifest says: re-read and hashed
	// through Seal (so every chunk is authenticated too).
	if entries != nil {
		inner, err := a.open()
		if err != nil {
			return err
		}
		both, err := seal.Wrap(inner, []envelope.KEK{a.keys.county, a.keys.offline}, nil)
		if err != nil {
			inner.Close()
			return err
		}
		vr, err := migrate.VerifyManifest(ctx, both, entries, &migrate.VerifyOptions{Prefix: recordsPrefix + a.o.date + "/"})
		both.Close()
		if err == nil && !vr.OK() {
			var ps []string
			for _, p := range vr.Problems {
				ps = append(ps, fmt.Sprintf("%s: %s: %s", p.Key, p.Kind, p.Detail))
			}
			err = errors.New(strings.Join(ps, "; "))
		}
		ok := ""
		if vr != nil {
			ok = fmt.Sprintf("%d object(s), %d bytes re-read, decrypted and hashed", vr.Verified, vr.VerifiedBytes)
		}
		add("bucket vs manifest", ok, err)
	}

	// 5. Each key alone reads the file.
	if entries != nil {
		ids, err := kekIDs(ctx, a.stack.Bucket, a.recordKey())
		add("wrapped keys", fmt.Sprintf("the data key is wrapped under %d keys: %s", len(ids), strings.Join(ids, ", ")), err)
		for _, kek := range []envelope.KEK{a.keys.county, a.keys.offline} {
			inner, err := a.open()
			if err != nil {
				return err
			}
			alone, err := seal.Wrap(inner, []envelope.KEK{kek}, nil)
			if err != nil {
				inner.Close()
				return err
			}
			sha, size, err := digest.HashObject(ctx, alone, a.recordKey())
			alone.Close()
			if err == nil && sha != entries[0].SHA256 {
				err = fmt.Errorf("read sha256 %.16s, the manifest says %.16s", sha, entries[0].SHA256)
			}
			if err != nil {
				err = fmt.Errorf("%s alone: %w", kek.ID, err)
			}
			add("read with one key", fmt.Sprintf("%s alone: %d bytes, sha256 as in the manifest", kek.ID, size), err)
		}
	}

	// 6. Retention, where the bucket enforces it.
	if err := retention.Supported(ctx, a.stack.Bucket); err != nil {
		checks = append(checks, check{name: "retention", warn: true, ok: "NOT ENFORCED: this bucket has no object lock / object retention"})
	} else {
		r, err := retention.Get(ctx, a.stack.Bucket, a.recordKey())
		if err == nil && (r.IsZero() || r.Until.Before(a.until)) {
			err = fmt.Errorf("the current version has %v; want retention until %s at least", r, a.until.Format(time.DateOnly))
		}
		add("retention", fmt.Sprintf("%s until %s", strings.ToLower(string(r.Mode)), r.Until.Format(time.DateOnly)), err)
	}

	failed := 0
	a.printf("verify %s\n", a.recordKey())
	for _, c := range checks {
		switch {
		case c.err != nil:
			failed++
			a.printf("  FAIL  %-22s %v\n", c.name, c.err)
		case c.warn:
			a.printf("  warn  %-22s %s\n", c.name, c.ok)
		default:
			a.printf("  ok    %-22s %s\n", c.name, c.ok)
		}
	}
	if failed > 0 {
		a.printf("result: FAILED (%d of %d checks)\n", failed, len(checks))
		return fmt.Errorf("verification failed: %d of %d checks", failed, len(checks))
	}
	a.printf("result: OK (%d checks)\n", len(checks))
	return nil
}

// lastWrites reads the n entries of the audit log and returns, per key,
// the SHA-256 of its last recorded write.
func lastWrites(ctx context.Context, log *gcblob.Bucket, n int64) (map[string]string, error) {
	last := map[string]string{}
	for i := range n {
		data, err := log.ReadAll(ctx, audit.EntryKey(i))
		if err != nil {
			return nil, err
		}
		e, err := audit.ParseEntry(data)
		if err != nil {
			return nil, err
		}
		switch e.Operation {
		case "write":
			last[e.Key] = e.SHA256
		case "delete":
			delete(last, e.Key)
		}
	}
	return last, nil
}

// kekIDs reads the envelope header of a sealed object as stored and
// returns the ids of the keys its data key is wrapped under.
func kekIDs(ctx context.Context, raw *gcblob.Bucket, key string) ([]string, error) {
	r, err := raw.NewReader(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h, err := envelope.ReadHeader(r)
	if err != nil {
		return nil, err
	}
	return h.KEKIDs(), nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Synthetic voters: fixed name lists, obviously fake ids and addresses,
// the same file for the same date.
var (
	firstNames = []string{"Ada", "Ben", "Carmen", "Deshawn", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jonas", "Keiko", "Luis", "Maya", "Nikhil", "Olga", "Priya", "Quinn", "Rosa", "Samir", "Tova"}
	lastNames  = []string{"Abbott", "Baker", "Chen", "Diaz", "Ellis", "Fischer", "Garcia", "Haddad", "Ivanova", "Johnson", "Kim", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel"}
	streets    = []string{"Oak St", "Maple Ave", "Main St", "Cedar Ln", "Elm St", "Lakeview Dr", "Hillcrest Rd", "Pine Ct"}
	parties    = []string{"DEM", "REP", "IND", "UNA", "LIB", "GRN"}
)

// syntheticRolls returns a registration file of n fake voters as CSV.
func syntheticRolls(date string, n int) ([]byte, int) {
	seed := sha256.Sum256([]byte("voter-rolls " + date))
	rng := mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"voter_id", "last_name", "first_name", "birth_year", "street", "city", "zip", "precinct", "party", "registered", "status"})
	for i := range n {
		status := "active"
		if rng.IntN(25) == 0 {
			status = "inactive"
		}
		registered := time.Date(1990+rng.IntN(36), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		_ = w.Write([]string{
			fmt.Sprintf("EX%08d", i+1), pick(lastNames), pick(firstNames), strconv.Itoa(1930 + rng.IntN(78)),
			fmt.Sprintf("%d %s", 100+rng.IntN(9900), pick(streets)), "Exampleville", fmt.Sprintf("99%03d", rng.IntN(50)),
			fmt.Sprintf("P-%03d", 1+rng.IntN(60)), pick(parties), registered.Format(time.DateOnly), status,
		})
	}
	w.Flush()
	return buf.Bytes(), n
}

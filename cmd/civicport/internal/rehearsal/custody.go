package rehearsal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/blob/retention"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/cmd/civicport/internal/electiondata"
	"github.com/civicport/civicport/internal/bytesize"
	"github.com/civicport/civicport/internal/listwork"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

// auditPrefix is where a provider's bucket keeps its audit log, next to the
// records (and moved with them).
const auditPrefix = "audit/"

// electionDay is the election of the synthetic dataset.
var electionDay = time.Date(2026, time.November, 3, 0, 0, 0, 0, time.UTC)

// custody holds the keys of one rehearsal: the audit log's signing key and
// the two providers' key-encryption keys.
type custody struct {
	logSigner   note.Signer
	logVerifier note.Verifier
	logVKey     string
	kekA, kekB  envelope.KEK
}

func newCustody(ctx context.Context, a, b *Provider) (*custody, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "civicport-rehearsal/audit")
	if err != nil {
		return nil, err
	}
	c := &custody{logVKey: vkey}
	if c.logSigner, err = note.NewSigner(skey); err != nil {
		return nil, err
	}
	if c.logVerifier, err = note.NewVerifier(vkey); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		p   *Provider
		kek *envelope.KEK
	}{{a, &c.kekA}, {b, &c.kekB}} {
		keeper, err := secrets.Open(ctx, k.p.KeeperURL)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("%s keeper: %w", k.p.Name, err)
		}
		*k.kek = envelope.KEK{ID: secrets.RedactURL(k.p.KeeperURL), Keeper: keeper}
	}
	if c.kekA.ID == c.kekB.ID {
		c.close()
		return nil, fmt.Errorf("providers A and B use the same keeper (%s); a switch needs a key on the new provider", c.kekA.ID)
	}
	return c, nil
}

func (c *custody) close() {
	for _, k := range []envelope.KEK{c.kekA, c.kekB} {
		if k.Keeper != nil {
			k.Keeper.Close()
		}
	}
}

// generateSealed writes the election archive to bucketURL sealed under kek,
// recording every write in the bucket's audit log, and signs a checkpoint.
func (c *custody) generateSealed(ctx context.Context, bucketURL string, kek envelope.KEK, data electiondata.Options) (electiondata.Stats, int64, error) {
	raw, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return electiondata.Stats{}, 0, err
	}
	logBucket := gcblob.PrefixedBucket(raw, auditPrefix) // owns raw
	defer logBucket.Close()
	log, err := audit.Open(ctx, logBucket, c.logSigner, &audit.Options{Actor: "civicport rehearse"})
	if err != nil {
		return electiondata.Stats{}, 0, err
	}
	inner, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return electiondata.Stats{}, 0, err
	}
	s, err := seal.Wrap(inner, []envelope.KEK{kek}, nil)
	if err != nil {
		inner.Close()
		return electiondata.Stats{}, 0, err
	}
	sealed := audit.Wrap(s, log, blob.Redact(bucketURL))
	defer sealed.Close()
	st, err := electiondata.Generate(ctx, sealed, data)
	if err != nil {
		return st, 0, err
	}
	if _, err := log.Checkpoint(ctx); err != nil {
		return st, 0, fmt.Errorf("sign the audit checkpoint: %w", err)
	}
	return st, log.Size(), nil
}

// retain sets the federal retention period on every record in b (not the
// audit log, which keeps growing). A backend that cannot enforce retention
// is reported, not faked: errNotEnforced.
func retain(ctx context.Context, b *gcblob.Bucket) (string, error) {
	if err := retention.Supported(ctx, b); err != nil {
		switch {
		case errors.Is(err, retention.ErrUnsupported):
			return "", fmt.Errorf("%w: this storage has no retention (S3 object lock or GCS object retention); records here are not write-once", errNotEnforced)
		case errors.Is(err, retention.ErrNotEnabled):
			return "", fmt.Errorf("%w: retention is not enabled on this bucket (S3: create it with object lock; GCS: with object retention)", errNotEnforced)
		}
		return "", err
	}
	until := retention.FederalElectionRetention(electionDay)
	if !until.After(time.Now()) {
		until = time.Now().Add(24 * time.Hour)
	}
	n := 0
	err := eachRecord(ctx, b, "", func(key string) error {
		if err := retention.Set(ctx, b, key, retention.Retention{Mode: retention.Governance, Until: until}); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		n++
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d records retained (governance) until %s, the federal 22 months after election day", n, until.Format(time.DateOnly)), nil
}

// errNotEnforced marks a safeguard the provider cannot enforce.
var errNotEnforced = errors.New("not enforced by this provider")

// verifyAudit checks the audit log moved with the records.
func (c *custody) verifyAudit(ctx context.Context, bucketURL string, wantEntries int64) (string, error) {
	raw, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return "", err
	}
	logBucket := gcblob.PrefixedBucket(raw, auditPrefix)
	defer logBucket.Close()
	rep, err := audit.Verify(ctx, logBucket, c.logVerifier, nil)
	if err != nil {
		return "", err
	}
	if !rep.OK() {
		return "", fmt.Errorf("audit log on B: %d problems, first: %v", len(rep.Problems), rep.Problems[0])
	}
	if rep.Entries != wantEntries || rep.TreeSize != wantEntries {
		return "", fmt.Errorf("audit log on B has %d entries, %d signed; A recorded %d", rep.Entries, rep.TreeSize, wantEntries)
	}
	return fmt.Sprintf("%d entries, every one covered by a signed checkpoint (%s)", rep.Entries, rep.Origin), nil
}

// rewrapAndRead moves B's data keys from A's KEK to B's, then reads every
// record back through Seal with B's key alone.
func (c *custody) rewrapAndRead(ctx context.Context, bucketURL string, workers int) (string, error) {
	raw, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return "", err
	}
	defer raw.Close()
	sum, err := seal.Rewrap(ctx, raw, []envelope.KEK{c.kekA}, []envelope.KEK{c.kekB}, []string{c.kekA.ID}, &seal.RewrapOptions{Workers: workers})
	if err != nil {
		return "", fmt.Errorf("%s: %w", sum, err)
	}
	inner, err := blob.Open(ctx, bucketURL)
	if err != nil {
		return "", err
	}
	onlyB, err := seal.Wrap(inner, []envelope.KEK{c.kekB}, nil)
	if err != nil {
		inner.Close()
		return "", err
	}
	defer onlyB.Close()
	n, bytes := 0, int64(0)
	err = eachRecord(ctx, onlyB, "", func(key string) error {
		r, err := onlyB.NewReader(ctx, key, nil)
		if err != nil {
			return fmt.Errorf("read %s with B's key only: %w", key, err)
		}
		m, err := io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("read %s with B's key only: %w", key, err)
		}
		n++
		bytes += m
		return nil
	})
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", errors.New("no sealed records on B")
	}
	return fmt.Sprintf("%s; all %d records (%s) read back with B's key alone", sum, n, bytesize.String(bytes)), nil
}

// eachRecord calls fn with the key of every election record in b under
// prefix, in order: every object but the audit log's.
func eachRecord(ctx context.Context, b *gcblob.Bucket, prefix string, fn func(key string) error) error {
	return listwork.Walk(ctx, b, prefix, func(obj *gcblob.ListObject) error {
		if strings.HasPrefix(obj.Key, auditPrefix) {
			return nil
		}
		return fn(obj.Key)
	})
}

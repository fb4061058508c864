// Command results-feed is an election-night results feed between a county
// and the state, on whatever messaging the provider profile names:
//
//   - the county publishes one message per precinct result on the profile's
//     topic, signed (Ed25519, sign.Wrap) and idempotent (a civicport-id
//     naming the report, so a retried publish is recognised);
//   - the state's aggregator reads the profile's subscription through
//     Dedup(Verify(sub, verifier, quarantine)) and totals the votes per
//     candidate: a message whose signature does not check is sent to the
//     quarantine topic with the reason and never reaches the tally; a message
//     whose id was already counted is dropped;
//   - then an attacker with write access to the queue replays a genuine
//     message and sends a forged one (the body changed after signing), and
//     the totals are printed again: they must not change.
//
// -profile FILE (and CIVICPORT_* variables) select aws, gcp, onprem or local
// (see adapters/profile). With neither, it runs on a local profile (an
// in-process topic) in -dir or a temporary directory, with no server at all.
// See README.md.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/examples/internal/exmain"
	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/dedup"
	"github.com/civicport/civicport/pubsub/meta"
	"github.com/civicport/civicport/pubsub/sign"
)

func main() { exmain.Main("results-feed", run) }

// Result is one precinct's report: the message body.
type Result struct {
	County   string         `json:"county"`
	Contest  string         `json:"contest"`
	Precinct string         `json:"precinct"`
	Round    string         `json:"round"`
	Votes    map[string]int `json:"votes"`
}

type options struct {
	profile, dir, quarantine, quarantineSub, county, round string
	precincts                                              int
	seed                                                   uint64
	timeout                                                time.Duration
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := exmain.Flags("results-feed", stdout, &o.profile)
	fs.StringVar(&o.dir, "dir", "", "directory of the local profile used without -profile and CIVICPORT_PROFILE (default: a temporary one)")
	fs.StringVar(&o.quarantine, "quarantine", "", "topic `URL` where forged messages are held (e.g. a second queue); default an in-process mem:// topic")
	fs.StringVar(&o.quarantineSub, "quarantine-sub", "", "subscription `URL` on the quarantine topic, to show what is held there (default: the mem:// one)")
	fs.StringVar(&o.county, "county", "Example County", "county that publishes")
	fs.StringVar(&o.round, "round", time.Now().UTC().Format("20060102T150405Z"), "reporting round; part of every message id")
	fs.IntVar(&o.precincts, "precincts", 40, "precinct results to publish")
	fs.Uint64Var(&o.seed, "seed", 2026, "seed of the synthetic results")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "longest wait for the feed to deliver")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", exmain.ErrUsage, fs.Arg(0))
	}
	if o.precincts < 1 {
		return fmt.Errorf("%w: -precincts must be at least 1", exmain.ErrUsage)
	}
	if o.quarantineSub != "" && o.quarantine == "" {
		return fmt.Errorf("%w: -quarantine-sub needs -quarantine", exmain.ErrUsage)
	}

	cfg, cleanup, err := loadConfig(o)
	if err != nil {
		return err
	}
	defer cleanup()
	stack, closeStack, err := exmain.OpenStack(ctx, cfg, "results-feed", stdout)
	if err != nil {
		return err
	}
	defer closeStack()

	// The quarantine: a topic the aggregator owns. Its subscription is
	// opened before anything is sent (mem:// delivers only to subscriptions
	// that exist when a message is sent).
	if o.quarantine == "" {
		o.quarantine = "mem://results-quarantine-" + randomHex(4)
		o.quarantineSub = o.quarantine
	}
	quarantine, err := pubsub.OpenTopic(ctx, o.quarantine)
	if err != nil {
		return fmt.Errorf("quarantine topic: %w", err)
	}
	defer quarantine.Shutdown(context.Background())
	var held *gcpubsub.Subscription
	if o.quarantineSub != "" {
		if held, err = pubsub.OpenSubscription(ctx, o.quarantineSub); err != nil {
			return fmt.Errorf("quarantine subscription: %w", err)
		}
		defer held.Shutdown(context.Background())
	}
	fmt.Fprintf(stdout, "  quarantine:   %s\n", pubsub.Redact(o.quarantine))

	// The county's signing key. In production the county keeps the private
	// key (an HSM, a KMS-sealed file) and gives the state the public key.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	keyID := strings.ToLower(strings.ReplaceAll(o.county, " ", "-")) + "-clerk"
	signer := sign.NewEd25519Signer(keyID, priv)
	verifier := sign.NewEd25519Verifier(map[string]ed25519.PublicKey{keyID: pub})

	// The county publishes.
	results := syntheticResults(o.county, o.round, o.precincts, o.seed)
	signed, err := sign.Wrap(stack.Topic, signer) // owns stack.Topic: shutting it down shuts that down
	if err != nil {
		return err
	}
	defer signed.Shutdown(context.Background())
	for _, r := range results {
		if err := signed.Send(ctx, message(r)); err != nil {
			return fmt.Errorf("publish %s: %w", r.Precinct, err)
		}
	}
	fmt.Fprintf(stdout, "county      published %d precinct results, signed by %s (Ed25519)\n", len(results), keyID)

	// The state aggregates.
	agg, err := newAggregator(stack.Subscription, verifier, quarantine, dedup.NewBucketStore(stack.Bucket, "dedup/results/"), o.county, o.round)
	if err != nil {
		return err
	}
	defer agg.feed.Shutdown(context.Background())
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := agg.receiveUntil(wctx, func() bool { return agg.counted() == len(results) }); err != nil {
		return fmt.Errorf("after %d of %d results: %w", agg.counted(), len(results), err)
	}
	before := agg.snapshot()
	fmt.Fprintf(stdout, "state       counted %d precinct results\n", agg.counted())
	fmt.Fprintf(stdout, "totals      %s\n", formatTotals(before))

	// The attacker captured the last message as it went on the wire.
	// Ed25519 signatures are deterministic, so signing the same message
	// again into an in-process topic reproduces those exact bytes.
	wire, err := capture(ctx, signer, message(results[len(results)-1]))
	if err != nil {
		return err
	}
	forged := &gcpubsub.Message{Body: nil, Metadata: maps.Clone(wire.Metadata)}
	var fr Result
	if err := json.Unmarshal(wire.Body, &fr); err != nil {
		return err
	}
	fr.Votes[candidates[1]] += 5000
	if forged.Body, err = json.Marshal(fr); err != nil {
		return err
	}
	ds, vs := agg.stats()
	dup0, q0 := ds.Duplicates(), vs.Quarantined()
	fmt.Fprintf(stdout, "attack      replay %s unchanged; forge it with %s +5000 (signature kept)\n", wire.Metadata[meta.ID], candidates[1])
	for _, m := range []*gcpubsub.Message{wire, forged} {
		if err := stack.Topic.Send(ctx, m); err != nil { // straight onto the queue, not through Sign
			return fmt.Errorf("attacker's send: %w", err)
		}
	}
	if err := agg.receiveUntil(wctx, func() bool { return ds.Duplicates() > dup0 && vs.Quarantined() > q0 }); err != nil {
		return fmt.Errorf("the replay and the forgery were not both handled (dropped %d, quarantined %d): %w",
			ds.Duplicates()-dup0, vs.Quarantined()-q0, err)
	}
	fmt.Fprintf(stdout, "replay      dropped by Dedup as a duplicate of %s (counted once)\n", wire.Metadata[meta.ID])
	for _, reason := range agg.reasons() {
		fmt.Fprintf(stdout, "forgery     quarantined by Verify: %s\n", reason)
	}
	if held != nil {
		hctx, cancel := context.WithTimeout(ctx, o.timeout)
		q, err := held.Receive(hctx)
		cancel()
		if err != nil {
			return fmt.Errorf("the forged message is not in quarantine: %w", err)
		}
		q.Ack()
		var qr Result
		_ = json.Unmarshal(q.Body, &qr)
		fmt.Fprintf(stdout, "quarantine  holds %s (%s %d votes) for review, with its reason\n",
			q.Metadata[meta.ID], candidates[1], qr.Votes[candidates[1]])
	}
	after := agg.snapshot()
	fmt.Fprintf(stdout, "totals      %s\n", formatTotals(after))
	if n := agg.ignoredCount(); n > 0 {
		fmt.Fprintf(stdout, "ignored     %d signed messages of other rounds or counties (acked, not counted)\n", n)
	}
	fmt.Fprintf(stdout, "stats       delivered %d, duplicates dropped %d, quarantined %d\n", ds.Delivered(), ds.Duplicates(), vs.Quarantined())
	if !maps.Equal(before, after) || agg.counted() != len(results) {
		fmt.Fprintln(stdout, "result: FAILED: the totals changed")
		return errors.New("the replay or the forgery changed the totals")
	}
	if want := sum(results); !maps.Equal(after, want) {
		fmt.Fprintf(stdout, "result: FAILED: the county sent %s\n", formatTotals(want))
		return errors.New("the totals differ from what the county sent")
	}
	fmt.Fprintln(stdout, "result: OK: totals unchanged, equal to what the county sent")
	return nil
}

// loadConfig reads the profile from -profile and CIVICPORT_* variables;
// with neither it makes a local profile (a directory, a fresh key, an
// in-process topic of its own).
func loadConfig(o options) (profile.Config, func(), error) {
	if o.profile != "" || os.Getenv(profile.EnvProfile) != "" {
		cfg, err := profile.Load(o.profile)
		return cfg, func() {}, err
	}
	cleanup := func() {}
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "results-feed-"); err != nil {
			return profile.Config{}, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return profile.Config{}, cleanup, err
	}
	keyFile := filepath.Join(dir, "local.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		return profile.Config{}, cleanup, err
	}
	cfg := profile.Config{Profile: profile.Local, Local: profile.LocalConfig{
		Dir: filepath.Join(dir, "bucket"), CreateDir: true, KeyFile: keyFile,
		Topic: "results-feed-" + randomHex(4), // a topic of this run's own
	}}
	return cfg, cleanup, cfg.Validate()
}

// message is the county's message for one result: the civicport-id names
// the report, so a retried or replayed copy is the same message to Dedup.
func message(r Result) *gcpubsub.Message {
	body, _ := json.Marshal(r)
	return &gcpubsub.Message{Body: body, Metadata: map[string]string{
		meta.ID:        messageID(r.County, r.Round, r.Precinct),
		"content-type": "application/json",
	}}
}

func messageID(county, round, precinct string) string {
	return "results/" + strings.ToLower(strings.ReplaceAll(county, " ", "-")) + "/" + round + "/" + precinct
}

// capture returns m as Sign sends it: what an eavesdropper on the queue sees.
func capture(ctx context.Context, s sign.Signer, m *gcpubsub.Message) (*gcpubsub.Message, error) {
	md, err := sign.Message(ctx, s, m)
	if err != nil {
		return nil, err
	}
	return &gcpubsub.Message{Body: m.Body, Metadata: md}, nil
}

// aggregator is the state's consumer.
type aggregator struct {
	feed          *gcpubsub.Subscription
	county, round string
	mu            sync.Mutex
	totals        map[string]int
	seen          map[string]bool // precincts counted
	quarantined   []string
	ignored       int
}

func newAggregator(sub *gcpubsub.Subscription, v sign.Verifier, quarantine *gcpubsub.Topic, store dedup.Store, county, round string) (*aggregator, error) {
	a := &aggregator{county: county, round: round, totals: map[string]int{}, seen: map[string]bool{}}
	// Verify under Dedup: a forgery is quarantined before Dedup records its
	// id, so a forged copy can never make Dedup drop the real message.
	verified, err := sign.Verify(sub, v, quarantine, &sign.VerifyOptions{
		OnQuarantine: func(_, reason string) {
			a.mu.Lock()
			a.quarantined = append(a.quarantined, reason)
			a.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	// The store is durable (a BucketStore in the stack's bucket): a replay
	// after the aggregator restarts is still dropped. Ids carry the round,
	// so each round is deduplicated on its own.
	a.feed = dedup.Wrap(verified, &dedup.Options{Store: store})
	return a, nil
}

func (a *aggregator) stats() (*dedup.Stats, *sign.VerifyStats) {
	var ds *dedup.Stats
	var vs *sign.VerifyStats
	a.feed.As(&ds)
	a.feed.As(&vs) // As reaches Verify under Dedup
	return ds, vs
}

// receiveUntil counts what the feed delivers until done() holds.
func (a *aggregator) receiveUntil(ctx context.Context, done func() bool) error {
	for !done() {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := a.feed.Receive(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // idle for a moment: check done() again
		}
		var r Result
		if err := json.Unmarshal(m.Body, &r); err != nil || r.County != a.county || r.Round != a.round ||
			m.Metadata[meta.ID] != messageID(r.County, r.Round, r.Precinct) {
			a.mu.Lock()
			a.ignored++ // signed, but not a result of this round (an earlier run's, another county's)
			a.mu.Unlock()
			m.Ack()
			continue
		}
		a.mu.Lock()
		if !a.seen[r.Precinct] { // belt and braces: Dedup already drops repeats of an id
			a.seen[r.Precinct] = true
			for c, n := range r.Votes {
				a.totals[c] += n
			}
		}
		a.mu.Unlock()
		m.Ack() // only after counting: Dedup records the id on ack
	}
	return nil
}

func (a *aggregator) counted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

func (a *aggregator) snapshot() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.totals)
}

func (a *aggregator) ignoredCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ignored
}

func (a *aggregator) reasons() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.quarantined)
}

// Synthetic results: fixed candidates, votes from a seeded generator.
var candidates = []string{"Alvarez", "Brooks", "Chen", "Write-in"}

func syntheticResults(county, round string, precincts int, seed uint64) []Result {
	rng := mrand.New(mrand.NewPCG(seed, 20701))
	out := make([]Result, precincts)
	for i := range out {
		turnout := 200 + rng.IntN(1800)
		w := rng.IntN(turnout/50 + 1)
		a := (turnout - w) * (25 + rng.IntN(20)) / 100
		b := (turnout - w - a) * (40 + rng.IntN(30)) / 100
		c := turnout - w - a - b
		out[i] = Result{County: county, Contest: "Governor", Round: round, Precinct: fmt.Sprintf("P-%04d", i+1),
			Votes: map[string]int{candidates[0]: a, candidates[1]: b, candidates[2]: c, candidates[3]: w}}
	}
	return out
}

func sum(rs []Result) map[string]int {
	t := map[string]int{}
	for _, r := range rs {
		for c, n := range r.Votes {
			t[c] += n
		}
	}
	return t
}

// formatTotals prints the totals in the candidates' order.
func formatTotals(t map[string]int) string {
	parts := make([]string, 0, len(candidates))
	total := 0
	for _, c := range candidates {
		parts = append(parts, fmt.Sprintf("%s %d", c, t[c]))
		total += t[c]
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (%d votes)", total)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

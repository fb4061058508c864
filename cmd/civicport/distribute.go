package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	gcblob "gocloud.dev/blob"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"

	// Also registers jetstream:// topics and subscriptions.
	jsadapter "github.com/civicport/civicport/adapters/jetstream"
	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/distribute"
	"github.com/civicport/civicport/blob/migrate"
	cppubsub "github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/shutdown"
	"github.com/civicport/civicport/pubsub/sign"
)

// distributeFlags are migrate's flags for scaling out over a queue.
type distributeFlags struct {
	workTo, workFrom, manifestDir, mergeDir, pubkey string
	itemSize                                        int
	worker                                          bool
	untilIdle, keepAlive                            time.Duration
}

const distributeHelp = `

Scale out over a queue (any gocloud pubsub URL, e.g. jetstream://STREAM/SUBJECT):

  coordinator: migrate --from URL --to URL --work-to TOPIC_URL [--sign-key KEY [--sign-key-keeper URL]] [--prefix P] [--item-size N] [--manifest-dir DIR]
      lists --from and publishes work items of up to N keys; prints how many.
      With --sign-key every item is signed (Ed25519, with a time and nonce).
      With --manifest-dir it records the items in DIR/plan.jsonl, and the
      merge then refuses to run until every item has its manifest.
  worker:      migrate --worker --work-from SUBSCRIPTION_URL --manifest-dir DIR {--pubkey FILE | --from URL --to URL} [--until-idle D] [--keep-alive D]
      With --pubkey it refuses items not signed by the coordinator's
      --sign-key; with --from/--to, items for other buckets; it needs one
      or both, because the items name what the worker reads and writes,
      with its credentials. A refused item is acked (never retried),
      recorded in DIR/rejected.jsonl and counted, and opens nothing.
      It copies each item's objects, re-reads and checks them (SHA-256) against
      the item's manifest, writes DIR/item-ID.jsonl, and only then acks the
      item; a failed item is nacked (delivered again), an item whose worker
      dies is delivered again after the queue's ack wait. Run as many as you
      like. With --until-idle it exits once no item arrived for D. While an
      item is worked on, progress is reported every --keep-alive (JetStream
      InProgress) so a slow item is not handed to a second worker.
  merge:       migrate --merge-manifests DIR --manifest FILE [--sign-key KEY [--sign-key-keeper URL]]
      merges the item manifests into one (each key once; conflicting
      records are an error).`

// withDistribute adds the distribute flags and modes to the migrate
// command; without them migrate runs as before. It is idempotent.
func withDistribute(cmd *cobra.Command) *cobra.Command {
	if cmd.Flags().Lookup("work-to") != nil {
		return cmd
	}
	d := &distributeFlags{}
	f := cmd.Flags()
	f.StringVar(&d.workTo, "work-to", "", "coordinator: publish work items to this topic URL instead of copying")
	f.IntVar(&d.itemSize, "item-size", 100, "coordinator: keys per work item")
	f.BoolVar(&d.worker, "worker", false, "worker: copy and verify work items from --work-from")
	f.StringVar(&d.workFrom, "work-from", "", "worker: subscription URL to receive work items from")
	f.StringVar(&d.manifestDir, "manifest-dir", "", "worker: directory for item manifests (item-ID.jsonl)")
	f.DurationVar(&d.untilIdle, "until-idle", 0, "worker: exit once no item arrived for this long (0: run until interrupted)")
	f.DurationVar(&d.keepAlive, "keep-alive", time.Second, "worker: report progress on an item this often, so that a slow item is not redelivered while worked on (0: never)")
	f.StringVar(&d.mergeDir, "merge-manifests", "", "merge the item manifests in this directory into --manifest")
	f.StringVar(&d.pubkey, "pubkey", "", "worker: note verifier key file; refuse work items not signed by the coordinator's --sign-key")
	cmd.Long += distributeHelp
	plain := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !d.active(cmd) {
			return plain(cmd, args)
		}
		return d.run(cmd)
	}
	return cmd
}

// active reports whether any distribute flag was given.
func (d *distributeFlags) active(cmd *cobra.Command) bool {
	for _, n := range []string{"work-to", "item-size", "worker", "work-from", "manifest-dir", "until-idle", "keep-alive", "merge-manifests", "pubkey"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

func (d *distributeFlags) run(cmd *cobra.Command) error {
	fl := cmd.Flags()
	str := func(n string) string { v, _ := fl.GetString(n); return v }
	modes := 0
	for _, on := range []bool{d.workTo != "", d.worker, d.mergeDir != ""} {
		if on {
			modes++
		}
	}
	switch {
	case !d.worker && (d.workFrom != "" || fl.Changed("until-idle") || fl.Changed("keep-alive") || d.pubkey != ""):
		return fmt.Errorf("--work-from, --pubkey, --until-idle and --keep-alive are worker flags: add --worker")
	case d.worker && (fl.Changed("sign-key") || fl.Changed("sign-key-keeper")):
		return fmt.Errorf("--sign-key signs on the coordinator (--work-to) or the merge; a worker checks items with --pubkey FILE")
	case !d.worker && d.workTo == "" && d.manifestDir != "":
		return fmt.Errorf("--manifest-dir goes with --worker (item manifests) or --work-to (plan record)")
	case d.workTo == "" && fl.Changed("item-size"):
		return fmt.Errorf("--item-size is a coordinator flag: add --work-to TOPIC_URL")
	case modes != 1:
		return fmt.Errorf("give exactly one of --work-to TOPIC_URL (coordinator), --worker (worker) or --merge-manifests DIR")
	case fl.Changed("dry-run") || fl.Changed("resume"):
		return fmt.Errorf("--dry-run and --resume do not go with --work-to, --worker or --merge-manifests")
	}
	switch {
	case d.workTo != "":
		return d.coordinate(cmd, str("from"), str("to"), str("prefix"), str("sign-key"), str("sign-key-keeper"))
	case d.worker:
		workers, _ := fl.GetInt("workers")
		return d.work(cmd, str("from"), str("to"), workers)
	default:
		return d.merge(cmd, str("manifest"), str("sign-key"), str("sign-key-keeper"))
	}
}

func (d *distributeFlags) coordinate(cmd *cobra.Command, from, to, prefix, signKey, signKeeper string) error {
	ctx := cmd.Context()
	if err := distinctBuckets(from, to); err != nil {
		return err
	}
	if d.itemSize < 1 {
		return fmt.Errorf("--item-size %d: want 1 or more", d.itemSize)
	}
	ns, err := readSigner(ctx, signKey, signKeeper)
	if err != nil {
		return err
	}
	src, dst, err := openPair(ctx, from, to)
	if err != nil {
		return err
	}
	defer src.Close()
	dst.Close() // opened only to catch a bad --to before publishing
	topic, err := cppubsub.OpenTopic(ctx, d.workTo)
	if err != nil {
		return fmt.Errorf("--work-to: %w", err)
	}
	defer shutdown.Topic(context.Background(), topic)
	if ns != nil {
		s, err := sign.NewNoteSignerFrom(ns)
		if err != nil {
			return err
		}
		signed, err := sign.Wrap(topic, s)
		if err != nil {
			return err
		}
		defer shutdown.Topic(context.Background(), signed)
		topic = signed
	}
	publish := distribute.Publisher(topic)
	if d.manifestDir != "" {
		if err := os.MkdirAll(d.manifestDir, 0o755); err != nil {
			return fmt.Errorf("--manifest-dir: %w", err)
		}
		pf, err := os.Create(filepath.Join(d.manifestDir, distribute.PlanName))
		if err != nil {
			return fmt.Errorf("--manifest-dir: %w", err)
		}
		defer pf.Close()
		publish = distribute.Recording(pf, publish)
	}
	start := time.Now()
	items, objects, err := distribute.Plan(ctx, src, from, to, prefix, d.itemSize, publish)
	fmt.Fprintf(cmd.OutOrStdout(), "published %d items (%d objects, up to %d keys each) to %s in %s\n",
		items, objects, d.itemSize, blob.Redact(d.workTo), time.Since(start).Round(time.Millisecond))
	if err != nil {
		// Items already published stay valid; planning again republishes
		// the same item IDs (deduplicated by JetStream within its window).
		return &problemError{msg: fmt.Sprintf("planning stopped: %v (run the coordinator again; items are idempotent)", err)}
	}
	return nil
}

func (d *distributeFlags) work(cmd *cobra.Command, from, to string, workers int) error {
	ctx := cmd.Context()
	checksum, _ := cmd.Flags().GetBool("checksum")
	idle, _ := cmd.Flags().GetDuration("idle-timeout")
	objTimeout, _ := cmd.Flags().GetDuration("object-timeout")
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if d.workFrom == "" || d.manifestDir == "" {
		return fmt.Errorf("--worker needs --work-from SUBSCRIPTION_URL and --manifest-dir DIR")
	}
	if workers < 1 {
		return fmt.Errorf("--workers %d: want 1 or more", workers)
	}
	if (from == "") != (to == "") {
		return fmt.Errorf("--worker takes both --from and --to (to accept only items between them) or neither")
	}
	if from == "" && d.pubkey == "" {
		return fmt.Errorf("--worker needs --pubkey FILE (accept only items signed by the coordinator's --sign-key) or --from URL --to URL (accept only items between them), or both: an item names the buckets this worker reads and writes with its credentials, so an unchecked one lets anyone who can publish to the queue choose them")
	}
	var verifier sign.Verifier
	if d.pubkey != "" {
		nv, err := readPubkey(d.pubkey)
		if err != nil {
			return err
		}
		if verifier, err = sign.NewNoteVerifierFrom(nv); err != nil {
			return err
		}
	}
	if err := nonNegative("0 or more", durationFlag{"until-idle", d.untilIdle}, durationFlag{"keep-alive", d.keepAlive},
		durationFlag{"idle-timeout", idle}, durationFlag{"object-timeout", objTimeout}); err != nil {
		return err
	}
	if err := os.MkdirAll(d.manifestDir, 0o755); err != nil {
		return fmt.Errorf("--manifest-dir: %w", err)
	}
	sub, err := openWorkQueue(ctx, d.workFrom)
	if err != nil {
		return fmt.Errorf("--work-from: %w", err)
	}
	defer func() {
		// Flush acks, even after an interrupt.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = shutdown.Subscription(sctx, sub)
	}()
	opts := &distribute.WorkOptions{
		Migrate:        migrate.Options{Workers: workers, Checksum: checksum, IdleTimeout: idle, ObjectTimeout: objTimeout},
		Verifier:       verifier,
		UntilIdle:      d.untilIdle,
		KeepAlive:      jsadapter.InProgress,
		KeepAliveEvery: d.keepAlive,
		Report: func(r distribute.ItemResult) {
			switch {
			case r.Err != nil && r.Rejected:
				fmt.Fprintf(errOut, "item %q rejected (recorded in %s, acked, nothing copied): %v\n", r.Item.ID, filepath.Join(d.manifestDir, distribute.RejectedName), r.Err)
			case r.Err != nil:
				fmt.Fprintf(errOut, "item %s failed, nacked for redelivery: %s\n", r.Item.ID, blob.Describe(r.Err, r.Item.From+" "+r.Item.To))
			default:
				fmt.Fprintf(out, "item %s: %s; verified %d; manifest %s (%s)\n", r.Item.ID, r.Summary, r.Verify.Verified, r.Manifest, r.Elapsed.Round(time.Millisecond))
				for _, k := range r.Vanished {
					fmt.Fprintf(out, "item %s: %s is no longer on the source, left out\n", r.Item.ID, k)
				}
			}
		},
		Allow: func(it distribute.Item) error {
			if from != "" && (it.From != from || it.To != to) {
				return fmt.Errorf("item copies %s to %s, this worker only --from %s --to %s", blob.Redact(it.From), blob.Redact(it.To), blob.Redact(from), blob.Redact(to))
			}
			if err := distinctBuckets(it.From, it.To); err != nil {
				return err
			}
			return nil
		},
	}
	if d.keepAlive == 0 {
		opts.KeepAlive = nil
	}
	if to != "" {
		opts.Migrate.Limits = limitsOf(to)
	}
	open := func(ctx context.Context, u string) (*gcblob.Bucket, error) { return openChecked(ctx, u, "item bucket") }
	sum, err := distribute.Work(ctx, sub, open, d.manifestDir, opts)
	fmt.Fprintf(out, "worker: items done %d (%d objects), failed %d, rejected %d\n", sum.Done, sum.Objects, sum.Failed, sum.Rejected)
	if err != nil {
		if ctx.Err() != nil {
			return &problemError{msg: "worker interrupted (unacked items will be delivered again)"}
		}
		return &problemError{msg: fmt.Sprintf("worker stopped: %v", err)}
	}
	if sum.Failed > 0 || sum.Rejected > 0 {
		return &problemError{msg: fmt.Sprintf("%d items failed, %d rejected", sum.Failed, sum.Rejected)}
	}
	return nil
}

func (d *distributeFlags) merge(cmd *cobra.Command, manifest, signKey, signKeeper string) error {
	if !cmd.Flags().Changed("manifest") {
		return fmt.Errorf("--merge-manifests needs --manifest FILE (the merged manifest to write)")
	}
	if st, err := os.Stat(d.mergeDir); err != nil || !st.IsDir() {
		return fmt.Errorf("--merge-manifests %s: not a directory", d.mergeDir)
	}
	signer, err := readSigner(cmd.Context(), signKey, signKeeper)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(manifest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("manifest %s exists: give another --manifest", manifest)
	}
	if err != nil {
		return fmt.Errorf("--manifest: %w", err)
	}
	n, files, err := distribute.Merge(d.mergeDir, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(manifest)
		return &problemError{msg: fmt.Sprintf("merge: %v", err)}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "merged %d item manifests: %d objects\nmanifest: %s\n", files, n, manifest)
	if signer != nil {
		sig, err := signManifestFile(manifest, signer)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "signature: %s\n", sig)
	}
	return nil
}

// openWorkQueue opens a worker's subscription. A jetstream:// one fetches
// one item at a time: items wait in the queue, where any worker can take
// them, rather than in this worker's prefetch buffer, where their ack wait
// would run out while an earlier item is copied.
func openWorkQueue(ctx context.Context, u string) (*gcpubsub.Subscription, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != jsadapter.Scheme {
		return cppubsub.OpenSubscription(ctx, u)
	}
	o := &jsadapter.URLOpener{SubscriptionOptions: jsadapter.SubscriptionOptions{
		ReceiveBatcherOptions: batcher.Options{MaxBatchSize: 1, MaxHandlers: 1},
	}}
	return cppubsub.OpenSubscriptionWith(ctx, o, u)
}

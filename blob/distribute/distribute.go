// Package distribute scales a migration out over many processes: a
// coordinator lists the source and publishes work items (lists of keys) to a
// queue (any gocloud pubsub topic, e.g. civicport's jetstream:// driver), and
// any number of workers receive items, copy their objects with migrate.Run,
// verify the copies by re-reading them (SHA-256) against the item's manifest,
// write that manifest, and only then ack the item. Item manifests are merged
// into one at the end.
//
// Delivery is at least once: an item whose worker dies, or fails, is
// delivered again (after the queue's ack deadline, or at once on nack). A
// redelivered item is idempotent: objects already identical on the
// destination are not copied again, and the item's manifest is rewritten
// whole (written to a temporary name and renamed into place only after
// verification, so a killed worker never leaves half a manifest).
package distribute

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/pubsub"

	"github.com/civicport/civicport/blob/migrate"
	"github.com/civicport/civicport/internal/listwork"
	"github.com/civicport/civicport/internal/periodic"
	"github.com/civicport/civicport/internal/redact"
	"github.com/civicport/civicport/pubsub/sign"
)

// Item is one unit of work: copy Keys from the bucket at From to the bucket
// at To. It travels as the JSON body of a message.
type Item struct {
	ID   string   `json:"id"`
	From string   `json:"from"`
	To   string   `json:"to"`
	Keys []string `json:"keys"`
}

// Metadata keys set on published items. MetadataMsgID is JetStream's
// duplicate-detection header: publishing the same plan twice within the
// stream's duplicate window stores each item once.
const (
	MetadataItemID = "civicport-item"
	MetadataMsgID  = "Nats-Msg-Id"
)

// itemID names an item by its position and content, so that planning the
// same source again yields the same IDs (and the same manifest names).
func itemID(seq int, from, to string, keys []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", from, to)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00", k)
	}
	return fmt.Sprintf("%06d-%s", seq, hex.EncodeToString(h.Sum(nil))[:16])
}

// Plan lists every object under prefix in src (the bucket at the URL from)
// and calls publish with items of up to itemSize keys, in listing order, to
// be copied to the bucket at URL to. It returns how many items and objects
// it published. The URLs travel in the items: workers open them themselves,
// so they should carry no credentials (the drivers take those from the
// environment).
func Plan(ctx context.Context, src *gcblob.Bucket, from, to, prefix string, itemSize int, publish func(context.Context, Item) error) (items, objects int, err error) {
	if itemSize < 1 {
		return 0, 0, fmt.Errorf("distribute: item size %d: want 1 or more", itemSize)
	}
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		it := Item{ID: itemID(items, from, to, keys), From: from, To: to, Keys: keys}
		if err := publish(ctx, it); err != nil {
			return fmt.Errorf("publish item %s: %w", it.ID, err)
		}
		items++
		objects += len(keys)
		keys = nil
		return nil
	}
	var perr error
	err = listwork.Objects(ctx, src, prefix, func(obj *gcblob.ListObject) bool {
		keys = append(keys, obj.Key)
		if len(keys) == itemSize {
			perr = flush()
		}
		return perr == nil
	})
	switch {
	case perr != nil:
		return items, objects, perr
	case err != nil:
		return items, objects, fmt.Errorf("list source: %w", err)
	}
	return items, objects, flush()
}

// Publisher returns a publish function for Plan that sends each item to t
// as a JSON body, with the item ID as MetadataItemID and as MetadataMsgID
// (idempotency key).
func Publisher(t *pubsub.Topic) func(context.Context, Item) error {
	return func(ctx context.Context, it Item) error {
		body, err := json.Marshal(it)
		if err != nil {
			return err
		}
		return t.Send(ctx, &pubsub.Message{
			Body:     body,
			Metadata: map[string]string{MetadataItemID: it.ID, MetadataMsgID: "civicport-item-" + it.ID},
		})
	}
}

// WorkOptions tunes Work. The zero value is usable.
type WorkOptions struct {
	// Migrate is the template of the options each item is copied with
	// (Workers, Retries, Limits, BufferLimit, ...). Prefix, Manifest, Done,
	// DryRun and Progress are set by Work.
	Migrate migrate.Options
	// Workers is the number of items processed at once (default 1); each
	// item's objects are copied by Migrate.Workers workers of its own.
	Workers int
	// UntilIdle, if set, makes Work return nil once no item has arrived
	// for that long; otherwise Work runs until ctx is done.
	UntilIdle time.Duration
	// Allow, if set, is asked about each item before anything is opened; an
	// item it refuses is acked without being copied and reported as
	// Rejected (a worker should not copy between buckets it was not meant
	// to touch).
	Allow func(Item) error
	// Verifier, if set, checks each item's signature (the coordinator
	// publishes through sign.Wrap) before anything else is done with it:
	// an unsigned item, one signed by a key Verifier does not hold, or one
	// changed after signing is refused (acked, recorded in RejectedName,
	// reported Rejected) and no bucket is opened for it. A failure to check
	// (the verifier's error, e.g. a KMS that cannot be reached) nacks the
	// item, to be checked again. Without a Verifier anyone who can publish
	// to the queue chooses what the workers read and write, with their
	// credentials: set Verifier, Allow, or both.
	Verifier sign.Verifier
	// VerifyOptions tunes the signature check (e.g. MaxAge, to refuse
	// items signed too long ago); nil: no age limit. A replayed item does
	// no harm (items are idempotent), so work queues rarely need one.
	VerifyOptions *sign.VerifyOptions
	// Report, if set, is called after each item (serialised).
	Report func(ItemResult)
	// KeepAlive, if set, is called with an item's message every
	// KeepAliveEvery (default 1s) while the item is worked on, to push back
	// its redelivery deadline (e.g. adapters/jetstream.InProgress), so that an
	// item slower than the queue's ack wait is not handed to a second
	// worker; a dead worker's items still come back after the ack wait.
	KeepAlive      func(*pubsub.Message) error
	KeepAliveEvery time.Duration
}

// ItemResult is what Work did with one item.
type ItemResult struct {
	Item     Item
	Manifest string                // the item manifest written, if Acked
	Summary  *migrate.Summary      // nil if the copy did not run
	Verify   *migrate.VerifyReport // nil if verification did not run
	// Vanished lists keys of the item the source no longer holds; they
	// are left out of the item's manifest.
	Vanished []string
	Acked    bool  // done (copied, verified, manifest written) or rejected
	Rejected bool  // malformed or refused by Allow: acked, nothing copied
	Err      error // why the item was nacked or rejected
	Elapsed  time.Duration
}

// WorkSummary counts what Work did.
type WorkSummary struct {
	Done, Failed, Rejected int
	Objects                int64
}

// Work receives items from sub until ctx is done (or UntilIdle passes
// without an item), and for each: opens its buckets with open (each URL
// once, closed when Work returns), copies the item's keys with migrate.Run,
// re-reads the destination and compares it with the item's manifest
// (migrate.VerifyManifest: SHA-256, size, content type, metadata), writes the
// manifest to manifestDir/item-<ID>.jsonl (temporary name, then rename), and
// acks the message. On any failure it nacks the message (redelivery) and
// writes no manifest. The caller shuts sub down afterwards, which flushes
// pending acks.
func Work(ctx context.Context, sub *pubsub.Subscription, open func(ctx context.Context, url string) (*gcblob.Bucket, error), manifestDir string, opts *WorkOptions) (*WorkSummary, error) {
	var o WorkOptions
	if opts != nil {
		o = *opts
	}
	if o.Workers < 1 {
		o.Workers = 1
	}
	w := &worker{open: open, dir: manifestDir, o: o, buckets: map[string]*bucketOnce{}}
	defer w.closeAll()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range o.Workers {
		wg.Go(func() {
			for {
				rctx, cancel := ctx, context.CancelFunc(func() {})
				if o.UntilIdle > 0 {
					rctx, cancel = context.WithTimeout(ctx, o.UntilIdle)
				}
				msg, err := sub.Receive(rctx)
				cancel()
				if err != nil {
					if ctx.Err() == nil && o.UntilIdle > 0 && errors.Is(err, context.DeadlineExceeded) {
						return // idle
					}
					errOnce.Do(func() { firstErr = err })
					return
				}
				w.handle(ctx, msg)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return &w.sum, ctx.Err()
	}
	if firstErr != nil {
		return &w.sum, fmt.Errorf("receive: %w", firstErr)
	}
	return &w.sum, nil
}

type worker struct {
	open func(context.Context, string) (*gcblob.Bucket, error)
	dir  string
	o    WorkOptions

	mu      sync.Mutex // guards buckets, sum, and serialises Report
	buckets map[string]*bucketOnce
	sum     WorkSummary

	rejMu sync.Mutex // serialises this process's appends to RejectedName
}

// nack returns msg for redelivery, where the backend can.
func nack(msg *pubsub.Message) {
	if msg.Nackable() {
		msg.Nack()
	}
}

type bucketOnce struct {
	once sync.Once
	b    *gcblob.Bucket
	err  error
}

// bucket opens url once; a failed open is retried on the next item.
func (w *worker) bucket(ctx context.Context, url string) (*gcblob.Bucket, error) {
	w.mu.Lock()
	bo := w.buckets[url]
	if bo == nil {
		bo = &bucketOnce{}
		w.buckets[url] = bo
	}
	w.mu.Unlock()
	bo.once.Do(func() { bo.b, bo.err = w.open(ctx, url) })
	if bo.err != nil {
		w.mu.Lock()
		if w.buckets[url] == bo {
			delete(w.buckets, url)
		}
		w.mu.Unlock()
	}
	return bo.b, bo.err
}

func (w *worker) closeAll() {
	for _, bo := range w.buckets {
		if bo.b != nil {
			bo.b.Close()
		}
	}
}

func (w *worker) handle(ctx context.Context, msg *pubsub.Message) {
	start := time.Now()
	var it Item
	res := ItemResult{}
	var err error
	if w.o.Verifier != nil {
		var reason string
		reason, err = sign.Check(ctx, w.o.Verifier, msg.Body, msg.Metadata, w.o.VerifyOptions)
		if err != nil {
			// Not the item's fault: check it again later.
			nack(msg)
			res.Err = fmt.Errorf("check the item's signature: %w", err)
			w.report(res, start)
			return
		}
		if reason != "" {
			err = errors.New(reason)
		}
	}
	if err == nil {
		err = json.Unmarshal(msg.Body, &it)
	}
	if err == nil && (it.ID == "" || it.From == "" || it.To == "" || len(it.Keys) == 0 || strings.ContainsAny(it.ID, `/\`) || strings.HasPrefix(it.ID, ".")) {
		err = errors.New("an item needs an id (no '/', '\\' or leading '.'), from, to and keys")
	}
	if err == nil && w.o.Allow != nil {
		err = w.o.Allow(it)
	}
	res.Item = it
	if err != nil {
		// Redelivery cannot fix it: record it, ack, and report it. If
		// it cannot be recorded, it comes back and is refused again.
		res.Rejected, res.Err = true, fmt.Errorf("item rejected: %w", err)
		if rerr := w.recordRejected(msg, it, err); rerr != nil {
			nack(msg)
			res.Err = fmt.Errorf("%w (and not recorded, so nacked: %v)", res.Err, rerr)
		} else {
			msg.Ack()
			res.Acked = true
		}
	} else {
		stop := w.keepAlive(msg)
		err = w.process(ctx, it, &res)
		stop()
		if err != nil {
			nack(msg)
			res.Err = err
		} else {
			msg.Ack()
			res.Acked = true
		}
	}
	w.report(res, start)
}

// report counts res and passes it to Report.
func (w *worker) report(res ItemResult, start time.Time) {
	res.Elapsed = time.Since(start)
	it := res.Item
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case res.Rejected:
		w.sum.Rejected++
	case res.Err != nil:
		w.sum.Failed++
	default:
		w.sum.Done++
		w.sum.Objects += int64(len(it.Keys) - len(res.Vanished))
	}
	if w.o.Report != nil {
		w.o.Report(res)
	}
}

// keepAlive calls KeepAlive for msg every KeepAliveEvery until stop is
// called.
func (w *worker) keepAlive(msg *pubsub.Message) (stop func()) {
	if w.o.KeepAlive == nil {
		return func() {}
	}
	every := w.o.KeepAliveEvery
	if every <= 0 {
		every = time.Second
	}
	return periodic.Run(every, func() bool {
		_ = w.o.KeepAlive(msg) // best effort: at worst, a redelivery
		return true
	})
}

// RejectedName is the file in the manifest directory where Work records
// every item it refused (one JSON line each: time, the message's id, the
// item as claimed, the reason), so that a forged or misrouted item leaves a
// trace after it is acked.
const RejectedName = "rejected.jsonl"

// Rejection is a line of RejectedName.
type Rejection struct {
	Time      time.Time `json:"time"`
	MessageID string    `json:"message_id,omitempty"` // the backend's LoggableID
	Item      Item      `json:"item"`                 // as the message claimed it; URLs redacted
	Reason    string    `json:"reason"`
}

// recordRejected appends a Rejection to dir/RejectedName and syncs it.
// Lines are appended with one write each (O_APPEND), so workers sharing
// the directory do not interleave them.
func (w *worker) recordRejected(msg *pubsub.Message, it Item, reason error) error {
	why := redact.Strings(reason.Error(), it.From, it.To)
	it.From, it.To = redact.URL(it.From), redact.URL(it.To)
	line, err := json.Marshal(Rejection{Time: time.Now().UTC(), MessageID: msg.LoggableID, Item: it, Reason: why})
	if err != nil {
		return err
	}
	w.rejMu.Lock() // one writer per process; O_APPEND orders processes
	defer w.rejMu.Unlock()
	f, err := os.OpenFile(filepath.Join(w.dir, RejectedName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ManifestName is the name of an item's manifest in the manifest directory.
func ManifestName(id string) string { return "item-" + id + ".jsonl" }

func (w *worker) process(ctx context.Context, it Item, res *ItemResult) error {
	src, err := w.bucket(ctx, it.From)
	if err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	dst, err := w.bucket(ctx, it.To)
	if err != nil {
		return fmt.Errorf("open destination: %w", err)
	}
	var (
		vmu      sync.Mutex
		vanished []string
	)
	fsrc := onlyKeys(src, it.Keys, func(k string) { vmu.Lock(); vanished = append(vanished, k); vmu.Unlock() })
	defer fsrc.Close()
	fdst := onlyKeys(dst, it.Keys, nil)
	defer fdst.Close()

	var mf bytes.Buffer
	mo := w.o.Migrate
	mo.Prefix, mo.Manifest, mo.Done, mo.DryRun, mo.Progress = "", &mf, nil, false, nil
	sum, err := migrate.Run(ctx, fsrc, fdst, &mo)
	res.Summary = sum
	sort.Strings(vanished)
	res.Vanished = vanished
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := sum.Err(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	entries, err := migrate.ReadManifest(&mf)
	if err != nil {
		return err
	}
	if want := len(it.Keys) - len(vanished); len(entries) != want {
		return fmt.Errorf("copy recorded %d objects, want %d", len(entries), want)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })

	// Verify against what was recorded, re-reading the destination; only
	// the recorded keys are listed, so nothing else there counts as extra.
	recorded := make([]string, len(entries))
	for i, e := range entries {
		recorded[i] = e.Key
	}
	vdst := onlyKeys(dst, recorded, nil)
	defer vdst.Close()
	rep, err := migrate.VerifyManifest(ctx, vdst, entries, &migrate.VerifyOptions{Workers: mo.Workers})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	res.Verify = rep
	if err := rep.Err(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	path, err := writeManifest(w.dir, it.ID, entries)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	res.Manifest = path
	return nil
}

// writeManifest writes entries to dir/item-<id>.jsonl atomically: a
// temporary file, synced, then renamed over any earlier one.
func writeManifest(dir, id string, entries []migrate.Entry) (string, error) {
	path := filepath.Join(dir, ManifestName(id))
	f, err := os.CreateTemp(dir, "."+ManifestName(id)+".*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name()) // after a successful rename: no such file
	enc := json.NewEncoder(f)
	for _, e := range entries {
		if err = enc.Encode(e); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return "", err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return path, nil
}

// PlanName is the name of the plan record in a manifest directory: one
// JSON line ({"id": ..., "keys": N}) per published item. When it is there,
// Merge refuses to merge until every planned item has its manifest.
const PlanName = "plan.jsonl"

type planLine struct {
	ID   string `json:"id"`
	Keys int    `json:"keys"`
}

// Recording wraps publish so that each item published is recorded in w
// as a line of a plan record (see PlanName).
func Recording(w io.Writer, publish func(context.Context, Item) error) func(context.Context, Item) error {
	enc := json.NewEncoder(w)
	return func(ctx context.Context, it Item) error {
		if err := publish(ctx, it); err != nil {
			return err
		}
		return enc.Encode(planLine{ID: it.ID, Keys: len(it.Keys)})
	}
}

// missingItems returns the IDs that dir's plan record lists without an
// item manifest (nil when there is no plan record).
func missingItems(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, PlanName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var pl planLine
		if err := json.Unmarshal(line, &pl); err != nil || pl.ID == "" || strings.ContainsAny(pl.ID, `/\`) {
			return nil, fmt.Errorf("%s line %d: not a plan record", PlanName, i+1)
		}
		if _, err := os.Stat(filepath.Join(dir, ManifestName(pl.ID))); err != nil {
			missing = append(missing, pl.ID)
		}
	}
	return missing, nil
}

// Merge reads every item manifest (item-*.jsonl) in dir and writes one
// manifest to out, sorted by key, listing each key once. A key that two
// item manifests record differently is an error naming both; a key they
// record identically (an item planned twice) is listed once. It returns the
// number of entries written and of item manifests read. If dir holds a
// plan record (PlanName), every item it lists must have its manifest, or
// Merge writes nothing and returns an error naming the missing items.
func Merge(dir string, out io.Writer) (entries, files int, err error) {
	missing, err := missingItems(dir)
	if err != nil {
		return 0, 0, err
	}
	if len(missing) > 0 {
		return 0, 0, fmt.Errorf("%d planned items have no manifest yet (still queued, or failing?): %s", len(missing), strings.Join(missing[:min(len(missing), 5)], ", "))
	}
	paths, err := filepath.Glob(filepath.Join(dir, "item-*.jsonl"))
	if err != nil {
		return 0, 0, err
	}
	sort.Strings(paths)
	type seen struct {
		e    migrate.Entry
		file string
	}
	all := map[string]seen{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, 0, err
		}
		es, err := migrate.ReadManifest(f)
		f.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", p, err)
		}
		for _, e := range es {
			if prev, ok := all[e.Key]; ok {
				if !sameEntry(prev.e, e) {
					return 0, 0, fmt.Errorf("key %q is recorded differently in %s and %s", e.Key, filepath.Base(prev.file), filepath.Base(p))
				}
				continue
			}
			all[e.Key] = seen{e, p}
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	enc := json.NewEncoder(out)
	for _, k := range keys {
		if err := enc.Encode(all[k].e); err != nil {
			return 0, len(paths), err
		}
	}
	return len(keys), len(paths), nil
}

func sameEntry(a, b migrate.Entry) bool {
	return a.Key == b.Key && a.Size == b.Size && a.SHA256 == b.SHA256 && a.ContentType == b.ContentType && maps.Equal(a.Metadata, b.Metadata)
}

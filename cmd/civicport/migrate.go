package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	gcblob "gocloud.dev/blob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/migrate"
)

// defaultManifest is where migrate writes its manifest without --manifest.
const defaultManifest = "civicport-manifest.jsonl"

func newMigrateCmd() *cobra.Command {
	var (
		from, to, prefix, manifest, signKey, signKeeper string
		workers                                         int
		dryRun, resume, checksum                        bool
		idle, objTimeout                                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "migrate --from URL --to URL [--prefix P] [--workers N] [--dry-run] [--resume] [--checksum] [--manifest FILE] [--sign-key KEY]",
		Short: "Copy a bucket to another provider, SHA-256 verified, resumable",
		Long: `migrate copies every object (under --prefix) from --from to --to, streaming,
with content type, cache and content headers and all user metadata. It
computes SHA-256 from the bytes read (provider hashes are not trusted across
providers), records it as civicport-sha256 metadata on the destination and as
one JSON line per object in the manifest, and skips objects already identical
on the destination (same size and recorded SHA-256; with --checksum the
destination's bytes are re-read and hashed first, so that a copy corrupted or
rewritten in place with its metadata kept is copied again).

--idle-timeout (default 5m) abandons an object when none of its bytes moved
for that long (a frozen or partitioned server), retries it, and fails it if
it stalls again; the run goes on with the others. Each page of the source
and destination listings is bounded by it too (and retried); a source
listing that stalls on every try ends the run. --object-timeout (default
none) abandons and retries an object not copied within that long, however
steadily its bytes trickle.

--resume continues an interrupted run from its manifest: what it recorded and
the destination still holds is not copied again, and no key is listed twice.
--dry-run writes nothing and lists what would be copied, what is already there
and what the destination cannot hold. --sign-key signs the manifest
(FILE.sig) with a note key from civicport keygen (or note.GenerateKey); a key
keygen sealed with --keeper needs --sign-key-keeper with the same keeper URL.

Exit status: 0 every object copied or already there, 1 some object failed
(listed) or the run stopped after it had written (summary printed), 2 bad
usage or input, or stopped before anything was written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := distinctBuckets(from, to); err != nil {
				return err
			}
			if workers < 1 {
				return fmt.Errorf("--workers %d: want 1 or more", workers)
			}
			if resume && dryRun {
				return fmt.Errorf("--resume and --dry-run do not go together")
			}
			signer, err := readSigner(ctx, signKey, signKeeper)
			if err != nil {
				return err
			}
			src, dst, err := openPair(ctx, from, to)
			if err != nil {
				return err
			}
			defer src.Close()
			defer dst.Close()

			if err := nonNegative("0 (none) or more", durationFlag{"idle-timeout", idle}, durationFlag{"object-timeout", objTimeout}); err != nil {
				return err
			}
			opts := &migrate.Options{Prefix: prefix, Workers: workers, DryRun: dryRun, Checksum: checksum,
				IdleTimeout: idle, ObjectTimeout: objTimeout, Limits: limitsOf(to)}
			var mf *os.File
			if !dryRun {
				var done *migrate.SortedManifest
				if mf, done, err = openManifest(ctx, manifest, resume); err != nil {
					return err
				}
				defer mf.Close()
				defer done.Close()
				opts.Manifest, opts.DoneSorted = mf, done
			}
			prog := newProgress(errOut)
			opts.Progress = func(key string, size int64, o migrate.Outcome, err error) {
				if dryRun {
					switch o {
					case migrate.Copied:
						fmt.Fprintf(out, "would copy  %s (%d bytes)\n", key, size)
					case migrate.Skipped:
						fmt.Fprintf(out, "identical   %s\n", key)
					}
				}
				prog.add(size)
			}
			defer softMemoryLimit(opts.DataInFlight())()
			sum, err := migrate.Run(ctx, src, dst, opts)
			prog.stop()
			if err != nil {
				msg := fmt.Sprintf("migrate stopped: %s (rerun with --resume to continue)", blob.Describe(err, from+" "+to))
				if sum.Copied == 0 || dryRun {
					return errors.New(msg) // exit 2: nothing was written
				}
				// Objects were written: the job ran and failed (exit 1), and
				// the summary says how far it got.
				fmt.Fprintf(out, "migrate (stopped): %s\n", sum)
				return &problemError{msg: msg}
			}
			if mf != nil {
				if err := mf.Close(); err != nil {
					return fmt.Errorf("manifest %s: %w", manifest, err)
				}
				// A resumed run may have listed a re-copied key again.
				if resume {
					if err := migrate.CompactManifest(manifest); err != nil {
						return fmt.Errorf("manifest %s: %w", manifest, err)
					}
				}
			}
			verb := "migrate"
			if dryRun {
				verb = "migrate --dry-run (nothing written; copied = would copy)"
			}
			fmt.Fprintf(out, "%s: %s\n", verb, sum)
			for _, f := range sum.Failures {
				fmt.Fprintf(out, "failed %s: %s\n", f.Key, f.Err)
			}
			if mf != nil {
				fmt.Fprintf(out, "manifest: %s\n", manifest)
				if signer != nil {
					sig, err := signManifestFile(manifest, signer)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "signature: %s\n", sig)
				}
			}
			if sum.Failed > 0 {
				return &problemError{msg: fmt.Sprintf("%d objects failed", sum.Failed)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source bucket URL")
	f.StringVar(&to, "to", "", "destination bucket URL")
	f.StringVar(&prefix, "prefix", "", "copy only keys starting with this prefix")
	f.IntVar(&workers, "workers", 4, "objects copied in parallel")
	f.BoolVar(&dryRun, "dry-run", false, "write nothing; list what would be copied, skipped or refused")
	f.BoolVar(&resume, "resume", false, "continue an interrupted run from its --manifest")
	f.DurationVar(&idle, "idle-timeout", 5*time.Minute, "abandon (and retry) an object when none of its bytes moved for this long: a frozen server fails the object instead of hanging the run (0: never)")
	f.DurationVar(&objTimeout, "object-timeout", 0, "abandon (and retry) an object not copied within this long, however steadily its bytes move (0: never)")
	f.BoolVar(&checksum, "checksum", false, "re-read and hash destination objects before skipping them as identical (repairs copies changed in place; reads them whole)")
	f.StringVar(&manifest, "manifest", defaultManifest, "manifest file (JSON lines: key, size, sha256, content_type, metadata)")
	f.StringVar(&signKey, "sign-key", "", "sign the manifest (writes MANIFEST.sig) or, with --work-to, every work item, with this note private key (a file path or file:// URL, from civicport keygen)")
	f.StringVar(&signKeeper, "sign-key-keeper", "", "keeper URL that sealed --sign-key (keygen --keeper)")
	return cmd
}

// distinctBuckets checks both URLs are given and name different buckets.
func distinctBuckets(from, to string) error {
	if from == "" || to == "" {
		return fmt.Errorf("--from URL and --to URL are both required")
	}
	norm := func(s string) string {
		u, err := url.Parse(s)
		if err != nil {
			return s
		}
		return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/") + "?" + u.Query().Encode()
	}
	if norm(from) == norm(to) {
		return fmt.Errorf("--from and --to are the same bucket (%s)", blob.Redact(from))
	}
	return nil
}

// openPair opens and pings --from and --to.
func openPair(ctx context.Context, from, to string) (src, dst *gcblob.Bucket, err error) {
	if src, err = openChecked(ctx, from, "--from"); err != nil {
		return nil, nil, err
	}
	if dst, err = openChecked(ctx, to, "--to"); err != nil {
		src.Close()
		return nil, nil, err
	}
	return src, dst, nil
}

// openChecked opens and pings a bucket; errors name the flag.
func openChecked(ctx context.Context, u, flag string) (*gcblob.Bucket, error) {
	b, err := blob.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if err := blob.Ping(ctx, b, u); err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

func limitsOf(u string) *migrate.Limits {
	p, err := url.Parse(u)
	if err != nil {
		return nil
	}
	return migrate.LimitsFor(p.Scheme)
}

// openManifest creates the manifest (refusing to overwrite one), or with
// resume reopens it for appending and returns what it recorded, in key
// order (sorted through temporary files in os.TempDir() when large, so
// that memory does not grow with the manifest).
func openManifest(ctx context.Context, path string, resume bool) (*os.File, *migrate.SortedManifest, error) {
	if resume {
		f, done, err := migrate.ResumeManifestSorted(ctx, path, nil)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("--resume: manifest %s does not exist (give the --manifest of the interrupted run)", path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("--resume: %w", err)
		}
		return f, done, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, nil, fmt.Errorf("manifest %s exists: pass --resume to continue that run, or another --manifest", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--manifest: %w", err)
	}
	return f, nil, nil
}

func signManifestFile(path string, signer note.Signer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sig, err := migrate.SignManifestReader(f, signer)
	if err != nil {
		return "", err
	}
	sigPath := path + ".sig"
	return sigPath, os.WriteFile(sigPath, sig, 0o644)
}

// progress shows on a terminal, as the copy goes, the objects done, their
// bytes and the rate (schollz/progressbar). There is no listing pass
// before the copy (at millions of objects it would delay the first byte by
// minutes), so the total and an ETA are not known. Elsewhere it does
// nothing.
type progress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
	n   int64
}

func newProgress(w io.Writer) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("0 objects"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progress) add(size int64) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.bar.Describe(fmt.Sprintf("%d objects", p.n))
	_ = p.bar.Add64(size)
}

func (p *progress) stop() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// softMemoryLimit sets Go's soft memory limit to inFlight plus 64 MiB for
// everything else, unless GOMEMLIMIT sets one, and returns what restores
// the previous limit. Without it the heap grows to twice what is live
// before a collection (GOGC=100), and peak RSS with it; measured in
// scripts/bench-migrate.sh (README).
func softMemoryLimit(inFlight int64) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(inFlight + 64<<20)
	return func() { debug.SetMemoryLimit(prev) }
}

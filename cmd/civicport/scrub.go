package main

import (
	"fmt"

	"github.com/spf13/cobra"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/mirror"
)

func newScrubCmd() *cobra.Command {
	var (
		urls   []string
		scope  objectScope
		dryRun bool

		manifest, pubkey string
	)
	cmd := &cobra.Command{
		Use:   "scrub --mirror URL,URL[,URL] [--manifest FILE [--pubkey FILE]] [--dry-run]",
		Short: "Compare mirrored copies by SHA-256 and repair a bad or missing copy",
		Long: `scrub reads every object on every copy of a mirror, decides which content
is good, and rewrites each copy that lacks the object or holds other bytes
from a good copy. It prints every repair.

Good is decided by evidence no single provider can forge: with --manifest
(a migrate manifest, its signature checked first with --pubkey), the SHA-256
it lists; otherwise the content a strict majority of the copies hold (a copy
whose content does not match its own recorded civicport-sha256 does not
vote). An insider at one provider can rewrite an object and its recorded
hash together, so a copy's own record never outvotes the others. Copies
that disagree with no majority (two copies, different content) are reported
unresolved and left as they are.

Exit status: 0 every copy is whole (after the repairs), 1 something could not
be repaired (or, with --dry-run, something needs repair), 2 bad usage or an
unreachable copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(urls) < 2 {
				return fmt.Errorf("--mirror needs at least 2 bucket URLs, comma-separated; got %d", len(urls))
			}
			if err := scope.check(); err != nil {
				return err
			}
			if pubkey != "" && manifest == "" {
				return fmt.Errorf("--pubkey checks a manifest's signature: use it with --manifest")
			}
			var expected func(string) (string, bool)
			if manifest != "" {
				entries, err := readManifestFlag(out, manifest, pubkey)
				if err != nil {
					return err
				}
				sums := make(map[string]string, len(entries))
				for _, e := range entries {
					sums[e.Key] = e.SHA256
				}
				expected = func(k string) (string, bool) { s, ok := sums[k]; return s, ok }
			}
			var copies []*gcblob.Bucket
			defer func() {
				for _, c := range copies {
					c.Close()
				}
			}()
			names := make([]string, len(urls))
			for i, u := range urls {
				b, err := openChecked(ctx, u, "--mirror")
				if err != nil {
					return err
				}
				copies = append(copies, b)
				names[i] = blob.Redact(u)
			}
			rep, err := mirror.Scrub(ctx, copies, &mirror.ScrubOptions{Names: names, Prefix: scope.prefix, Workers: scope.workers, DryRun: dryRun, Expected: expected})
			if err != nil {
				return err
			}
			verb := "repaired"
			if dryRun {
				verb = "would repair"
			}
			for _, r := range rep.Repairs {
				status := verb
				if r.Err != "" {
					status = "FAILED to repair"
				}
				fmt.Fprintf(out, "%s %s on %s (%s) from %s", status, r.Key, r.Copy, r.Reason, r.From)
				if r.Err != "" {
					fmt.Fprintf(out, ": %s", r.Err)
				}
				fmt.Fprintln(out)
			}
			for _, u := range rep.Unresolved {
				fmt.Fprintf(out, "unresolved %s: %s\n", u.Key, u.Reason)
			}
			fmt.Fprintf(out, "scrub: %s\n", rep)
			if !rep.OK() || (dryRun && len(rep.Repairs) > 0) {
				return &problemError{msg: "not every copy is whole"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&urls, "mirror", nil, "the copies' bucket URLs, comma-separated (or repeat the flag)")
	scope.register(cmd, "scrub", "checked")
	f.BoolVar(&dryRun, "dry-run", false, "report what needs repair, change nothing")
	f.StringVar(&manifest, "manifest", "", "trusted evidence: a manifest written by migrate (its sha256 decides what is good)")
	f.StringVar(&pubkey, "pubkey", "", "note verifier key file; checks MANIFEST.sig before trusting --manifest")
	return cmd
}

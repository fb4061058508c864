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
		urls    []string
		prefix  string
		workers int
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "scrub --mirror URL,URL[,URL] [--dry-run]",
		Short: "Compare mirrored copies by SHA-256 and repair a bad or missing copy",
		Long: `scrub reads every object on every copy of a mirror, decides which content
is good (it matches its recorded civicport-sha256, or, with no record, most
copies agree), and rewrites each copy that lacks the object or holds other
bytes from a good copy. It prints every repair.

Exit status: 0 every copy is whole (after the repairs), 1 something could not
be repaired (or, with --dry-run, something needs repair), 2 bad usage or an
unreachable copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(urls) < 2 {
				return fmt.Errorf("--mirror needs at least 2 bucket URLs, comma-separated; got %d", len(urls))
			}
			if workers < 1 {
				return fmt.Errorf("--workers %d: want 1 or more", workers)
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
			rep, err := mirror.Scrub(ctx, copies, &mirror.ScrubOptions{Names: names, Prefix: prefix, Workers: workers, DryRun: dryRun})
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
	f.StringVar(&prefix, "prefix", "", "scrub only keys starting with this prefix")
	f.IntVar(&workers, "workers", 4, "objects checked in parallel")
	f.BoolVar(&dryRun, "dry-run", false, "report what needs repair, change nothing")
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the tamper-evident custody audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("audit needs a subcommand: verify, prove or verify-proof")
		},
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditProveCmd(), newAuditVerifyProofCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var logURL, pubkey, origin, bucketURL, bucketName string
	cmd := &cobra.Command{
		Use:   "verify --log URL [--pubkey FILE] [--bucket URL [--bucket-name NAME]]",
		Short: "Recompute the audit log's Merkle tree and check its signed checkpoints",
		Long: `audit verify re-reads every entry of the audit log in the bucket --log,
recomputes its Merkle tree (golang.org/x/mod/sumdb/tlog, RFC 6962) and hash
chain, and checks every signed checkpoint against it: each signed root must
match the entries, and each older checkpoint must be a prefix of the latest.
It names the first bad entry: altered, removed, reordered, inserted or
renumbered entries, a log cut shorter than a signed checkpoint, a forged
checkpoint or one signed by another key.

--pubkey is the log's note verifier key (the "name+hash+key" line from
note.GenerateKey). Without it, structure and hashes are checked but not the
signatures, and the output says so.

With --bucket it also compares the bucket with what the log says of it
(the entries whose bucket is --bucket-name): every object no entry accounts
for (written around the log), every object the log says is there that is
gone, every object whose bytes do not hash to its latest write entry's
SHA-256 (each object is read whole), and every change whose intent was
recorded but not its completion (a crash or a failed record in between).
The log's own entries are trusted only as far as its signatures are
checked: give --pubkey.

Exit status: 0 the log is whole (and the bucket agrees), 1 a problem found (the first bad entry is
named), 2 bad usage or input (bad URL, unreadable or malformed key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if logURL == "" {
				return fmt.Errorf("--log URL is required")
			}
			if bucketName != "" && bucketURL == "" {
				return fmt.Errorf("--bucket-name names the --bucket in the log: give --bucket URL too")
			}
			var verifier note.Verifier
			if pubkey != "" {
				var err error
				if verifier, err = readPubkey(pubkey); err != nil {
					return err
				}
			}
			b, err := openChecked(ctx, logURL, "--log")
			if err != nil {
				return err
			}
			defer b.Close()
			rep, err := audit.Verify(ctx, b, verifier, &audit.Options{Origin: origin})
			if err != nil {
				return fmt.Errorf("--log %s: %w", blob.Redact(logURL), err)
			}
			fmt.Fprintf(out, "audit log %s: %d entries, %d checkpoints, signed tree size %d, root %s\n",
				blob.Redact(logURL), rep.Entries, rep.Checkpoints, rep.TreeSize, rep.RootHash)
			if verifier != nil {
				fmt.Fprintf(out, "signatures: checked against %s\n", verifier.Name())
			} else {
				fmt.Fprintln(out, "signatures: NOT checked (no --pubkey): structure and hashes only")
			}
			if rep.Checkpoints == 0 && rep.Entries > 0 {
				fmt.Fprintln(out, "warning: no checkpoint: no entry is covered by a signature")
			} else if u := rep.Unsigned(); u > 0 {
				fmt.Fprintf(out, "note: the last %d entries are after the latest checkpoint (not signed yet)\n", u)
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(out, p)
			}
			bucketProblems := 0
			if bucketURL != "" {
				if bucketName == "" {
					bucketName = blob.Redact(bucketURL)
				}
				rb, err := openChecked(ctx, bucketURL, "--bucket")
				if err != nil {
					return err
				}
				defer rb.Close()
				br, err := audit.CheckBucket(ctx, b, rb, bucketName)
				if err != nil {
					return fmt.Errorf("--bucket %s: %w", blob.Redact(bucketURL), err)
				}
				fmt.Fprintf(out, "bucket %s (%q in the log): %d objects, %d entries, %d objects hashed\n",
					blob.Redact(bucketURL), bucketName, br.Objects, br.Entries, br.Hashed)
				for _, p := range br.Problems {
					fmt.Fprintln(out, p)
				}
				bucketProblems = len(br.Problems)
			}
			if rep.OK() && bucketProblems == 0 {
				fmt.Fprintln(out, "audit: OK")
				return nil
			}
			if rep.OK() {
				return &problemError{msg: fmt.Sprintf("the bucket and its audit log disagree: %d problems", bucketProblems)}
			}
			if rep.FirstBad >= 0 {
				fmt.Fprintf(out, "first bad entry: %d (%s)\n", rep.FirstBad, audit.EntryKey(rep.FirstBad))
				return &problemError{msg: fmt.Sprintf("the audit log is damaged: first bad entry %d (%d problems)", rep.FirstBad, len(rep.Problems))}
			}
			return &problemError{msg: fmt.Sprintf("the audit log is damaged: %d problems", len(rep.Problems))}
		},
	}
	f := cmd.Flags()
	f.StringVar(&logURL, "log", "", "bucket URL of the audit log")
	f.StringVar(&pubkey, "pubkey", "", "file holding the log's note verifier key")
	f.StringVar(&origin, "origin", "", "require this origin (first line) in every checkpoint")
	f.StringVar(&bucketURL, "bucket", "", "also compare this bucket with the log: objects no entry accounts for, objects gone or changed (read and hashed), unfinished changes")
	f.StringVar(&bucketName, "bucket-name", "", "the bucket's name in the log's entries (default: the redacted --bucket URL, as civicport records it)")
	return cmd
}

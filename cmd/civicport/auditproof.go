package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/audit"
)

func newAuditProveCmd() *cobra.Command {
	var logURL, key, bucket, op, outFile, signKey, signKeeper string
	var index int64
	cmd := &cobra.Command{
		Use:   "prove --log URL (--key KEY [--bucket NAME] [--op OP] | --index N) [--out FILE] [--sign-key KEY [--sign-key-keeper URL]]",
		Short: "Write an inclusion proof of one audit entry against a signed checkpoint",
		Long: `audit prove writes a self-contained proof (JSON) that one entry is in the
signed audit log: the entry's exact bytes, its index, a signed checkpoint
and the Merkle inclusion proof from the entry to that checkpoint's root.
An auditor checks it offline with only the log's public key:
civicport audit verify-proof --proof FILE --pubkey FILE (or any tlog
implementation; see the blob/audit package doc).

The entry is the latest one for --key (in the bucket named --bucket, as the
log records it, and of operation --op, when given), found by reading the log
from its newest entry back; or entry --index N. The proof is against the
latest signed checkpoint in the log; with --sign-key a fresh checkpoint is
signed first (and stored in the log), so that entries after the latest
checkpoint can be proven too.

Exit status: 0 proof written, 1 no such entry or no checkpoint covers it,
2 bad usage or input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, fl := cmd.Context(), cmd.Flags()
			switch {
			case logURL == "":
				return fmt.Errorf("--log URL is required")
			case (key == "") == !fl.Changed("index"):
				return fmt.Errorf("give --key KEY (the latest entry for that object) or --index N, not both")
			case fl.Changed("index") && (bucket != "" || op != ""):
				return fmt.Errorf("--bucket and --op select among the entries for --key: not with --index")
			case index < 0:
				return fmt.Errorf("--index %d: want 0 or more", index)
			}
			signer, err := readSigner(ctx, signKey, signKeeper)
			if err != nil {
				return err
			}
			b, err := openChecked(ctx, logURL, "--log")
			if err != nil {
				return err
			}
			defer b.Close()
			log, err := audit.Open(ctx, b, signer, nil)
			if err != nil {
				if errors.Is(err, audit.ErrDamaged) {
					return &problemError{msg: fmt.Sprintf("--log %s: %v (run audit verify)", blob.Redact(logURL), err)}
				}
				return fmt.Errorf("--log %s: %w", blob.Redact(logURL), err)
			}
			if key != "" {
				if index, err = log.Find(ctx, bucket, key, op); err != nil {
					if errors.Is(err, audit.ErrNoEntry) {
						return &problemError{msg: fmt.Sprintf("no entry in the log for key %q%s", key, describeFilter(bucket, op))}
					}
					return err
				}
			}
			p, err := log.ProofOf(ctx, index)
			if err != nil {
				return &problemError{msg: fmt.Sprintf("cannot prove entry %d: %v", index, err)}
			}
			if err := writeOut(cmd.OutOrStdout(), outFile, func(w io.Writer) error { _, err := p.WriteTo(w); return err }); err != nil {
				return err
			}
			if outFile != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "proof of entry %d written to %s\n", index, outFile)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&logURL, "log", "", "bucket URL of the audit log")
	f.StringVar(&key, "key", "", "prove the latest entry for this object key")
	f.StringVar(&bucket, "bucket", "", "with --key: only entries for this bucket name, as the log records it")
	f.StringVar(&op, "op", "", "with --key: only entries of this operation (write, copy, delete, ...)")
	f.Int64Var(&index, "index", 0, "prove entry N")
	f.StringVar(&outFile, "out", "", "write the proof to FILE instead of standard output")
	f.StringVar(&signKey, "sign-key", "", "sign a fresh checkpoint with this note private key first (file path or file:// URL)")
	f.StringVar(&signKeeper, "sign-key-keeper", "", "keeper URL that sealed --sign-key")
	return cmd
}

func describeFilter(bucket, op string) string {
	var s []string
	if bucket != "" {
		s = append(s, fmt.Sprintf("bucket %q", bucket))
	}
	if op != "" {
		s = append(s, fmt.Sprintf("operation %q", op))
	}
	if len(s) == 0 {
		return ""
	}
	return " with " + strings.Join(s, " and ")
}

func newAuditVerifyProofCmd() *cobra.Command {
	var proofFile, pubkey, object, sum string
	cmd := &cobra.Command{
		Use:   "verify-proof --proof FILE --pubkey FILE [--object FILE | --sha256 HEX]",
		Short: "Check an audit inclusion proof offline, with only the log's public key",
		Long: `audit verify-proof checks a proof written by audit prove, with nothing but
the log's note verifier key: the checkpoint's signature, and that the entry
is in the tree that checkpoint signs. It prints the entry (time, actor,
operation, bucket, key, SHA-256). With --object FILE (the record itself) or
--sha256 HEX it also checks that the entry's SHA-256 is that record's.

Exit status: 0 the proof holds (and the record matches), 1 it does not, 2
bad usage or input (unreadable or malformed proof or key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			switch {
			case proofFile == "" || pubkey == "":
				return fmt.Errorf("--proof FILE and --pubkey FILE are required")
			case object != "" && sum != "":
				return fmt.Errorf("give --object FILE or --sha256 HEX, not both")
			}
			if sum != "" {
				if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
					return fmt.Errorf("--sha256 %q: want 64 hex digits", sum)
				}
				sum = strings.ToLower(sum)
			}
			v, err := readPubkey(pubkey)
			if err != nil {
				return err
			}
			f, err := os.Open(proofFile)
			if err != nil {
				return fmt.Errorf("--proof: %w", err)
			}
			p, err := audit.ReadProof(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("--proof %s: %w", proofFile, err)
			}
			if object != "" {
				if sum, err = fileSHA256(object); err != nil {
					return fmt.Errorf("--object: %w", err)
				}
			}
			e, cp, err := p.Check(v)
			if err != nil {
				if errors.Is(err, audit.ErrProof) {
					fmt.Fprintf(out, "proof: FAILED: %v\n", err)
					return &problemError{msg: "the proof does not hold"}
				}
				return fmt.Errorf("--proof %s: %w", proofFile, err)
			}
			fmt.Fprintf(out, "entry %d of the log signed by %s (checkpoint: size %d, origin %s):\n", e.Index, v.Name(), cp.N, cp.Origin)
			fmt.Fprintf(out, "  time %s\n  actor %s\n  op %s\n  bucket %s\n  key %s\n  sha256 %s\n",
				e.Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), e.Actor, e.Operation, e.Bucket, e.Key, e.SHA256)
			if sum != "" {
				if e.SHA256 != sum {
					fmt.Fprintf(out, "record: MISMATCH: its SHA-256 is %s, the entry says %q\n", sum, e.SHA256)
					return &problemError{msg: "the record is not the one the entry covers"}
				}
				fmt.Fprintln(out, "record: matches the entry's SHA-256")
			}
			fmt.Fprintln(out, "proof: OK")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&proofFile, "proof", "", "proof file written by audit prove")
	f.StringVar(&pubkey, "pubkey", "", "file holding the log's note verifier key")
	f.StringVar(&object, "object", "", "the record itself: check that the entry's SHA-256 is its SHA-256")
	f.StringVar(&sum, "sha256", "", "check that the entry's SHA-256 is this")
	return cmd
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

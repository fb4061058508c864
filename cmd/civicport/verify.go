package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/migrate"
)

func newVerifyCmd() *cobra.Command {
	var (
		from, to, manifest, bucket, pubkey string
		scope                              objectScope
	)
	cmd := &cobra.Command{
		Use:   "verify --from URL --to URL | --manifest FILE --bucket URL [--pubkey FILE]",
		Short: "Prove a copy: re-read and compare SHA-256, size and metadata",
		Long: `verify --from A --to B re-reads every object on both sides and compares
SHA-256, size, content type and metadata, naming every mismatched, missing
and extra object. verify --manifest FILE --bucket URL checks a bucket against
a manifest offline (no access to the source); with --pubkey it first checks
the manifest's signature (FILE.sig) against that note verifier key.

Exit status: 0 identical, 1 a problem found (listed), 2 bad usage or input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			pair, offline := from != "" || to != "", manifest != "" || bucket != ""
			switch {
			case pair == offline:
				return fmt.Errorf("give either --from URL --to URL, or --manifest FILE --bucket URL")
			case offline && (manifest == "" || bucket == ""):
				return fmt.Errorf("--manifest FILE and --bucket URL are both required")
			case pubkey != "" && !offline:
				return fmt.Errorf("--pubkey checks a manifest's signature: use it with --manifest")
			}
			if err := scope.check(); err != nil {
				return err
			}
			opts := &migrate.VerifyOptions{Prefix: scope.prefix, Workers: scope.workers}
			var rep *migrate.VerifyReport
			if pair {
				if err := distinctBuckets(from, to); err != nil {
					return err
				}
				src, dst, err := openPair(ctx, from, to)
				if err != nil {
					return err
				}
				defer src.Close()
				defer dst.Close()
				if rep, err = migrate.Verify(ctx, src, dst, opts); err != nil {
					return err
				}
			} else {
				entries, err := readSortedManifestFlag(ctx, out, manifest, pubkey)
				if err != nil {
					return err
				}
				defer entries.Close()
				b, err := openChecked(ctx, bucket, "--bucket")
				if err != nil {
					return err
				}
				defer b.Close()
				if rep, err = migrate.VerifySortedManifest(ctx, b, entries, opts); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "verify: %s\n", rep)
			for _, p := range rep.Problems {
				fmt.Fprintf(out, "%-8s %s", p.Kind, p.Key)
				if p.Detail != "" {
					fmt.Fprintf(out, ": %s", p.Detail)
				}
				fmt.Fprintln(out)
			}
			if !rep.OK() {
				return &problemError{msg: fmt.Sprintf("%d problems found", len(rep.Problems))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source bucket URL")
	f.StringVar(&to, "to", "", "destination bucket URL")
	f.StringVar(&manifest, "manifest", "", "manifest written by migrate")
	f.StringVar(&bucket, "bucket", "", "bucket to check against --manifest")
	f.StringVar(&pubkey, "pubkey", "", "note verifier key file; checks MANIFEST.sig first")
	scope.register(cmd, "check", "checked")
	return cmd
}

// checkSignature checks manifestPath.sig against the verifier key in
// pubkeyPath. A bad key file is a usage error; a signature that does not
// verify wraps migrate.ErrManifestSignature.
func checkSignature(manifestPath string, sum [sha256.Size]byte, size int64, pubkeyPath string) error {
	v, err := readPubkey(pubkeyPath)
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(manifestPath + ".sig")
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s.sig not found", migrate.ErrManifestSignature, manifestPath)
	}
	if err != nil {
		return err
	}
	return migrate.CheckManifestSignatureSum(sum, size, sig, v)
}

// readPubkey reads the note verifier key file of a --pubkey flag.
func readPubkey(path string) (note.Verifier, error) {
	vkey, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--pubkey: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, fmt.Errorf("--pubkey %s: not a note verifier key: %v", path, err)
	}
	return v, nil
}

// readManifestFlag reads the --manifest FILE and, with a --pubkey, first
// checks its signature (FILE.sig), printing the outcome to out. A bad
// signature is a problem found (exit 1), anything else bad input.
func readManifestFlag(out io.Writer, manifest, pubkey string) ([]migrate.Entry, error) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return nil, fmt.Errorf("--manifest: %w", err)
	}
	entries, err := migrate.ReadManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("--manifest %s: %w", manifest, err)
	}
	if err := signatureFlag(out, manifest, sha256.Sum256(data), int64(len(data)), pubkey); err != nil {
		return nil, err
	}
	return entries, nil
}

// signatureFlag checks, with a --pubkey, the signature of the --manifest
// FILE of this SHA-256 and size, and prints the outcome to out. A bad
// signature is a problem found (exit 1), anything else bad input.
func signatureFlag(out io.Writer, manifest string, sum [sha256.Size]byte, size int64, pubkey string) error {
	if pubkey == "" {
		return nil
	}
	if err := checkSignature(manifest, sum, size, pubkey); err != nil {
		if errors.Is(err, migrate.ErrManifestSignature) {
			fmt.Fprintf(out, "signature: %v\n", err)
			return &problemError{msg: "the manifest's signature does not verify"}
		}
		return err
	}
	fmt.Fprintf(out, "signature: %s.sig verified\n", manifest)
	return nil
}

// readSortedManifestFlag is readManifestFlag for manifests of any size: the
// entries come sorted by key (through temporary files in os.TempDir()
// when large) and the signature is checked against the bytes as they were
// read, hashed on the way, never held whole.
func readSortedManifestFlag(ctx context.Context, out io.Writer, manifest, pubkey string) (*migrate.SortedManifest, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return nil, fmt.Errorf("--manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r := &hashingReader{r: f, h: h}
	entries, err := migrate.SortManifest(ctx, r, nil)
	if r.err != nil {
		entries.Close()
		return nil, fmt.Errorf("--manifest: %w", r.err)
	}
	if err != nil {
		return nil, fmt.Errorf("--manifest %s: %w", manifest, err)
	}
	if pubkey != "" {
		if _, err := io.Copy(io.Discard, r); err != nil { // at its end already
			entries.Close()
			return nil, fmt.Errorf("--manifest: %w", err)
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		if err := signatureFlag(out, manifest, sum, r.n, pubkey); err != nil {
			entries.Close()
			return nil, err
		}
	}
	return entries, nil
}

// hashingReader hashes and counts what is read through it and keeps the
// first read error.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/audit"
	"github.com/civicport/civicport/secrets"
)

func newKeygenCmd() *cobra.Command {
	var name, out, keeperURL string
	cmd := &cobra.Command{
		Use:   "keygen --name NAME --out FILE [--keeper URL]",
		Short: "Make a key pair for signing manifests (the private half sealed by a KMS or HSM if you like)",
		Long: `keygen makes an Ed25519 key pair in Go's signed-note format
(golang.org/x/mod/sumdb/note): migrate --sign-key signs manifests with the
private key; verify --pubkey and audit verify --pubkey check signatures with
the verifier key. It writes the private key to FILE (mode 0600) and the
verifier key to FILE.pub, and never overwrites a file.

With --keeper URL (awskms://, gcpkms://, pkcs11://, ring://, ...) the private
key is sealed: FILE holds it encrypted by that key service, useless without
it. Sign with --sign-key FILE --sign-key-keeper URL; the verifier key is
public and never sealed.

Exit status: 0 written, 2 bad usage or input (nothing written).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return fmt.Errorf("--name and --out are both required")
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, name)
			if err != nil {
				return err
			}
			// GenerateKey takes any name; signing and verifying refuse a bad one.
			if _, err := note.NewSigner(skey); err != nil {
				return fmt.Errorf("--name %q: not a valid key name (want UTF-8 without spaces or '+'): %v", name, err)
			}
			priv := []byte(skey + "\n")
			if keeperURL != "" {
				if priv, err = sealKey(cmd.Context(), keeperURL, skey); err != nil {
					return err
				}
			}
			pub := out + ".pub"
			for _, p := range []string{out, pub} {
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s exists: keygen never overwrites a key; give another --out", p)
				}
			}
			if err := writeNew(out, priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(pub, []byte(vkey+"\n"), 0o644); err != nil {
				_ = os.Remove(out)
				return err
			}
			w := cmd.OutOrStdout()
			if keeperURL != "" {
				fmt.Fprintf(w, "private key: %s (sealed by %s)\n", out, secrets.RedactURL(keeperURL))
			} else {
				fmt.Fprintf(w, "private key: %s (keep it secret)\n", out)
			}
			fmt.Fprintf(w, "verifier key: %s\n%s\n", pub, vkey)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "key name, e.g. county-clerk.example.gov (shown in every signature)")
	f.StringVar(&out, "out", "", "private key file to write; the verifier key goes to FILE.pub")
	f.StringVar(&keeperURL, "keeper", "", "seal the private key with this keeper URL")
	return cmd
}

func sealKey(ctx context.Context, keeperURL, skey string) ([]byte, error) {
	k, err := secrets.Open(ctx, keeperURL)
	if err != nil {
		return nil, fmt.Errorf("--keeper: %w", err)
	}
	defer k.Close()
	sealed, err := audit.SealSignerKey(ctx, k, skey)
	if err != nil {
		return nil, fmt.Errorf("--keeper %s: encrypt the private key: %v", secrets.RedactURL(keeperURL), err)
	}
	return sealed, nil
}

func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: keygen never overwrites a key; give another --out", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// readSigner reads the note private key of --sign-key (a path or a file://
// URL), unsealing it first with the keeper at keeperURL when that is set.
// Without --sign-key it returns no signer.
func readSigner(ctx context.Context, key, keeperURL string) (note.Signer, error) {
	switch {
	case key == "" && keeperURL != "":
		return nil, fmt.Errorf("--sign-key-keeper goes with --sign-key (the sealed key file)")
	case key == "":
		return nil, nil
	}
	path := key
	if strings.HasPrefix(key, "file://") {
		u, err := url.Parse(key)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("--sign-key %s: want a file path or file:///ABSOLUTE/PATH", key)
		}
		path = u.Path
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	if keeperURL != "" {
		k, err := secrets.Open(ctx, keeperURL)
		if err != nil {
			return nil, fmt.Errorf("--sign-key-keeper: %w", err)
		}
		defer k.Close()
		s, err := audit.SignerFromKeeper(ctx, k, data)
		if err != nil {
			return nil, fmt.Errorf("--sign-key %s: cannot unseal it with --sign-key-keeper %s (sealed by another key?): %v", key, secrets.RedactURL(keeperURL), err)
		}
		return s, nil
	}
	s, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		hint := "want the PRIVATE+KEY+... text from civicport keygen or note.GenerateKey"
		if keeperURL == "" && !strings.HasPrefix(string(data), "PRIVATE+KEY+") {
			hint += "; if keygen sealed it, add --sign-key-keeper URL"
		}
		return nil, fmt.Errorf("--sign-key %s: not a note private key (%s): %v", key, hint, err)
	}
	return s, nil
}

package audit

import (
	"context"
	"fmt"
	"strings"

	"gocloud.dev/secrets"
	"golang.org/x/mod/sumdb/note"
)

// SealSignerKey encrypts a signer key (the "PRIVATE+KEY+..." text from
// note.GenerateKey) with keeper, so it can be kept next to the service that
// appends to the log without being readable there: only a process allowed
// to use the KMS key can sign checkpoints.
func SealSignerKey(ctx context.Context, keeper *secrets.Keeper, skey string) ([]byte, error) {
	if _, err := note.NewSigner(skey); err != nil {
		return nil, fmt.Errorf("audit: not a note signer key: %v", err)
	}
	return keeper.Encrypt(ctx, []byte(skey))
}

// SignerFromKeeper decrypts a key sealed by SealSignerKey and returns the
// checkpoint signer.
func SignerFromKeeper(ctx context.Context, keeper *secrets.Keeper, sealed []byte) (note.Signer, error) {
	skey, err := keeper.Decrypt(ctx, sealed)
	if err != nil {
		return nil, fmt.Errorf("audit: decrypt signer key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, fmt.Errorf("audit: sealed text is not a note signer key: %v", err)
	}
	return s, nil
}

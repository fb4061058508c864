package main

import (
	"fmt"

	"github.com/spf13/cobra"
	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/secrets"
	"github.com/civicport/civicport/secrets/envelope"
)

// kekFor opens the keeper at u as a KEK whose id, recorded in envelope
// headers, is the keeper's redacted URL (the convention of every civicport
// command, and of ring members).
func kekFor(cmd *cobra.Command, u, flag string) (envelope.KEK, *gcsecrets.Keeper, error) {
	k, err := secrets.Open(cmd.Context(), u)
	if err != nil {
		return envelope.KEK{}, nil, fmt.Errorf("%s: %w", flag, err)
	}
	return envelope.KEK{ID: secrets.RedactURL(u), Keeper: k}, k, nil
}

func newRewrapCmd() *cobra.Command {
	var (
		bucket, from, to string
		scope            objectScope
	)
	cmd := &cobra.Command{
		Use:   "rewrap --bucket URL --from-keeper URL --to-keeper URL",
		Short: "Move a sealed bucket's data keys to a new key service without re-encrypting the records",
		Long: `rewrap rewrites the envelope header of every sealed object under --prefix so
that its data key is wrapped by --to-keeper instead of --from-keeper. Bodies are
not re-encrypted: each object's ciphertext is streamed through unchanged. It is
resumable: objects already wrapped by the new keeper are skipped, so an
interrupted run can simply be run again.

Exit status: 0 every sealed object rewrapped or already done, 1 some object
failed (listed), 2 bad usage or an unreachable bucket or keeper.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bucket == "" || from == "" || to == "" {
				return fmt.Errorf("--bucket, --from-keeper and --to-keeper are all required")
			}
			if err := scope.check(); err != nil {
				return err
			}
			oldKEK, oldK, err := kekFor(cmd, from, "--from-keeper")
			if err != nil {
				return err
			}
			defer oldK.Close()
			newKEK, newK, err := kekFor(cmd, to, "--to-keeper")
			if err != nil {
				return err
			}
			defer newK.Close()
			if oldKEK.ID == newKEK.ID {
				return fmt.Errorf("--from-keeper and --to-keeper are the same keeper (%s)", oldKEK.ID)
			}
			b, err := openChecked(cmd.Context(), bucket, "--bucket")
			if err != nil {
				return err
			}
			defer b.Close()
			sum, err := seal.Rewrap(cmd.Context(), b, []envelope.KEK{oldKEK}, []envelope.KEK{newKEK}, []string{oldKEK.ID},
				&seal.RewrapOptions{Prefix: scope.prefix, Workers: scope.workers})
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "rewrap: %s\n", sum)
			for _, f := range sum.Failures {
				fmt.Fprintf(out, "failed %s: %s\n", f.Key, f.Err)
			}
			if sum.Failed > 0 {
				return &problemError{msg: fmt.Sprintf("%d objects failed", sum.Failed)}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&bucket, "bucket", "", "bucket URL of the sealed objects (as stored: the bucket under Seal)")
	f.StringVar(&from, "from-keeper", "", "keeper URL the data keys are wrapped by now")
	f.StringVar(&to, "to-keeper", "", "keeper URL to wrap them by instead")
	scope.register(cmd, "rewrap", "rewrapped")
	return cmd
}

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/internal/rehearsal"
)

func newRehearseCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "rehearse",
		Short: "Rehearse a provider switch on embedded defaults (no servers needed)",
		Long: `rehearse builds a synthetic election archive (voter registration CSV shards,
precinct results JSON, ballot-scan-sized images) on "provider A", migrates it to
"provider B" with SHA-256 computed while streaming, re-reads both sides to
verify every byte, then corrupts one copy to show the corruption is caught and
repaired. Both providers are directories under --dir (default: a temporary
directory, removed afterwards).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			temporary := dir == ""
			if temporary {
				tmp, err := os.MkdirTemp("", "civicport-rehearsal-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			rep, err := rehearsal.Run(cmd.Context(), rehearsal.Options{Dir: dir})
			if err != nil {
				return err
			}
			rep.Print(cmd.OutOrStdout())
			if temporary {
				fmt.Fprintln(cmd.OutOrStdout(), "(the rehearsal directory was temporary and is now removed; pass --dir DIR to keep it)")
			}
			if !rep.OK() {
				return &problemError{msg: "rehearsal found a problem (see the report above)"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for provider A, provider B and the manifest (must be empty or new)")
	return cmd
}

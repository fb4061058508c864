package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/cmd/civicport/internal/rehearsal"
)

func newRehearseCmd() *cobra.Command {
	var dir, fromProfile, toProfile string
	cmd := &cobra.Command{
		Use:   "rehearse",
		Short: "Rehearse a provider switch on embedded defaults (no servers needed)",
		Long: `rehearse plays a whole provider switch on embedded defaults, no servers needed:

  1. plan: measure both providers with the conformance suite (kept / lost)
  2. on provider A: generate a synthetic election archive (voter registration
     CSV shards, precinct results JSON, ballot-scan-sized images), sealed
     under A's key, every write in a signed audit log; set federal retention
     where A can enforce it; publish the results as signed messages (plus a
     replayed and a forged one)
  3. switch to provider B: migrate with SHA-256 while streaming, verify both
     sides, corrupt one copy to show it is caught and repaired, rewrap the
     data keys under B's key and read everything back with it alone, bridge
     the results queue, consume it through signature checks and
     deduplication (the replay dropped, the forgery quarantined), verify the
     audit log on B, set retention on B
  4. print a report of every check.

By default each provider is a directory under --dir (default: a temporary
directory, removed afterwards) with a random local key and an in-process
queue. --from-profile and --to-profile take provider profile files
(adapters/profile: aws, gcp, onprem, local) to rehearse against real
providers; their buckets must be empty.`,
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
			opts := rehearsal.Options{Dir: dir}
			var err error
			if opts.From, err = providerFromProfile(fromProfile, "--from-profile", "provider A"); err != nil {
				return err
			}
			if opts.To, err = providerFromProfile(toProfile, "--to-profile", "provider B"); err != nil {
				return err
			}
			if isTerminal(cmd.ErrOrStderr()) {
				opts.Progress = cmd.ErrOrStderr()
			}
			rep, err := rehearsal.Run(cmd.Context(), opts)
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
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the manifest and the local providers (must be empty or new)")
	cmd.Flags().StringVar(&fromProfile, "from-profile", "", "provider A from a profile file (adapters/profile JSON; CIVICPORT_* variables are not read)")
	cmd.Flags().StringVar(&toProfile, "to-profile", "", "provider B from a profile file")
	return cmd
}

// providerFromProfile reads a profile file as a rehearsal provider. The
// environment is not applied: CIVICPORT_* variables would set the same
// field of both providers.
func providerFromProfile(path, flag, name string) (*rehearsal.Provider, error) {
	if path == "" {
		return nil, nil
	}
	c, err := profile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	u, err := c.URLs()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return &rehearsal.Provider{
		Name:            name + " (" + c.Profile + ")",
		BucketURL:       u.Bucket,
		KeeperURL:       u.Keeper,
		TopicURL:        u.Topic,
		SubscriptionURL: u.Subscription,
	}, nil
}

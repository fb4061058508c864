package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/conformance/report"
)

func newPlanCmd() *cobra.Command {
	var (
		fromBlob, toBlob, fromReport, toReport, format string
		co                                             conformOptions
	)
	cmd := &cobra.Command{
		Use:   "plan --from-blob URL --to-blob URL | --from-report FILE --to-report FILE",
		Short: "What a provider switch would lose, gain and keep",
		Long: `plan measures both backends (or reads two saved "conform --format json"
reports, offline) and lists every capability the switch would lose, gain or
keep. Exit status: 0 nothing is lost, 1 a capability that passes on the source
does not pass on the target, 2 bad usage or an unreachable backend.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			live := fromBlob != "" || toBlob != ""
			saved := fromReport != "" || toReport != ""
			switch {
			case live && saved:
				return fmt.Errorf("give either --from-blob/--to-blob or --from-report/--to-report, not both")
			case live && (fromBlob == "" || toBlob == ""):
				return fmt.Errorf("--from-blob and --to-blob are both required")
			case saved && (fromReport == "" || toReport == ""):
				return fmt.Errorf("--from-report and --to-report are both required")
			case !live && !saved:
				return fmt.Errorf("give --from-blob URL --to-blob URL, or --from-report FILE --to-report FILE")
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			var from, to report.Backend
			var err error
			if live {
				if from, err = conformBlob(cmd.Context(), fromBlob, co, cmd.ErrOrStderr()); err != nil {
					return err
				}
				if to, err = conformBlob(cmd.Context(), toBlob, co, cmd.ErrOrStderr()); err != nil {
					return err
				}
			} else {
				if from, err = readBackend(fromReport); err != nil {
					return err
				}
				if to, err = readBackend(toReport); err != nil {
					return err
				}
			}
			p := report.Compare(from, to)
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(p)
			} else {
				err = p.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if p.Losing() {
				return &problemError{msg: fmt.Sprintf("the switch would lose %d capabilities", len(p.Lost))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fromBlob, "from-blob", "", "source bucket URL (measured live)")
	cmd.Flags().StringVar(&toBlob, "to-blob", "", "target bucket URL (measured live)")
	cmd.Flags().StringVar(&fromReport, "from-report", "", "saved JSON report of the source (conform --format json)")
	cmd.Flags().StringVar(&toReport, "to-report", "", "saved JSON report of the target")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	co.register(cmd)
	return cmd
}

// readBackend reads the single blob backend of a saved report.
func readBackend(path string) (report.Backend, error) {
	f, err := os.Open(path)
	if err != nil {
		return report.Backend{}, err
	}
	defer f.Close()
	r, err := report.Read(f)
	if err != nil {
		return report.Backend{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Backends) != 1 {
		return report.Backend{}, fmt.Errorf("%s: holds %d backends; plan compares reports of one backend each", path, len(r.Backends))
	}
	return r.Backends[0], nil
}

// Command civicport moves election data between cloud providers and proves
// nothing was lost or altered on the way. It is a thin shell over the
// civicport packages; see the README for the commands.
//
// Exit codes: 0 success; 1 the job ran and found a problem (a failed check, a
// verification mismatch); 2 bad usage or input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes (a contract: users' CI scripts depend on them).
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
)

// problemError marks "the job ran and found a problem" (exit 1); the report
// has already been printed.
type problemError struct{ msg string }

func (e *problemError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var pe *problemError
	if errors.As(err, &pe) {
		fmt.Fprintln(stderr, "civicport:", err)
		return exitProblem
	}
	fmt.Fprintln(stderr, "civicport:", err)
	return exitUsage
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "civicport",
		Short:         "Provider-neutral storage for election offices: switch clouds, prove every byte arrived",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRehearseCmd(), newConformCmd(), newPlanCmd(), withDistribute(newMigrateCmd()), newVerifyCmd(), newScrubCmd(), newAuditCmd(), newRewrapCmd(), newBridgeCmd(), newKeygenCmd())
	return root
}

// Package exmain is the main function the example programs share, so that
// each example's main.go is about the example: it runs the example with a
// context that an interrupt or SIGTERM cancels, prints its error under the program's
// name, and exits 2 for bad usage (ErrUsage, -h) and 1 for any other error.
// Flags and OpenStack start every example the same way: a -profile flag,
// and the opened stack named in the output.
package exmain

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/civicport/civicport/adapters/profile"
)

// ErrUsage marks an error as bad usage (exit status 2); wrap it with %w.
var ErrUsage = errors.New("usage")

// Main runs run with the program's arguments and standard output, and
// exits as the package doc says when it fails.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(ExitCode(os.Stderr, name, err))
}

// ExitCode is Main's exit status for err, which it prints to stderr under
// name: 0 for nil, 2 for bad usage, else 1.
func ExitCode(stderr io.Writer, name string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, name+":", err)
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrUsage) {
		return 2
	}
	return 1
}

// Flags is the flag set of the program name, writing its usage to stdout,
// with the -profile flag every example has (into profile).
func Flags(name string, stdout io.Writer, profile *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(profile, "profile", "", "provider profile `FILE` (JSON, see adapters/profile); CIVICPORT_* variables override it")
	return fs
}

// OpenStack opens the stack of cfg and writes to stdout the program's name
// and, indented below it, what the stack is (profile.Describe), so that a
// run's output says which providers it ran on. The func closes the stack.
func OpenStack(ctx context.Context, cfg profile.Config, name string, stdout io.Writer) (*profile.Stack, func(), error) {
	stack, closeStack, err := profile.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	d, _ := profile.Describe(cfg)
	fmt.Fprintln(stdout, name)
	for _, l := range strings.Split(strings.TrimSpace(d), "\n") {
		fmt.Fprintln(stdout, "  "+l)
	}
	return stack, closeStack, nil
}

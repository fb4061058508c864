// Command provider-switch moves an election office from one provider stack
// to the next, and the next: each stack (bucket, key service, results queue)
// is a civicport profile file (adapters/profile), and every hop is planned,
// moved, proven and recorded with civicport's public packages only.
//
//	go run ./examples/provider-switch                         # three local stacks in a temp dir
//	go run ./examples/provider-switch -stack aws.json -stack gcp.json -stack onprem.json
//
// Before the first hop it seeds the first stack with a small sealed synthetic
// archive and a few signed results messages. For each hop it then runs:
//
//  1. plan: the blob conformance suite on both buckets, report.Compare
//     (what the switch keeps and loses);
//  2. migrate: migrate.Run with a manifest, then migrate.Verify (both sides
//     re-read) and migrate.VerifyManifest;
//  3. rewrap: seal.Rewrap moves every record's data key from the old
//     stack's key service to the new one's, then every record is read back
//     with the new key alone and the old key is shown to be refused;
//  4. bridge: bridge.Run drains the old stack's subscription into the
//     new stack's topic until idle;
//  5. audit: the hop's operations go into the audit log kept in the
//     destination bucket under audit/ (the log moved with the records), a
//     checkpoint is signed and audit.Verify checks the whole log.
//
// On the last stack, the results consumer reads the queue through
// dedup.Wrap over sign.Verify. The report lists, per hop, the
// capabilities kept and lost, what was moved, each check and its time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civicport/civicport/adapters/profile"
	"github.com/civicport/civicport/examples/internal/exmain"
)

func main() { exmain.Main("provider-switch", run) }

// usageError is bad usage or input (exit 2). Its message is the error's own
// (no "usage: " before it).
type usageError struct{ error }

func (usageError) Is(target error) bool { return target == exmain.ErrUsage }

// stackFiles collects repeated -stack flags.
type stackFiles []string

func (s *stackFiles) String() string     { return strings.Join(*s, ",") }
func (s *stackFiles) Set(v string) error { *s = append(*s, v); return nil }

// run parses args, performs the switch and prints the report to stdout. It
// returns an error if the switch could not run or any check failed.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	opts, cleanup, err := parseArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	defer cleanup()
	rep, err := Switch(ctx, opts)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if !rep.OK() {
		return errors.New("the switch did not pass every check (see the report)")
	}
	return nil
}

// parseArgs turns the command line into Options. With no -stack it writes
// three local profiles into the working directory. The cleanup removes a
// temporary working directory.
func parseArgs(args []string, out io.Writer) (Options, func(), error) {
	fs := flag.NewFlagSet("provider-switch", flag.ContinueOnError)
	fs.SetOutput(out)
	var files stackFiles
	fs.Var(&files, "stack", "profile file (JSON, see adapters/profile) of a stack, in switch order; repeat, at least twice (default: three local stacks)")
	dir := fs.String("dir", "", "working directory for the manifests (and the local stacks when no -stack is given); default a temporary directory, removed at the end")
	workers := fs.Int("workers", 4, "objects migrated and rewrapped in parallel")
	idle := fs.Duration("until-idle", 2*time.Second, "bridge a queue until no message arrived for this long")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: provider-switch [-stack FILE -stack FILE ...] [-dir DIR]\n\n")
		fs.PrintDefaults()
	}
	nop := func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Options{}, nop, err
		}
		return Options{}, nop, usageError{err}
	}
	if fs.NArg() > 0 {
		return Options{}, nop, usageError{fmt.Errorf("unexpected argument %q; give stacks with -stack FILE", fs.Arg(0))}
	}
	if len(files) == 1 {
		return Options{}, nop, usageError{errors.New("one -stack is not a switch: give at least two, in order")}
	}
	cleanup := nop
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "provider-switch-")
		if err != nil {
			return Options{}, nop, err
		}
		work, cleanup = d, func() { os.RemoveAll(d) }
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return Options{}, nop, err
	}
	if len(files) == 0 {
		var err error
		if files, err = writeLocalProfiles(work); err != nil {
			cleanup()
			return Options{}, nop, err
		}
	}
	opts := Options{WorkDir: work, Workers: *workers, UntilIdle: *idle}
	for _, f := range files {
		// Files only: CIVICPORT_* variables would apply to every stack
		// alike (CIVICPORT_BUCKET would point all of them at one bucket).
		c, err := profile.ReadFile(f)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			cleanup()
			return Options{}, nop, usageError{fmt.Errorf("stack %s: %w", f, err)}
		}
		opts.Stacks = append(opts.Stacks, NamedConfig{Name: strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), Config: c})
	}
	return opts, cleanup, nil
}

// writeLocalProfiles writes three local profile files (directory, key file,
// in-process topic) standing in for an aws, a gcp and an onprem stack.
func writeLocalProfiles(dir string) ([]string, error) {
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	var files []string
	for _, name := range []string{"aws-like", "gcp-like", "onprem-like"} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		keyFile := filepath.Join(d, "key")
		if err := os.WriteFile(keyFile, []byte(randomKey()+"\n"), 0o600); err != nil {
			return nil, err
		}
		// Topics are process-wide by name: make them unique per run.
		cfg := fmt.Sprintf(`{"profile": "local", "local": {"dir": %q, "create_dir": true, "key_file": %q, "topic": "provider-switch-%s-%s"}}`+"\n",
			filepath.Join(d, "bucket"), keyFile, name, run)
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

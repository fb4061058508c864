package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/conformance/blobtest"
	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/secrets"
)

// conformOptions are the flags shared by conform and plan.
type conformOptions struct {
	largeSize  int64
	only       []string
	sealKeeper string
}

func (o *conformOptions) register(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&o.largeSize, "large-object-size", blobtest.DefaultLargeObjectSize, "bytes of the blob.large_object check (streamed)")
	cmd.Flags().StringSliceVar(&o.only, "capability", nil, "run only these capabilities (repeatable, comma-separated)")
	cmd.Flags().StringVar(&o.sealKeeper, "seal-keeper", "", "measure the bucket through Seal (client-side encryption) with this keeper URL")
}

func newConformCmd() *cobra.Command {
	var (
		blobURLs    []string
		format, out string
		co          conformOptions
	)
	cmd := &cobra.Command{
		Use:   "conform --blob URL [--format table|json|markdown|junit] [--out FILE]",
		Short: "Measure what a backend really does: the capability matrix",
		Long: `conform runs civicport's conformance suite against a live backend and prints
one result per capability: pass, fail (with evidence), unsupported (the
backend says it cannot) or skipped. It works under a fresh prefix
civicport-conform-<random>/ and removes everything it wrote there; objects
outside that prefix are never touched.

Exit status: 0 nothing failed, 1 a capability failed, 2 bad usage or a
backend that cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(blobURLs) == 0 {
				return fmt.Errorf("--blob URL is required (schemes: %s)", strings.Join(blob.Schemes(), ", "))
			}
			if err := validFormat(format); err != nil {
				return err
			}
			rep := &report.Report{}
			for _, u := range blobURLs {
				b, err := conformBlob(cmd.Context(), u, co, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				rep.Backends = append(rep.Backends, b)
			}
			if err := writeOut(cmd.OutOrStdout(), out, func(w io.Writer) error { return report.Write(w, rep, format) }); err != nil {
				return err
			}
			if rep.Failed() {
				return &problemError{msg: "a capability failed (see the report)"}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&blobURLs, "blob", nil, "bucket URL to measure (repeat for a matrix of several backends)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	cmd.Flags().StringVar(&out, "out", "", "write the report to FILE instead of standard output")
	co.register(cmd)
	return cmd
}

func validFormat(f string) error {
	for _, v := range report.Formats {
		if f == v {
			return nil
		}
	}
	return fmt.Errorf("--format %q: want one of %s", f, strings.Join(report.Formats, ", "))
}

// writeOut writes with fn to path, or to stdout when path is empty. A file
// is written whole or not at all (temp file, then rename).
func writeOut(stdout io.Writer, path string, fn func(io.Writer) error) error {
	if path == "" {
		return fn(stdout)
	}
	f, err := os.CreateTemp(dirOf(path), ".civicport-*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// conformBlob runs blobtest against urlstr under a fresh prefix and cleans
// up. An unreachable or unusable bucket is an error (exit 2), not a report.
func conformBlob(ctx context.Context, urlstr string, co conformOptions, progress io.Writer) (report.Backend, error) {
	root, err := blob.Open(ctx, urlstr)
	if err != nil {
		return report.Backend{}, err
	}
	defer root.Close()
	if err := blob.Ping(ctx, root, urlstr); err != nil {
		return report.Backend{}, err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "civicport-conform-" + hex.EncodeToString(rnd[:]) + "/"
	if objs, _, err := root.ListPage(ctx, gcblob.FirstPageToken, 1, &gcblob.ListOptions{Prefix: prefix}); err != nil {
		return report.Backend{}, err
	} else if len(objs) > 0 {
		return report.Backend{}, fmt.Errorf("prefix %s in %s is not empty; refusing to run there", prefix, blob.Redact(urlstr))
	}
	var keks []secrets.KEK
	via := ""
	if co.sealKeeper != "" {
		k, err := secrets.Open(ctx, co.sealKeeper)
		if err != nil {
			return report.Backend{}, fmt.Errorf("--seal-keeper: %w", err)
		}
		defer k.Close()
		keks = []secrets.KEK{{ID: secrets.RedactURL(co.sealKeeper), Keeper: k}}
		via = "seal " + keks[0].ID
	}
	n := 0
	open := func(ctx context.Context) (*gcblob.Bucket, error) {
		n++
		b, err := blob.Open(ctx, urlstr)
		if err != nil {
			return nil, err
		}
		b = gcblob.PrefixedBucket(b, fmt.Sprintf("%s%02d/", prefix, n))
		if keks != nil {
			b = seal.Wrap(b, keks, nil)
		}
		return b, nil
	}
	logf := func(string, ...any) {}
	if isTerminal(progress) {
		logf = func(format string, args ...any) {
			fmt.Fprintf(progress, "\r\033[K"+strings.TrimRight(format, "\n"), args...)
		}
	}
	t0 := time.Now()
	results := blobtest.Run(ctx, open, &blobtest.Options{LargeObjectSize: co.largeSize, Capabilities: co.only, Logf: logf})
	if isTerminal(progress) {
		fmt.Fprint(progress, "\r\033[K")
	}
	d := time.Since(t0)
	// The suite cleans up after each check; this sweeps anything a failed
	// check left behind, and only under the run's own prefix.
	cleanup(context.WithoutCancel(ctx), root, prefix)
	removeEmptyDirs(urlstr, prefix)
	be := report.NewBackend(urlstr, report.KindBlob, results, d)
	be.Via = via
	return be, nil
}

func cleanup(ctx context.Context, b *gcblob.Bucket, prefix string) {
	it := b.List(&gcblob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			return
		}
		_ = b.Delete(ctx, obj.Key)
	}
}

// removeEmptyDirs removes the directories a file:// run leaves under its
// prefix (fileblob deletes files, not the directories it made for them),
// but only when no file at all is left in them.
func removeEmptyDirs(urlstr, prefix string) {
	u, err := url.Parse(urlstr)
	if err != nil || u.Scheme != "file" {
		return
	}
	dir := filepath.Join(filepath.FromSlash(u.Path), filepath.FromSlash(prefix))
	files := 0
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		_ = os.RemoveAll(dir)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

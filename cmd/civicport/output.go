package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/civicport/civicport/conformance/report"
)

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

// suiteProgress returns a Logf for a conformance suite that shows its latest
// line on w when w is a terminal (and does nothing otherwise), and a func
// that clears that line when the suite is done.
func suiteProgress(w io.Writer) (logf func(format string, args ...any), clear func()) {
	if !isTerminal(w) {
		return func(string, ...any) {}, func() {}
	}
	return func(format string, args ...any) {
			fmt.Fprintf(w, "\r\033[K"+strings.TrimRight(format, "\n"), args...)
		}, func() {
			fmt.Fprint(w, "\r\033[K")
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

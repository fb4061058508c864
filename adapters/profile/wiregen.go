//go:build ignore

// wiregen regenerates wire_gen.go: it runs Wire v0.7.0 (fetched through the
// module proxy, not a dependency of this module) on this package, then
// removes the line "//go:generate go run -mod=mod github.com/google/wire/cmd/wire"
// that Wire writes into every wire_gen.go. That line would run Wire from
// this module with -mod=mod, adding Wire's command-line dependencies
// (golang.org/x/tools, ...) to go.mod, and would run Wire a second time.
//
// Run it with `go generate ./adapters/profile/...` (see generate.go).
package main

import (
	"bytes"
	"log"
	"os"
	"os/exec"
)

const (
	wireCmd = "github.com/google/wire/cmd/wire@v0.7.0"
	out     = "wire_gen.go"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("wiregen: ")
	cmd := exec.Command("go", "run", wireCmd, "gen", ".")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("go run %s gen .: %v", wireCmd, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		log.Fatal(err)
	}
	var kept [][]byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("//go:generate ")) {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(out, bytes.Join(kept, nil), 0o644); err != nil {
		log.Fatal(err)
	}
}

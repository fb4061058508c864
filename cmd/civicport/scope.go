package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// objectScope is the --prefix and --workers of the commands that go over a
// bucket's objects (migrate, verify, rewrap, scrub): which keys, and how many
// objects at once.
type objectScope struct {
	prefix  string
	workers int
}

// register defines --prefix and --workers (default 4) on cmd. verb says what
// the command does to a key ("rewrap"), done what it does to an object, in
// the past tense ("rewrapped").
func (s *objectScope) register(cmd *cobra.Command, verb, done string) {
	f := cmd.Flags()
	f.StringVar(&s.prefix, "prefix", "", verb+" only keys starting with this prefix")
	f.IntVar(&s.workers, "workers", 4, "objects "+done+" in parallel")
}

// check refuses a --workers below 1.
func (s *objectScope) check() error {
	if s.workers < 1 {
		return fmt.Errorf("--workers %d: want 1 or more", s.workers)
	}
	return nil
}

// durationFlag is a duration flag's name (without "--") and value.
type durationFlag struct {
	name string
	v    time.Duration
}

// nonNegative returns an error naming the first of flags whose value is
// negative; want says what is accepted ("0 or more").
func nonNegative(want string, flags ...durationFlag) error {
	for _, f := range flags {
		if f.v < 0 {
			return fmt.Errorf("--%s %s: want %s", f.name, f.v, want)
		}
	}
	return nil
}

// Package electiondata generates a synthetic, deterministic election dataset
// (voter registration CSV shards, per-precinct results JSON, and binary blobs
// the size of scanned ballot images) for rehearsals, examples and tests. No
// real person's data is involved: names come from short fixed lists and
// everything follows from the seed.
package electiondata

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	gcblob "gocloud.dev/blob"
)

// Options sizes the dataset. Zero fields take the defaults in brackets.
type Options struct {
	Seed       uint64 // [2026]
	Shards     int    // registration CSV shards [8]
	VotersPer  int    // voters per shard [2000]
	Precincts  int    // results JSON documents [100]
	Scans      int    // ballot scan blobs [48]
	ScanSize   int    // bytes per scan [512 KiB]
	KeyPrefix  string // prepended to every key [""]
	Contest    string // contest name in results ["2026 General"]
	Candidates []string
}

func (o *Options) defaults() {
	if o.Seed == 0 {
		o.Seed = 2026
	}
	if o.Shards == 0 {
		o.Shards = 8
	}
	if o.VotersPer == 0 {
		o.VotersPer = 2000
	}
	if o.Precincts == 0 {
		o.Precincts = 100
	}
	if o.Scans == 0 {
		o.Scans = 48
	}
	if o.ScanSize == 0 {
		o.ScanSize = 512 << 10
	}
	if o.Contest == "" {
		o.Contest = "2026 General"
	}
	if len(o.Candidates) == 0 {
		o.Candidates = []string{"Avery Example", "Blake Sample", "Casey Placeholder"}
	}
}

// Stats says what Generate wrote.
type Stats struct {
	Objects, Bytes                     int64
	RegistrationShards, Results, Scans int
}

var (
	first = []string{"Ada", "Ben", "Cleo", "Dev", "Eun", "Femi", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lea"}
	last  = []string{"Archer", "Brook", "Castillo", "Diaz", "Eze", "Fox", "Garcia", "Hughes", "Ito", "Jensen"}
)

// Generate writes the dataset into b and returns what it wrote.
func Generate(ctx context.Context, b *gcblob.Bucket, opts Options) (Stats, error) {
	opts.defaults()
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	var st Stats
	put := func(key, ctype string, md map[string]string, write func(io.Writer) error) error {
		w, err := b.NewWriter(ctx, opts.KeyPrefix+key, &gcblob.WriterOptions{ContentType: ctype, Metadata: md})
		if err != nil {
			return err
		}
		cw := &countWriter{w: w}
		if err := write(cw); err != nil {
			w.Close()
			return fmt.Errorf("write %s: %w", key, err)
		}
		if err := w.Close(); err != nil {
			return err
		}
		st.Objects++
		st.Bytes += cw.n
		return nil
	}
	for s := range opts.Shards {
		err := put(fmt.Sprintf("registration/shard-%03d.csv", s), "text/csv", map[string]string{"kind": "registration"}, func(w io.Writer) error {
			var sb strings.Builder
			sb.WriteString("voter_id,first_name,last_name,precinct,registered,status\n")
			for v := range opts.VotersPer {
				fmt.Fprintf(&sb, "%d,%s,%s,%04d,2%03d-%02d-%02d,%s\n",
					s*opts.VotersPer+v+1, first[rng.IntN(len(first))], last[rng.IntN(len(last))],
					rng.IntN(opts.Precincts)+1, rng.IntN(26), rng.IntN(12)+1, rng.IntN(28)+1,
					[]string{"active", "active", "active", "inactive"}[rng.IntN(4)])
			}
			_, err := io.WriteString(w, sb.String())
			return err
		})
		if err != nil {
			return st, err
		}
		st.RegistrationShards++
	}
	for p := 1; p <= opts.Precincts; p++ {
		res := map[string]any{"precinct": fmt.Sprintf("%04d", p), "contest": opts.Contest}
		tally := map[string]int{}
		for _, c := range opts.Candidates {
			tally[c] = rng.IntN(800)
		}
		res["tally"] = tally
		err := put(fmt.Sprintf("results/precinct-%04d.json", p), "application/json", map[string]string{"kind": "results"}, func(w io.Writer) error {
			return json.NewEncoder(w).Encode(res)
		})
		if err != nil {
			return st, err
		}
		st.Results++
	}
	buf := make([]byte, opts.ScanSize)
	for s := range opts.Scans {
		for i := 0; i+8 <= len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		copy(buf, "II*\x00") // a TIFF signature, as a scanner would write
		err := put(fmt.Sprintf("ballots/scan-%04d.tif", s), "image/tiff", map[string]string{"kind": "ballot-scan"}, func(w io.Writer) error {
			_, err := w.Write(buf)
			return err
		})
		if err != nil {
			return st, err
		}
		st.Scans++
	}
	return st, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

package blob

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"

	gcblob "gocloud.dev/blob"
)

// Kinds of Problem found by Verify.
const (
	Missing  = "missing"  // on the source, not on the destination
	Extra    = "extra"    // on the destination, not on the source
	Mismatch = "mismatch" // content, size or metadata differ
	ReadErr  = "error"    // an object could not be read
)

// Problem is one difference found by Verify.
type Problem struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// VerifyReport counts what Verify checked and lists every problem.
type VerifyReport struct {
	Objects       int64     `json:"objects"` // on the source
	Bytes         int64     `json:"bytes"`
	Verified      int64     `json:"verified"` // identical on both sides
	VerifiedBytes int64     `json:"verified_bytes"`
	Mismatched    int64     `json:"mismatched"`
	Missing       int64     `json:"missing"`
	Extra         int64     `json:"extra"`
	Errors        int64     `json:"errors"`
	Problems      []Problem `json:"problems,omitempty"`
}

// OK reports whether the destination matched the source exactly.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) String() string {
	return fmt.Sprintf("objects %d (%d bytes): verified %d (%d bytes), mismatched %d, missing %d, extra %d, errors %d",
		r.Objects, r.Bytes, r.Verified, r.VerifiedBytes, r.Mismatched, r.Missing, r.Extra, r.Errors)
}

// VerifyOptions tunes Verify. The zero value is usable.
type VerifyOptions struct {
	Prefix  string // only keys starting with it
	Workers int    // objects compared in parallel (default 4)
}

// Verify re-reads every object under opts.Prefix on both sides, computes
// SHA-256 of each while streaming, and compares content, size, content type
// and user metadata (the destination may add MetadataSHA256; where either
// side records one it must match the content). Objects on one side only are
// reported as Missing or Extra. One flipped byte anywhere is a Mismatch.
func Verify(ctx context.Context, src, dst *gcblob.Bucket, opts *VerifyOptions) (*VerifyReport, error) {
	o := VerifyOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	dstKeys := map[string]bool{}
	if err := forEachObject(ctx, dst, o.Prefix, 1, func(obj *gcblob.ListObject) { dstKeys[obj.Key] = true }); err != nil {
		return nil, fmt.Errorf("list destination: %w", err)
	}
	var (
		mu  sync.Mutex
		rep VerifyReport
	)
	add := func(p Problem) {
		rep.Problems = append(rep.Problems, p)
		switch p.Kind {
		case Missing:
			rep.Missing++
		case Extra:
			rep.Extra++
		case Mismatch:
			rep.Mismatched++
		default:
			rep.Errors++
		}
	}
	err := forEachObject(ctx, src, o.Prefix, o.Workers, func(obj *gcblob.ListObject) {
		mu.Lock()
		rep.Objects++
		rep.Bytes += obj.Size
		present := dstKeys[obj.Key]
		delete(dstKeys, obj.Key)
		mu.Unlock()
		var p *Problem
		if !present {
			p = &Problem{Key: obj.Key, Kind: Missing}
		} else {
			p = compareObject(ctx, src, dst, obj.Key)
		}
		mu.Lock()
		defer mu.Unlock()
		if p != nil {
			add(*p)
			return
		}
		rep.Verified++
		rep.VerifiedBytes += obj.Size
	})
	if err != nil {
		return nil, fmt.Errorf("list source: %w", err)
	}
	for k := range dstKeys {
		add(Problem{Key: k, Kind: Extra})
	}
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Key < rep.Problems[j].Key })
	return &rep, nil
}

// compareObject returns nil when key is identical on both sides.
func compareObject(ctx context.Context, src, dst *gcblob.Bucket, key string) *Problem {
	mismatch := func(format string, args ...any) *Problem {
		return &Problem{Key: key, Kind: Mismatch, Detail: fmt.Sprintf(format, args...)}
	}
	sa, err := src.Attributes(ctx, key)
	if err != nil {
		return &Problem{Key: key, Kind: ReadErr, Detail: "source: " + err.Error()}
	}
	da, err := dst.Attributes(ctx, key)
	if err != nil {
		return &Problem{Key: key, Kind: ReadErr, Detail: "destination: " + err.Error()}
	}
	ssum, sn, err := HashObject(ctx, src, key)
	if err != nil {
		return &Problem{Key: key, Kind: ReadErr, Detail: "source: " + err.Error()}
	}
	dsum, dn, err := HashObject(ctx, dst, key)
	if err != nil {
		return &Problem{Key: key, Kind: ReadErr, Detail: "destination: " + err.Error()}
	}
	switch {
	case sn != dn:
		return mismatch("size: source %d bytes, destination %d bytes", sn, dn)
	case ssum != dsum:
		return mismatch("sha256: source %s, destination %s", ssum, dsum)
	case sa.Metadata[MetadataSHA256] != "" && sa.Metadata[MetadataSHA256] != ssum:
		return mismatch("source content does not match its recorded sha256 %s", sa.Metadata[MetadataSHA256])
	case da.Metadata[MetadataSHA256] != "" && da.Metadata[MetadataSHA256] != dsum:
		return mismatch("destination content does not match its recorded sha256 %s", da.Metadata[MetadataSHA256])
	case sa.ContentType != da.ContentType:
		return mismatch("content type: source %q, destination %q", sa.ContentType, da.ContentType)
	}
	sm, dm := maps.Clone(sa.Metadata), maps.Clone(da.Metadata)
	delete(sm, MetadataSHA256)
	delete(dm, MetadataSHA256)
	if !maps.Equal(sm, dm) {
		return mismatch("metadata: source %v, destination %v", sm, dm)
	}
	return nil
}

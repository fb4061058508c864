package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sort"
	"sync"

	gcblob "gocloud.dev/blob"
)

// MetadataSHA256 is the user-metadata key under which civicport records the
// hex SHA-256 of an object's content wherever it writes one.
const MetadataSHA256 = "civicport-sha256"

// Entry is one line of a manifest (JSON lines): what an object is, so that a
// copy can be checked against it later, offline.
type Entry struct {
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Failure names an object that could not be copied or verified, and why.
type Failure struct {
	Key string `json:"key"`
	Err string `json:"error"`
}

// MigrateOptions tunes Migrate. The zero value is usable.
type MigrateOptions struct {
	// Prefix limits the copy to keys starting with it.
	Prefix string
	// Workers is the number of objects copied in parallel (default 4).
	Workers int
	// Manifest, if set, receives one JSON line (an Entry) per object copied
	// or found already identical. Writes are serialised.
	Manifest io.Writer
	// BufferLimit is the size up to which an object without a recorded
	// SHA-256 is read into memory to hash it before upload (default 8 MiB);
	// a larger one is read twice instead (hash, then copy), so memory per
	// worker stays bounded.
	BufferLimit int64
}

// MigrateSummary counts what Migrate did.
type MigrateSummary struct {
	Objects      int64     `json:"objects"` // seen on the source
	Bytes        int64     `json:"bytes"`
	Copied       int64     `json:"copied"`
	CopiedBytes  int64     `json:"copied_bytes"`
	Skipped      int64     `json:"skipped"` // already identical on the destination
	SkippedBytes int64     `json:"skipped_bytes"`
	Failed       int64     `json:"failed"`
	Failures     []Failure `json:"failures,omitempty"`
}

func (s *MigrateSummary) String() string {
	return fmt.Sprintf("objects %d (%d bytes): copied %d (%d bytes), skipped %d (%d bytes), failed %d",
		s.Objects, s.Bytes, s.Copied, s.CopiedBytes, s.Skipped, s.SkippedBytes, s.Failed)
}

// Migrate copies every object under opts.Prefix from src to dst, streaming,
// with content type, cache control, content disposition, encoding, language
// and all user metadata, and records the content's SHA-256 in the
// destination's metadata (MetadataSHA256).
//
// The hash is never taken from the provider (ETags are not MD5s for
// multipart or encrypted objects): it is computed from the bytes read, and a
// source object whose recorded SHA-256 does not match its content fails
// rather than being copied. An object whose destination copy already has the
// same size and recorded SHA-256 is skipped. A failure of one object does not
// stop the others; it is counted and listed in the summary. The returned
// error is for failures of the whole run (listing, ctx).
func Migrate(ctx context.Context, src, dst *gcblob.Bucket, opts *MigrateOptions) (*MigrateSummary, error) {
	o := MigrateOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BufferLimit <= 0 {
		o.BufferLimit = 8 << 20
	}
	var (
		mu  sync.Mutex
		sum MigrateSummary
		enc *json.Encoder
	)
	if o.Manifest != nil {
		enc = json.NewEncoder(o.Manifest)
	}
	record := func(key string, e *Entry, copied bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			sum.Failed++
			sum.Failures = append(sum.Failures, Failure{Key: key, Err: err.Error()})
			return
		case copied:
			sum.Copied++
			sum.CopiedBytes += e.Size
		default:
			sum.Skipped++
			sum.SkippedBytes += e.Size
		}
		if enc != nil {
			if err := enc.Encode(e); err != nil {
				sum.Failures = append(sum.Failures, Failure{Key: key, Err: "manifest: " + err.Error()})
				sum.Failed++
			}
		}
	}
	err := forEachObject(ctx, src, o.Prefix, o.Workers, func(obj *gcblob.ListObject) {
		mu.Lock()
		sum.Objects++
		sum.Bytes += obj.Size
		mu.Unlock()
		e, copied, err := copyObject(ctx, src, dst, obj.Key, o.BufferLimit)
		record(obj.Key, e, copied, err)
	})
	sort.Slice(sum.Failures, func(i, j int) bool { return sum.Failures[i].Key < sum.Failures[j].Key })
	return &sum, err
}

// forEachObject lists every object (not directories) under prefix in b and
// calls fn for each from workers goroutines. It returns the listing error or
// ctx's error, after every started fn has returned.
func forEachObject(ctx context.Context, b *gcblob.Bucket, prefix string, workers int, fn func(*gcblob.ListObject)) error {
	jobs := make(chan *gcblob.ListObject)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for obj := range jobs {
				fn(obj)
			}
		})
	}
	var err error
	it := b.List(&gcblob.ListOptions{Prefix: prefix})
list:
	for {
		var obj *gcblob.ListObject
		obj, err = it.Next(ctx)
		if err == io.EOF {
			err = nil
			break
		}
		if err != nil {
			break
		}
		if obj.IsDir {
			continue
		}
		select {
		case jobs <- obj:
		case <-ctx.Done():
			err = ctx.Err()
			break list
		}
	}
	close(jobs)
	wg.Wait()
	return err
}

// copyObject copies one object and returns its manifest entry and whether it
// was copied (false: already identical on dst).
func copyObject(ctx context.Context, src, dst *gcblob.Bucket, key string, bufferLimit int64) (*Entry, bool, error) {
	a, err := src.Attributes(ctx, key)
	if err != nil {
		return nil, false, err
	}
	want := a.Metadata[MetadataSHA256]
	var buf []byte
	if want == "" {
		if a.Size <= bufferLimit {
			if buf, err = src.ReadAll(ctx, key); err != nil {
				return nil, false, err
			}
			want = hexSum(buf)
		} else if want, _, err = HashObject(ctx, src, key); err != nil {
			return nil, false, err
		}
	}
	md := maps.Clone(a.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[MetadataSHA256] = want
	e := &Entry{Key: key, Size: a.Size, SHA256: want, ContentType: a.ContentType, Metadata: a.Metadata}

	if da, err := dst.Attributes(ctx, key); err == nil && da.Size == a.Size && da.Metadata[MetadataSHA256] == want {
		return e, false, nil
	}

	var r io.Reader
	if buf != nil {
		r = bytes.NewReader(buf)
	} else {
		sr, err := src.NewReader(ctx, key, nil)
		if err != nil {
			return nil, false, err
		}
		defer sr.Close()
		r = sr
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := dst.NewWriter(wctx, key, &gcblob.WriterOptions{
		ContentType:                 a.ContentType,
		DisableContentTypeDetection: true,
		CacheControl:                a.CacheControl,
		ContentDisposition:          a.ContentDisposition,
		ContentEncoding:             a.ContentEncoding,
		ContentLanguage:             a.ContentLanguage,
		Metadata:                    md,
	})
	if err != nil {
		return nil, false, err
	}
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(r, h))
	if err == nil && n != a.Size {
		err = fmt.Errorf("source size changed during copy: listed %d bytes, read %d", a.Size, n)
	}
	if got := hex.EncodeToString(h.Sum(nil)); err == nil && got != want {
		err = fmt.Errorf("source content does not match its SHA-256: recorded %s, read %s", want, got)
	}
	if err != nil {
		cancel() // abort: a cancelled writer commits nothing
		_ = w.Close()
		return nil, false, err
	}
	if err := w.Close(); err != nil {
		return nil, false, err
	}
	return e, true, nil
}

func hexSum(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

// HashObject streams the object at key and returns the hex SHA-256 of its
// content and its size.
func HashObject(ctx context.Context, b *gcblob.Bucket, key string) (string, int64, error) {
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

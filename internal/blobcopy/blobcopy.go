// Package blobcopy holds what every civicport rewrite of an object (a
// migration, a rewrap, a repair by scrub) needs to keep the object as it
// was: the writer options that carry its attributes over; and Put, the one
// way civicport writes a small object it holds in memory.
package blobcopy

import (
	"context"

	gcblob "gocloud.dev/blob"
)

// Put writes data to key in b, as b.WriteAll does but without computing an
// MD5 of it: WriteAll sets WriterOptions.ContentMD5 when it is empty, and
// civicport's own code computes no MD5 (FIPS 140-3 only mode forbids it,
// and it is no security function here: every record civicport keeps is
// covered by a SHA-256 or a signature). The provider's own transport
// checksum, if any, still applies. A failed write leaves no object (the
// writer is closed with its context cancelled).
func Put(ctx context.Context, b *gcblob.Bucket, key string, data []byte, opts *gcblob.WriterOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel() // abandons the write
		_ = w.Close()
		return err
	}
	return w.Close()
}

// WriterOptions returns the options that write an object with a's content
// type (never sniffed again), cache control, content disposition, encoding
// and language, and the user metadata md (usually a's, amended).
func WriterOptions(a *gcblob.Attributes, md map[string]string) *gcblob.WriterOptions {
	return &gcblob.WriterOptions{
		ContentType:                 a.ContentType,
		DisableContentTypeDetection: true,
		CacheControl:                a.CacheControl,
		ContentDisposition:          a.ContentDisposition,
		ContentEncoding:             a.ContentEncoding,
		ContentLanguage:             a.ContentLanguage,
		Metadata:                    md,
	}
}

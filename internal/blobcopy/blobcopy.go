// Package blobcopy holds what every civicport rewrite of an object (a
// migration, a rewrap, a repair by scrub) needs to keep the object as it
// was: the writer options that carry its attributes over.
package blobcopy

import gcblob "gocloud.dev/blob"

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

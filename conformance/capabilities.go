package conformance

// Blob capabilities measured by conformance/blobtest. The names are a public
// contract (JSON output, `civicport plan`); see the package doc.
//
// Besides the names in the design, blobtest measures five more, split out so
// that one report line says one thing: blob.empty_object and blob.not_found
// (edge cases of read_write), blob.list_pagination (listings of more than
// 1,000 keys), blob.http_headers (Cache-Control, Content-Disposition,
// Content-Encoding, Content-Language: kept apart from blob.metadata, which
// is user metadata only) and blob.special_keys (keys that some backends
// refuse or rewrite; blob.unicode_keys covers scripts and normal forms).
const (
	// BlobReadWrite: write an object, read it back byte for byte, overwrite
	// it, see the new content, delete it.
	BlobReadWrite = "blob.read_write"
	// BlobEmptyObject: a 0-byte object round-trips (read, size, listing).
	BlobEmptyObject = "blob.empty_object"
	// BlobNotFound: reading, stat-ing, copying or deleting a missing key
	// gives gcerrors.NotFound, and Exists says false.
	BlobNotFound = "blob.not_found"
	// BlobRangeRead: NewRangeReader with offset/length, length -1, length 0,
	// offset at and past the end (an empty read or an error are both
	// accepted there; returning bytes is not).
	BlobRangeRead = "blob.range_read"
	// BlobListPrefixDelimiter: List with a prefix, with the "/" delimiter
	// (IsDir entries), lexicographic order, sizes.
	BlobListPrefixDelimiter = "blob.list_prefix_delimiter"
	// BlobListPagination: more than 1,000 keys listed with ListPage in pages
	// of 1,000 and in small pages, and with List: every key exactly once, in
	// order, no page larger than asked.
	BlobListPagination = "blob.list_pagination"
	// BlobMetadata: user metadata round-trips (mixed-case keys, which the
	// portable API lower-cases, and Unicode values).
	BlobMetadata = "blob.metadata"
	// BlobContentType: an explicit Content-Type round-trips (Attributes and
	// Reader), and a sniffed one is stored.
	BlobContentType = "blob.content_type"
	// BlobHTTPHeaders: Cache-Control, Content-Disposition, Content-Encoding
	// and Content-Language round-trip.
	BlobHTTPHeaders = "blob.http_headers"
	// BlobMD5: the MD5 the backend reports equals the MD5 of what was
	// written, and a write whose WriterOptions.ContentMD5 does not match is
	// refused and leaves nothing (or the previous content) behind.
	BlobMD5 = "blob.md5"
	// BlobLargeObject: an object of Options.LargeObjectSize (default
	// 100 MiB, so multipart on S3) streamed up and down, SHA-256 compared.
	BlobLargeObject = "blob.large_object"
	// BlobUnicodeKeys: keys in several scripts and emoji round-trip
	// byte-exactly; NFC and NFD spellings are two distinct keys.
	BlobUnicodeKeys = "blob.unicode_keys"
	// BlobSpecialKeys: keys with spaces, "+", "%", "//", a trailing "/",
	// "..", and a 1,000-byte key round-trip (write, read, list).
	BlobSpecialKeys = "blob.special_keys"
	// BlobCopyServerSide: Bucket.Copy copies content and attributes,
	// overwrites, and reports NotFound for a missing source.
	BlobCopyServerSide = "blob.copy_server_side"
	// BlobConditionalWrite: WriterOptions.IfNotExist refuses a second write
	// with gcerrors.FailedPrecondition and leaves the content unchanged;
	// of concurrent if-not-exists writers exactly one wins.
	BlobConditionalWrite = "blob.conditional_write"
	// BlobVersioning: after an overwrite (and a delete) the older version is
	// still readable by its version id.
	BlobVersioning = "blob.versioning"
	// BlobRetentionGovernance: S3 Object Lock governance mode / GCS
	// retention, enforced.
	BlobRetentionGovernance = "blob.retention_governance"
	// BlobRetentionCompliance: S3 Object Lock compliance mode, enforced.
	BlobRetentionCompliance = "blob.retention_compliance"
	// BlobLegalHold: legal hold set, enforced, released.
	BlobLegalHold = "blob.legal_hold"
	// BlobSignedURL: signed GET and PUT URLs work through a plain HTTP
	// client.
	BlobSignedURL = "blob.signed_url"
)

// BlobCapabilities lists every blob capability name, in the order suites
// run and reports print them. The returned slice is a fresh copy.
func BlobCapabilities() []string {
	return []string{
		BlobReadWrite,
		BlobEmptyObject,
		BlobNotFound,
		BlobRangeRead,
		BlobListPrefixDelimiter,
		BlobListPagination,
		BlobMetadata,
		BlobContentType,
		BlobHTTPHeaders,
		BlobMD5,
		BlobLargeObject,
		BlobUnicodeKeys,
		BlobSpecialKeys,
		BlobCopyServerSide,
		BlobConditionalWrite,
		BlobVersioning,
		BlobRetentionGovernance,
		BlobRetentionCompliance,
		BlobLegalHold,
		BlobSignedURL,
	}
}

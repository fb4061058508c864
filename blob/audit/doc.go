// Package audit keeps a tamper-evident, append-only audit log of custody
// events (who wrote, copied or deleted which object, with its SHA-256) in
// any *gocloud.dev/blob.Bucket.
//
// # Design
//
// The log is a transparency log in the style of Go's checksum database,
// built with golang.org/x/mod/sumdb/tlog (an RFC 6962 Merkle tree) and
// golang.org/x/mod/sumdb/note (signed checkpoints, Ed25519). In the bucket:
//
//	entries/0000000000000042.json   entry 42: one line of JSON (the record)
//	hashes/0000000000000042         the tree hashes record 42 adds (tlog.StoredHashes), 32 bytes each
//	checkpoints/0000000000000043    a signed checkpoint of the tree of size 43
//	checkpoint                      the latest signed checkpoint
//
// The log owns those names: give it a bucket of its own, or a folder of one
// (blob.PrefixedBucket, or "?prefix=audit/" on the bucket URL).
//
// An entry holds its index, the time (RFC 3339, UTC), the actor, the
// operation, the bucket, the key, the object's SHA-256, and prev: the record
// hash (tlog.RecordHash, base64) of the entry before it, so the entries also
// form a hash chain. The Merkle tree's leaves are the exact bytes of the
// entry objects.
//
// Appending claims index N by writing entries/N with
// blob.WriterOptions.IfNotExist: of two writers (in one process or in
// several) only one can create entries/N; the other reads the entries it
// missed and retries at the next index. This needs a store that honours
// conditional writes (memblob, S3 and MinIO, GCS, Azure, and file:// as
// civicport's blob.Open opens it, which commits if-not-exist writes under a
// flock(2) on the directory that all its processes share). gocloud's
// fileblob opened directly is atomic within one process only: do not share
// such a log between processes.
//
// A checkpoint is a signed note whose text is the standard tlog checkpoint
// (C2SP tlog-checkpoint): the origin line (by default the signer's key
// name), the tree size in decimal, and the root hash in base64:
//
//	example.org/audit
//	2
//	T5XrgxpMIPI9esuuEpJ/BSMbDj6bc05kItm1s2lguSc=
//
//	— example.org/audit m5MJ6GaIxEsil/YOgO5CgaG5Ya7oFlGbFxLdHVYg9vcGEBpOMuzXRRjkZSQne5PmBrzdYqwKwnue37Lcnp/Nd6JQIAs=
//
// Checkpoints are never overwritten (checkpoints/N is written with
// IfNotExist), so the history of signed tree heads stays in the bucket.
//
// # Checking a log
//
// Verify (and `civicport audit verify --log URL --pubkey FILE`) trusts
// nothing in the bucket but the signatures: it re-reads every entry,
// recomputes the tree, checks every checkpoint's signature, that each signed
// root equals the recomputed root of that size, that every older checkpoint
// is consistent with the latest (tlog.ProveTree / tlog.CheckTree), and the
// hash chain. It names the first bad entry: an altered, removed, reordered,
// inserted or renumbered entry, a log truncated below a signed size, a forged
// checkpoint or one signed by another key.
//
// An auditor does not need civicport to check it: the checkpoint is a
// standard signed note, so note.Open with the published verifier key (the
// "name+hash+key" text from note.GenerateKey) checks it; the root is
// tlog.TreeHash over tlog.RecordHash of each entries/N object in order (any
// RFC 6962 implementation, e.g. the transparency-dev libraries, computes the
// same root); and (*Log).ProofOf hands out a Proof for one entry (its
// bytes, a signed checkpoint and the inclusion proof, as one JSON document;
// `civicport audit prove`) that Proof.Check (`civicport audit verify-proof`),
// i.e. note.Open and tlog.CheckRecord, checks offline with only the
// verifier key. Find locates the latest entry for an object.
//
// Entries after the latest checkpoint chain but are not yet signed
// (Report.Unsigned): sign a checkpoint after each batch, or after each entry
// when an exact first bad entry matters even against a forger who rewrites
// the chain and the hashes objects (Verify then brackets the damage between
// the last checkpoint that matches and the first that does not). A bucket
// holds no memory of checkpoints removed from it: give each signed
// checkpoint (or its tree size) to a party outside the bucket (the
// election board, a witness) so that a log cut back to an older, honest
// state is caught too.
//
// Signer keys may be kept sealed by a gocloud secrets.Keeper (KMS):
// SealSignerKey, SignerFromKeeper.
//
// The entries and hashes objects are not secret and are not signed one by
// one: anyone who can write the bucket can change them, and Verify will say
// so. Keep the bucket under object lock or versioning (see blob/retention)
// so that a change can also be undone, and keep the signer key apart from
// the bucket's credentials.
package audit

// Package migrate moves the objects of one bucket to another, on another
// provider, and proves they arrived: the step of a provider switch that an
// election office must be able to show an auditor years later.
//
// Run copies every object with its metadata and records the SHA-256 of the
// bytes it read (digest.MetadataKey), never a provider's ETag or MD5; Verify
// re-reads both sides; a manifest (JSON lines of Entry, written through
// Options.Manifest) lists what was copied, SignManifest signs it as a
// golang.org/x/mod/sumdb/note, and VerifyManifest with
// CheckManifestSignature checks a bucket against it offline, with only the
// public key. ResumeManifest continues a run that was interrupted.
//
// At archive scale (millions of objects) memory stays flat: Run and Verify
// walk the listings in step, and SortManifest, ResumeManifestSorted
// (Options.DoneSorted) and VerifySortedManifest sort a manifest by key on
// disk and walk it in step with a listing, where the map and slice forms
// (ReadManifest, ResumeManifest, VerifyManifest) hold every entry.
//
// The package takes and returns gocloud.dev's portable *blob.Bucket (open
// one with civicport/blob or any gocloud.dev driver) and imports no
// provider; blob/distribute scales a migration out over a queue.
package migrate

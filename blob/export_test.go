package blob

import (
	"net/url"

	gcblob "gocloud.dev/blob"
)

// MaxListings is maxListings, for the file:// listing tests.
const MaxListings = maxListings

// WrapGCS is wrapGCS, for tests that open gcsblob through a transport of
// their own; u's query says whether the bucket is over gRPC.
func WrapGCS(b *gcblob.Bucket, u *url.URL) *gcblob.Bucket { return wrapGCS(b, u) }

// CachedListings is how many unfinished listings of file:// bucket b keep
// their directories (listCache).
func CachedListings(b *gcblob.Bucket) int {
	var p pinger
	if !b.As(&p) {
		return -1
	}
	fb := p.(fileBucket)
	fb.lists.mu.Lock()
	defer fb.lists.mu.Unlock()
	return len(fb.lists.next)
}

package blob

import (
	"context"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/driveradapter"
)

// azureBucket mends gocloud's azureblob where it would alter data in
// transit.
//
// Reads: the Azure SDK sends its requests through Go's net/http transport,
// which asks for gzip on its own and then decompresses every response that
// carries "Content-Encoding: gzip". A blob stored with that header (a
// compressed results file uploaded as such) therefore reads back as other
// bytes than were stored and than Attributes().Size counts, and a migration
// would write the decompressed bytes under a gzip header: a silently
// corrupted copy. A request that names its own Accept-Encoding is passed
// through untouched by the transport, so every read asks for "identity"
// (Azure Blob Storage never transcodes; the header only stops the
// transport), as every other backend reads the stored bytes.
type azureBucket struct{ driver.Bucket }

func wrapAzure(b *gcblob.Bucket) *gcblob.Bucket {
	return gcblob.NewBucket(azureBucket{driveradapter.Bucket(b)})
}

// storedBytes is the header every read sends.
var storedBytes = http.Header{"Accept-Encoding": {"identity"}}

func (b azureBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	return b.Bucket.NewRangeReader(policy.WithHTTPHeader(ctx, storedBytes), key, offset, length, opts)
}

package blob

import (
	"context"

	"cloud.google.com/go/storage"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/driver"

	"github.com/civicport/civicport/internal/driveradapter"
)

// gcsBucket mends gocloud's gcsblob where it would alter data in transit.
//
// Reads: the GCS client asks for gzip and decompresses objects stored with
// "Content-Encoding: gzip" (GCS "decompressive transcoding"), so a read
// returns other bytes than were stored and than Attributes().Size counts. A
// migration would then write the decompressed bytes under a gzip header:
// a silently corrupted copy. civicport always reads the stored bytes
// (ObjectHandle.ReadCompressed), as every other backend does.
type gcsBucket struct{ driver.Bucket }

func wrapGCS(b *gcblob.Bucket) *gcblob.Bucket {
	return gcblob.NewBucket(gcsBucket{driveradapter.Bucket(b)})
}

func (b gcsBucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	o := driver.ReaderOptions{}
	if opts != nil {
		o = *opts
	}
	o.BeforeRead = before(func(as func(any) bool) {
		var oh **storage.ObjectHandle
		if as(&oh) {
			*oh = (*oh).ReadCompressed(true)
		}
	}, o.BeforeRead)
	return b.Bucket.NewRangeReader(ctx, key, offset, length, &o)
}

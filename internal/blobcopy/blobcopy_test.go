package blobcopy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/civicport/civicport/internal/blobcopy"
)

// Every attribute an object can be written with comes back on the copy.
func TestWriterOptionsKeepsAttributes(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	require.NoError(t, b.WriteAll(ctx, "a", []byte("precinct,votes\n"), &blobcopyOpts))
	a, err := b.Attributes(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, b.WriteAll(ctx, "b", []byte("precinct,votes\n"), blobcopy.WriterOptions(a, a.Metadata)))
	c, err := b.Attributes(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, a.ContentType, c.ContentType)
	assert.Equal(t, a.CacheControl, c.CacheControl)
	assert.Equal(t, a.ContentDisposition, c.ContentDisposition)
	assert.Equal(t, a.ContentEncoding, c.ContentEncoding)
	assert.Equal(t, a.ContentLanguage, c.ContentLanguage)
	assert.Equal(t, map[string]string{"county": "adams"}, c.Metadata)
}

var blobcopyOpts = blob.WriterOptions{
	ContentType: "text/csv; charset=utf-8", CacheControl: "no-store", ContentDisposition: "attachment",
	ContentEncoding: "identity", ContentLanguage: "en-US", Metadata: map[string]string{"county": "adams"},
}

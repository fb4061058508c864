package main

import (
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
)

var listAll = minio.ListObjectsOptions{Recursive: true}

func open(t *testing.T, url string) *gcblob.Bucket {
	t.Helper()
	b, err := blob.Open(testenv.Context(t), url)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

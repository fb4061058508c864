package main

import (
	"testing"

	"github.com/minio/minio-go/v7"
	gcblob "gocloud.dev/blob"

	"github.com/civicport/civicport/blob"
	"github.com/civicport/civicport/internal/testing/testenv"
)

var listAll = minio.ListObjectsOptions{Recursive: true}

func open(t *testing.T, url string) *gcblob.Bucket { return testenv.Bucket(t, blob.Open, url) }

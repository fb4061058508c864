package minio_test

import (
	"context"
	"fmt"
	"log"
	"time"

	cpminio "github.com/civicport/civicport/adapters/minio"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"gocloud.dev/blob"
)

// Open a bucket by URL, use it as any *blob.Bucket, then put a governance
// retention on an object through the bucket's own MinIO client. Needs a MinIO
// server with an object-lock bucket "ballots", and MINIO_ACCESS_KEY and
// MINIO_SECRET_KEY in the environment.
func Example() {
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, "minio://127.0.0.1:9100/ballots?secure=false&region=us-east-1")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	const key = "precinct-7/tally.json"
	if err := b.WriteAll(ctx, key, []byte(`{"A":412,"B":398}`), nil); err != nil {
		log.Fatal(err)
	}

	// Object lock is not part of the portable API: use the MinIO client.
	client, _ := cpminio.Client(b)
	bucket, _ := cpminio.BucketName(b)
	attrs, err := b.Attributes(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	var info minio.ObjectInfo
	attrs.As(&info)
	mode := minio.Governance
	until := time.Now().AddDate(0, 22, 0) // 22 months, 52 U.S.C. 20701
	err = client.PutObjectRetention(ctx, bucket, cpminio.ObjectName(key), minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: info.VersionID,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retained until", until.Format(time.DateOnly))
}

// OpenBucket takes a *minio.Client configured in code.
func ExampleOpenBucket() {
	ctx := context.Background()
	client, err := minio.New("minio.example.org:9000", &minio.Options{
		Creds:  credentials.NewEnvMinio(), // MINIO_ACCESS_KEY / MINIO_SECRET_KEY
		Secure: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := cpminio.OpenBucket(ctx, client, "ballots", &cpminio.Options{PartSize: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, "hello.txt", []byte("hello"), nil); err != nil {
		log.Fatal(err)
	}
}

package digest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gocloud.dev/blob/fileblob"

	"github.com/civicport/civicport/blob/digest"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "digest-example")
	defer os.RemoveAll(dir)
	fb, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	b := digest.Wrap(fb, nil)
	defer b.Close()

	if err := b.WriteAll(ctx, "tally.csv", []byte("candidate,votes\nA,1234\n"), nil); err != nil {
		log.Fatal(err)
	}
	a, _ := b.Attributes(ctx, "tally.csv")
	fmt.Println("recorded:", a.Metadata[digest.MetadataKey])

	// One digit changed on disk, behind the application's back.
	os.WriteFile(filepath.Join(dir, "tally.csv"), []byte("candidate,votes\nA,7234\n"), 0o600)
	_, err = b.ReadAll(ctx, "tally.csv")
	fmt.Println("tampering detected:", errors.Is(err, digest.ErrMismatch))
	// Output:
	// recorded: 9f475306c3bdc46538a4dd1e5c6b8b9de4e1b426e5faad4893ddc4bdbc6734ac
	// tampering detected: true
}

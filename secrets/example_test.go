package secrets_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/secrets/envelope"
)

// localKEK stands in for a keeper on a real provider (opened with
// awskms://, gcpkms://, an HSM...).
func localKEK(id string) envelope.KEK {
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		log.Fatal(err)
	}
	return envelope.KEK{ID: id, Keeper: localsecrets.NewKeeper(key)}
}

// Encrypt records under a ring of two KEKs on different providers, and read
// them back with whichever one is still reachable.
func Example_envelope() {
	ctx := context.Background()
	aws, hsm := localKEK("aws-kms/records"), localKEK("county-hsm/records")

	var sealed bytes.Buffer
	w, err := envelope.NewEncrypter(ctx, &sealed, []envelope.KEK{aws, hsm}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(w, "precinct 0001: 412 ballots"); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil { // nothing decrypts until Close succeeds
		log.Fatal(err)
	}

	// AWS is unreachable today: the county's HSM alone opens the records.
	d, err := envelope.NewDecrypter(ctx, &sealed, []envelope.KEK{hsm})
	if err != nil {
		log.Fatal(err)
	}
	records, err := io.ReadAll(d)
	if err != nil {
		log.Fatal(err) // errors.Is(err, envelope.ErrTampered), ErrTruncated, ...
	}
	fmt.Printf("%s (key unwrapped by %s)\n", records, d.KEKUsed())
	// Output: precinct 0001: 412 ballots (key unwrapped by county-hsm/records)
}

// Move an envelope from AWS KMS to Google Cloud KMS without re-encrypting
// it: only the header changes.
func ExampleRewrap() {
	ctx := context.Background()
	aws, gcp := localKEK("aws-kms/records"), localKEK("gcp-kms/records")
	var sealed bytes.Buffer
	w, _ := envelope.NewEncrypter(ctx, &sealed, []envelope.KEK{aws}, nil)
	io.WriteString(w, "results, 2026 general")
	w.Close()

	r := bytes.NewReader(sealed.Bytes())
	h, err := envelope.ReadHeader(r) // r is now at the body
	if err != nil {
		log.Fatal(err)
	}
	h2, err := envelope.Rewrap(ctx, h, []envelope.KEK{aws}, []envelope.KEK{gcp}, []string{"aws-kms/records"})
	if err != nil {
		log.Fatal(err)
	}
	newHeader, _ := h2.MarshalBinary()
	rewrapped := io.MultiReader(bytes.NewReader(newHeader), r) // the same body bytes

	d, err := envelope.NewDecrypter(ctx, rewrapped, []envelope.KEK{aws, gcp})
	if err != nil {
		log.Fatal(err)
	}
	text, _ := io.ReadAll(d)
	fmt.Println(h.KEKIDs(), "->", h2.KEKIDs())
	fmt.Printf("%s (key unwrapped by %s)\n", text, d.KEKUsed())
	// Output:
	// [aws-kms/records] -> [gcp-kms/records]
	// results, 2026 general (key unwrapped by gcp-kms/records)
}

// Read bytes 16 to 25 of an envelope, fetching only the chunk that
// holds them, as a blob decorator does with range reads.
func ExampleDataKey_NewRangeReader() {
	ctx := context.Background()
	kek := localKEK("county-hsm/records")
	var sealed bytes.Buffer
	w, _ := envelope.NewEncrypter(ctx, &sealed, []envelope.KEK{kek}, &envelope.Options{ChunkSize: 16})
	io.WriteString(w, "0123456789abcdefghijklmnopqrstuvwxyz")
	w.Close()
	object := bytes.NewReader(sealed.Bytes()) // an io.ReaderAt, e.g. a blob

	h, err := envelope.ReadHeader(io.NewSectionReader(object, 0, object.Size()))
	if err != nil {
		log.Fatal(err)
	}
	key, err := h.Unwrap(ctx, []envelope.KEK{kek}) // once per object; reuse for many ranges
	if err != nil {
		log.Fatal(err)
	}
	r, err := key.NewRangeReader(object.Size(), 16, 10, func(off, n int64) (io.ReadCloser, error) {
		fmt.Printf("fetch %d bytes\n", n)
		return io.NopCloser(io.NewSectionReader(object, off, n)), nil
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	part, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", part)
	// Output:
	// fetch 53 bytes
	// ghijklmnop
}

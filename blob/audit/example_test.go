package audit_test

import (
	"context"
	"fmt"
	"time"

	"gocloud.dev/blob/memblob"
	"golang.org/x/mod/sumdb/note"

	"github.com/civicport/civicport/blob/audit"
)

// A county's custody log: record two events, sign a checkpoint, then check
// the log as an auditor would, with only the bucket and the public key.
func Example() {
	ctx := context.Background()
	b := memblob.OpenBucket(&memblob.Options{NoMD5: true}) // any *blob.Bucket: s3://, gs://, minio://, ...
	defer b.Close()

	// Keys come from note.GenerateKey; the signer key stays with the
	// custodian, the verifier key is published.
	signer, _ := note.NewSigner("PRIVATE+KEY+example.org/audit+9b9309e8+Ab57s6QsL4OA/SznO8pwlRDu+5wx2V3p8r6q40pk+WYE")
	verifier, _ := note.NewVerifier("example.org/audit+9b9309e8+AaLvVjxo1Mx2EQuv5/Hr2PxHEhmIvKhUVDFELblhZP4W")

	at := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	log, err := audit.Open(ctx, b, signer, &audit.Options{Actor: "clerk@county.example", Now: func() time.Time { return at }})
	if err != nil {
		panic(err)
	}
	log.Record(ctx, "write", "ballots", "precinct-01.csv", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	log.Record(ctx, "copy", "ballots-dr", "precinct-01.csv", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	signed, _ := log.Checkpoint(ctx)
	fmt.Printf("%s", signed)

	rep, _ := audit.Verify(ctx, b, verifier, nil)
	fmt.Println("ok:", rep.OK(), "entries:", rep.Entries, "signed size:", rep.TreeSize)

	// Someone edits entry 0 behind the log's back.
	entry, _ := b.ReadAll(ctx, audit.EntryKey(0))
	w, _ := b.NewWriter(ctx, audit.EntryKey(0), nil) // (WriteAll would compute an MD5)
	w.Write(append(entry[:len(entry)-1:len(entry)-1], ' ', '\n'))
	w.Close()
	rep, _ = audit.Verify(ctx, b, verifier, nil)
	fmt.Println("ok:", rep.OK(), "first bad entry:", rep.FirstBad)
	fmt.Println(rep.Problems[0])
	// Output:
	// example.org/audit
	// 2
	// T5XrgxpMIPI9esuuEpJ/BSMbDj6bc05kItm1s2lguSc=
	//
	// — example.org/audit m5MJ6GaIxEsil/YOgO5CgaG5Ya7oFlGbFxLdHVYg9vcGEBpOMuzXRRjkZSQne5PmBrzdYqwKwnue37Lcnp/Nd6JQIAs=
	// ok: true entries: 2 signed size: 2
	// ok: false first bad entry: 0
	// altered entries/0000000000000000.json: differs from the hash recorded when it was appended (hashes/0000000000000000)
}

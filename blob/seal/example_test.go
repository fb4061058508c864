package seal_test

import (
	"context"
	"fmt"
	"log"

	"gocloud.dev/blob/memblob"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/blob/seal"
	"github.com/civicport/civicport/secrets/envelope"
)

func Example() {
	ctx := context.Background()
	// Two KEKs on different "providers": either one can open the records.
	// (In production: awskms://, gcpkms://, pkcs11:// keepers.)
	k1, _ := localsecrets.NewRandomKey()
	k2, _ := localsecrets.NewRandomKey()
	keks := []envelope.KEK{
		{ID: "aws-kms/records", Keeper: localsecrets.NewKeeper(k1)},
		{ID: "hsm/records", Keeper: localsecrets.NewKeeper(k2)},
	}
	provider := memblob.OpenBucket(nil) // what the storage provider holds
	b, err := seal.Wrap(provider, keks, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	if err := b.WriteAll(ctx, "precinct-7/tally.csv", []byte("candidate,votes\nA,1234\n"), nil); err != nil {
		log.Fatal(err)
	}
	plain, err := b.ReadAll(ctx, "precinct-7/tally.csv")
	if err != nil {
		log.Fatal(err)
	}
	a, _ := b.Attributes(ctx, "precinct-7/tally.csv")
	fmt.Printf("%q (%d bytes)\n", plain, a.Size)

	// Later: retire the HSM key and add a new one, without re-encrypting.
	k3, _ := localsecrets.NewRandomKey()
	newKEK := envelope.KEK{ID: "hsm/records-2026", Keeper: localsecrets.NewKeeper(k3)}
	sum, err := seal.Rewrap(ctx, provider, keks, []envelope.KEK{newKEK}, []string{"hsm/records"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)
	// Output:
	// "candidate,votes\nA,1234\n" (23 bytes)
	// objects 1: rewrapped 1 (352 bytes), skipped 0 (already done), not sealed 0, failed 0
}

package profile_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"path/filepath"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/civicport/civicport/adapters/profile"
)

// Load a profile from a file (and the environment), then open its stack.
// The same program runs on AWS, Google Cloud or the county's own servers
// by changing the file or CIVICPORT_PROFILE; here it is the local profile,
// which needs no server.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "civicport-profile-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The key comes from the environment (or key_file), never the file.
	key := make([]byte, 32)
	rand.Read(key)
	os.Setenv("CIVICPORT_LOCAL_KEY", base64.StdEncoding.EncodeToString(key))
	defer os.Unsetenv("CIVICPORT_LOCAL_KEY")

	config := filepath.Join(dir, "civicport.json")
	os.WriteFile(config, []byte(`{
	  "profile": "local",
	  "local": {"dir": "`+filepath.Join(dir, "records")+`", "create_dir": true, "topic": "example"}
	}`), 0o600)

	cfg, err := profile.Load(config) // CIVICPORT_* variables override the file
	if err != nil {
		log.Fatal(err) // e.g. profile local: field "dir": empty; want the directory holding the objects
	}
	stack, cleanup, err := profile.Open(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()

	// gocloud's own *blob.Bucket, *secrets.Keeper, *pubsub.Topic, *pubsub.Subscription.
	sealed, _ := stack.Keeper.Encrypt(ctx, []byte("precinct 0001: 1234 ballots"))
	if err := stack.Bucket.WriteAll(ctx, "results/0001.sealed", sealed, nil); err != nil {
		log.Fatal(err)
	}
	if err := stack.Topic.Send(ctx, &gcpubsub.Message{Body: []byte("results/0001.sealed")}); err != nil {
		log.Fatal(err)
	}

	m, err := stack.Subscription.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	m.Ack()
	stored, _ := stack.Bucket.ReadAll(ctx, string(m.Body))
	plain, _ := stack.Keeper.Decrypt(ctx, stored)
	fmt.Printf("%s: %s\n", m.Body, plain)
	// Output: results/0001.sealed: precinct 0001: 1234 ballots
}

//go:build ignore

// azcontainer creates or deletes a container on the Azurite test server
// (gocloud's azureblob opens containers but does not create them; Azurite's
// Shared Key signing is too fiddly for curl). Used by scripts/capabilities.sh.
//
// usage: go run scripts/azcontainer.go create|delete NAME   (Azurite at
// $CIVICPORT_AZURITE_ADDR, default 127.0.0.1:10000, development account)
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// The development account's well-known key (public, Azurite's default).
const account, key = "devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "create" && os.Args[1] != "delete") {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/azcontainer.go create|delete NAME")
		os.Exit(2)
	}
	addr := os.Getenv("CIVICPORT_AZURITE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:10000"
	}
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err == nil {
		var c *azblob.Client
		if c, err = azblob.NewClientWithSharedKeyCredential("http://"+addr+"/"+account+"/", cred, nil); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if os.Args[1] == "create" {
				_, err = c.CreateContainer(ctx, os.Args[2], nil)
			} else {
				_, err = c.DeleteContainer(ctx, os.Args[2], nil)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "azcontainer %s %s: %v\n", os.Args[1], os.Args[2], err)
		os.Exit(1)
	}
}

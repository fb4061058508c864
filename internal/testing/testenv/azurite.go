package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite's well-known development account (documented by Microsoft; it is
// not a secret), which scripts/test-services.sh exports too.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azure is the Azurite test server (Azure Blob Storage emulator).
type Azure struct {
	Host string // host:port, e.g. 127.0.0.1:10000
}

var azureEnvOnce sync.Once

// Azurite returns the Azurite blob service (CIVICPORT_AZURITE_ADDR, default
// 127.0.0.1:10000), skipping t if it is not running. It sets
// AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY to the development account
// for the test process (values already set win), which is how gocloud's
// azureblob URL opener finds its credentials.
func Azurite(t testing.TB) Azure {
	t.Helper()
	// A TCP probe: an anonymous HTTP request gets a 4xx from Azurite.
	a := Azure{Host: serviceHost(t, "Azurite", "CIVICPORT_AZURITE_ADDR", "127.0.0.1:10000", probeTCP)}
	azureEnvOnce.Do(func() {
		for k, v := range map[string]string{"AZURE_STORAGE_ACCOUNT": AzuriteAccount, "AZURE_STORAGE_KEY": AzuriteKey} {
			if os.Getenv(k) == "" {
				os.Setenv(k, v)
			}
		}
	})
	return a
}

// Client returns an Azure SDK client for the development account (for
// set-up and checks that bypass civicport).
func (a Azure) Client(t testing.TB) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(AzuriteAccount, AzuriteKey)
	if err != nil {
		t.Fatalf("azurite credential: %v", err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential("http://"+a.Host+"/"+AzuriteAccount+"/", cred, nil)
	if err != nil {
		t.Fatalf("azurite client: %v", err)
	}
	return c
}

// NewContainer creates a container with a unique name (gocloud's azureblob
// does not create containers) and deletes it, with its blobs, when t ends.
func (a Azure) NewContainer(t testing.TB) string {
	t.Helper()
	c := a.Client(t)
	name := UniqueName("cp-az")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateContainer(ctx, name, nil); err != nil {
		t.Fatalf("create azurite container %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DeleteContainer(ctx, name, nil); err != nil {
			t.Logf("delete azurite container %s: %v", name, err)
		}
	})
	return name
}

// URL is a gocloud azblob:// URL for container on this server (the
// emulator form gocloud v0.48+ accepts: localemu=true allows plain HTTP and
// puts the account in the path).
func (a Azure) URL(container string) string {
	return fmt.Sprintf("azblob://%s?localemu=true&protocol=http&domain=%s", container, a.Host)
}

//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
	"net/url"

	"gocloud.dev/secrets"
)

var errNoCgo = errors.New("pkcs11: civicport was built without cgo (CGO_ENABLED=0); PKCS#11 keepers need cgo")

func init() { secrets.DefaultURLMux().RegisterKeeper(Scheme, &URLOpener{}) }

// URLOpener opens pkcs11:// URLs; without cgo it always fails.
type URLOpener struct{}

// OpenKeeperURL fails: this build has no cgo.
func (*URLOpener) OpenKeeperURL(context.Context, *url.URL) (*secrets.Keeper, error) {
	return nil, errNoCgo
}

// OpenKeeper fails: this build has no cgo.
func OpenKeeper(context.Context, Options) (*secrets.Keeper, error) { return nil, errNoCgo }

// GenerateKey fails: this build has no cgo.
func GenerateKey(ctx context.Context, module, token, pin, label string) error { return errNoCgo }

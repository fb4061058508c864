package secretstest

import (
	"context"

	gcsecrets "gocloud.dev/secrets"

	"github.com/civicport/civicport/secrets"
)

// URLOpener returns an Opener that opens url with civicport's secrets.Open
// on every call (any scheme it accepts: awskms://, gcpkms://, pkcs11://,
// base64key://, ring://), as `civicport conform --secrets URL` uses it: the
// same configured key for every check. base64key:// without a key opens a
// new random key on every call.
func URLOpener(url string) Opener {
	return func(ctx context.Context) (*gcsecrets.Keeper, error) {
		return secrets.Open(ctx, url)
	}
}

package driveradapter

import (
	"context"

	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"

	"gocloud.dev/gcerrors"
)

// Keeper returns a driver.Keeper that forwards every call to k. Closing the
// driver closes k. Errors keep their gcerrors code and As targets, without
// gocloud's "secrets (code=...)" prefix appearing twice once the driver is
// turned back into a portable keeper.
func Keeper(k *gcsecrets.Keeper) driver.Keeper { return &keeper{k: k} }

type keeper struct{ k *gcsecrets.Keeper }

var _ driver.Keeper = (*keeper)(nil)

func (d *keeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	b, err := d.k.Encrypt(ctx, plaintext)
	return b, wrap(err)
}

func (d *keeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	b, err := d.k.Decrypt(ctx, ciphertext)
	return b, wrap(err)
}

func (d *keeper) Close() error { return wrap(d.k.Close()) }

func (d *keeper) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }

func (d *keeper) ErrorAs(err error, i any) bool {
	return d.k.ErrorAs(unwrapPortable(err), i)
}

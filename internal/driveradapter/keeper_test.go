package driveradapter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/gcerrors"
	gcsecrets "gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
	"gocloud.dev/secrets/drivertest"
	"gocloud.dev/secrets/localsecrets"

	"github.com/civicport/civicport/internal/driveradapter"
)

// localKeeperHarness runs gocloud's secrets drivertest through the adapter
// over two localsecrets keepers with different keys.
type localKeeperHarness struct{}

func (localKeeperHarness) MakeDriver(context.Context) (driver.Keeper, driver.Keeper, error) {
	k1, err := localsecrets.NewRandomKey()
	if err != nil {
		return nil, nil, err
	}
	k2, err := localsecrets.NewRandomKey()
	if err != nil {
		return nil, nil, err
	}
	return driveradapter.Keeper(localsecrets.NewKeeper(k1)), driveradapter.Keeper(localsecrets.NewKeeper(k2)), nil
}

func (localKeeperHarness) Close() {}

func TestKeeperConformanceLocal(t *testing.T) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return localKeeperHarness{}, nil
	}, nil)
}

func TestKeeperErrorsKeepCodeAndLoseDoublePrefix(t *testing.T) {
	ctx := context.Background()
	key, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	k := gcsecrets.NewKeeper(driveradapter.Keeper(localsecrets.NewKeeper(key)))
	defer k.Close()

	_, err = k.Decrypt(ctx, []byte("not a ciphertext"))
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), "secrets (code="), "prefix doubled: %v", err)

	// A closed inner keeper reports FailedPrecondition through the adapter.
	inner := localsecrets.NewKeeper(key)
	require.NoError(t, inner.Close())
	outer := gcsecrets.NewKeeper(driveradapter.Keeper(inner))
	_, err = outer.Encrypt(ctx, []byte("x"))
	require.Error(t, err)
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err))
	assert.Equal(t, 1, strings.Count(err.Error(), "secrets (code="), "prefix doubled: %v", err)
}

func TestKeeperRoundTripAndClose(t *testing.T) {
	ctx := context.Background()
	key, err := localsecrets.NewRandomKey()
	require.NoError(t, err)
	inner := localsecrets.NewKeeper(key)
	k := gcsecrets.NewKeeper(driveradapter.Keeper(inner))
	ct, err := k.Encrypt(ctx, []byte("ballot manifest"))
	require.NoError(t, err)
	pt, err := inner.Decrypt(ctx, ct) // the adapter adds no framing
	require.NoError(t, err)
	assert.Equal(t, "ballot manifest", string(pt))

	require.NoError(t, k.Close())
	_, err = inner.Encrypt(ctx, []byte("x"))
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "closing the adapter closes the keeper: %v", err)
}

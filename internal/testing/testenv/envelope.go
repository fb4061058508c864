package testenv

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicport/civicport/secrets/envelope"
)

// EnvelopeRoundTrip encrypts about size bytes of records into an envelope
// under kek alone, decrypts them with kek and fails the test unless the
// same bytes come back, decrypted by kek.
func EnvelopeRoundTrip(t testing.TB, kek envelope.KEK, size int) {
	t.Helper()
	ctx := context.Background()
	line := []byte("precinct 0012, registration record\n")
	pt := bytes.Repeat(line, max(1, size/len(line)))
	var buf bytes.Buffer
	w, err := envelope.NewEncrypter(ctx, &buf, []envelope.KEK{kek}, nil)
	require.NoError(t, err)
	_, err = w.Write(pt)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	d, err := envelope.NewDecrypter(ctx, &buf, []envelope.KEK{kek})
	require.NoError(t, err)
	got, err := io.ReadAll(d)
	require.NoError(t, err)
	require.True(t, bytes.Equal(pt, got), "envelope under %q did not round-trip", kek.ID)
	require.Equal(t, kek.ID, d.KEKUsed())
}

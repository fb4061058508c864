package migrate

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An object read into memory holds exactly the size it was listed with;
// one that grew or shrank since the listing fails permanently (not
// retried: the next run lists it again), and a read error is passed on.
func TestReadExactly(t *testing.T) {
	body, err := readExactly(strings.NewReader("ballot"), 6)
	require.NoError(t, err)
	assert.Equal(t, "ballot", string(body))

	body, err = readExactly(strings.NewReader(""), 0)
	require.NoError(t, err)
	assert.Empty(t, body)

	for _, tc := range []struct {
		name, content string
		size          int64
		want          string
	}{
		{"grew", "ballots", 6, "listed 6 bytes, read more"},
		{"shrank", "ball", 6, "listed 6 bytes, read 4"},
		{"emptied", "", 6, "listed 6 bytes, read 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readExactly(strings.NewReader(tc.content), tc.size)
			var perm permanentError
			require.ErrorAs(t, err, &perm)
			assert.ErrorContains(t, err, "source size changed during copy: "+tc.want)
		})
	}

	boom := errors.New("connection reset")
	_, err = readExactly(iotest.TimeoutReader(strings.NewReader("ballot")), 6)
	assert.ErrorIs(t, err, iotest.ErrTimeout)
	_, err = readExactly(iotest.ErrReader(boom), 6)
	assert.ErrorIs(t, err, boom)
	assert.NotErrorAs(t, err, new(permanentError), "a read error may be retried")
}

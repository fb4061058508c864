package exmain

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExitCode(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 0, ExitCode(&stderr, "ex", nil))
	assert.Empty(t, stderr.String())

	assert.Equal(t, 2, ExitCode(&stderr, "ex", fmt.Errorf("%w: -n must be at least 1", ErrUsage)))
	assert.Equal(t, "ex: usage: -n must be at least 1\n", stderr.String())
	assert.Equal(t, 2, ExitCode(&stderr, "ex", flag.ErrHelp))
	assert.Equal(t, 1, ExitCode(&stderr, "ex", errors.New("bucket gone")))
}

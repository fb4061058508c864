package periodic

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRunUntilStopped(t *testing.T) {
	var n atomic.Int32
	stop := Run(time.Millisecond, func() bool { n.Add(1); return true })
	assert.Eventually(t, func() bool { return n.Load() >= 3 }, time.Second, time.Millisecond)
	stop()
	after := n.Load()
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, after, n.Load(), "no call after stop returned")
	stop() // again: no panic
}

func TestRunUntilFalse(t *testing.T) {
	var n atomic.Int32
	stop := Run(time.Millisecond, func() bool { return n.Add(1) < 2 })
	defer stop()
	assert.Eventually(t, func() bool { return n.Load() == 2 }, time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	assert.EqualValues(t, 2, n.Load())
}

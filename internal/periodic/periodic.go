// Package periodic runs a function every interval on a goroutine of its
// own until stopped: the keep-alive of a work item, the stall watchdog of
// an object copy.
package periodic

import (
	"sync"
	"time"
)

// Run calls f every d, starting d from now, until f returns false or stop
// is called. stop waits until f is no longer running, and may be called
// more than once.
func Run(d time.Duration, f func() (again bool)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if !f() {
					return
				}
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

package envelope

import "time"

// SetKeeperRetry sets how often, and after how long, an unreachable key
// service is asked again, until the returned restore is called.
func SetKeeperRetry(attempts int, backoff time.Duration) (restore func()) {
	a, b := keeperAttempts, keeperBackoff
	keeperAttempts, keeperBackoff = attempts, backoff
	return func() { keeperAttempts, keeperBackoff = a, b }
}

//go:build !unix

package blob

// lockDir is a no-op where flock(2) is not available: fileblob's own
// per-process lock is all there is.
func lockDir(string) (func(), error) { return func() {}, nil }

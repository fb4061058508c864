package digest

// SetPipelined switches hashing on its own goroutine on or off (for
// benchmarks) and returns the previous setting.
func SetPipelined(on bool) bool {
	old := pipelined
	pipelined = on
	return old
}

//go:build !race

package handlers_test

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = false

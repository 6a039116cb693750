//go:build race

package playout_test

// raceEnabled: the race detector allocates, so allocation counts are off.
const raceEnabled = true

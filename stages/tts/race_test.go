//go:build race

package tts_test

// raceEnabled: the race detector allocates, so allocation counts are off.
const raceEnabled = true

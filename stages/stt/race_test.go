//go:build race

package stt_test

// The race detector allocates on its own: allocation counts are checked
// only without it.
const raceEnabled = true

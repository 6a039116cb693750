//go:build !race

package tts_test

const raceEnabled = false

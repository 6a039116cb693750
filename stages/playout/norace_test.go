//go:build !race

package playout_test

const raceEnabled = false

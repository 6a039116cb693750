//go:build !linux

package pace

func newWaker() (waker, error) { return newTimerWaker(), nil }

//go:build unix

// Package cpubench measures what a benchmark costs the whole process, on
// every goroutine (a writer's, a client's, the runtime's), where ns/op is
// only the latency of one: CPU time and peak memory from getrusage(2).
package cpubench

import (
	"syscall"
	"testing"
	"time"
)

// Used is the CPU time the process has used, user and system.
func Used() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report reports the CPU time the process used per op since start (a
// Used reading) as cpu-ns/op: what an op costs the machine.
func Report(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(Used()-start)/float64(b.N), "cpu-ns/op")
}

// PeakRSS is the process's peak resident set, in bytes (Linux reports
// ru_maxrss in KiB); 0 if unknown.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}

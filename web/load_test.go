//go:build unix

package web_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicesim/voicesim/internal/cpubench"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/web"
	"go.uber.org/zap"
)

// BenchmarkLoad runs N simulated clients at once against one server over
// loopback, each streaming a six-question conversation in real time
// (testdata/load.yaml: constant latencies, questions at fixed times 7 s
// apart; clients start over 14 s so turns are spread evenly). It
// reports what the machine spent and the timing error: each turn's
// voice_to_voice over the wire minus the same turn under the virtual
// clock, which for constant latencies is exactly what was configured.
//
//	go test ./web -run '^$' -bench Load -benchtime 1x
//	VOICESIM_LOAD_CLIENTS=100,500 (default 100)
//	VOICESIM_LOAD_URL=ws://127.0.0.1:8080/ws to load a separate server
//	  (then CPU and memory are the clients' only)
//	VOICESIM_LOAD_TRACE=FILE, VOICESIM_LOAD_HEAP=FILE: a runtime trace
//	  (3 s) and a heap profile, taken 30 s in
//	VOICESIM_LOAD_GOROUTINES=1: server and clients read each socket on a
//	  goroutine of its own, not from their schedulers' shards
//
// Clients and server share the process (and its CPU) unless
// VOICESIM_LOAD_URL is set. A benchmark, not a test: nothing is asserted
// about the figures.
func BenchmarkLoad(b *testing.B) {
	counts := []int{100}
	if env := os.Getenv("VOICESIM_LOAD_CLIENTS"); env != "" {
		counts = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("VOICESIM_LOAD_CLIENTS=%q: want a list of client counts", env)
			}
			counts = append(counts, n)
		}
	}
	sc, err := scenarios.Load("testdata/load.yaml")
	if err != nil {
		b.Fatal(err)
	}
	virt, err := scenarios.Run([]*scenarios.Scenario{sc}, scenarios.RunOptions{Runs: 1})
	if err != nil {
		b.Fatal(err)
	}
	want := virt.Scenarios[0].Architectures[0].Representative[0].Turns
	for _, n := range counts {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			for range b.N {
				loadOnce(b, sc, want, n)
			}
		})
	}
}

func loadOnce(b *testing.B, sc *scenarios.Scenario, want []pipeline.TurnMetrics, n int) {
	url := os.Getenv("VOICESIM_LOAD_URL")
	goroutines := os.Getenv("VOICESIM_LOAD_GOROUTINES") != ""
	var srv *web.Server
	if url == "" {
		var err error
		srv, err = web.New(web.Config{Logger: zap.NewNop(), MaxSessions: n + 10, ReadOnGoroutines: goroutines})
		if err != nil {
			b.Fatal(err)
		}
		// Labels tell the server's goroutines from the clients' in a CPU
		// profile (-cpuprofile, then pprof -tagfocus side=server).
		var hs *httptest.Server
		pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
			hs = httptest.NewServer(srv)
		})
		defer hs.Close()
		url = hs.URL
	}
	var (
		mu       sync.Mutex
		errs     []float64                // ms, measured − configured
		parts    = map[string][]float64{} // the same, per breakdown metric
		answered int
		peakHeap uint64
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // memory while every session is live
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peakHeap = max(peakHeap, ms.HeapInuse)
			mu.Unlock()
		}
	}()
	var profiles sync.WaitGroup // done before the benchmark returns
	if path := os.Getenv("VOICESIM_LOAD_TRACE"); path != "" {
		profiles.Go(func() { atFullLoad(b, path, stop, traceWindow(stop)) })
	}
	if path := os.Getenv("VOICESIM_LOAD_HEAP"); path != "" {
		profiles.Go(func() { atFullLoad(b, path, stop, heapProfile) })
	}
	clients := pace.New(0)
	gc0 := gcStats()
	cpu0, wall0, steal0 := cpubench.Used(), time.Now(), stealTime()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
		_, err = scenarios.RunRemote(ctx, []*scenarios.Scenario{sc}, scenarios.RemoteOptions{
			URL: url, Runs: n, Workers: n, Ramp: 14 * time.Second, Pace: clients, ReadOnGoroutines: goroutines,
			OnRun: func(r scenarios.RemoteRun) {
				mu.Lock()
				defer mu.Unlock()
				for i, tm := range r.Turns {
					got, ok := tm.Values[pipeline.MetricVoiceToVoice]
					if !ok || i >= len(want) {
						continue
					}
					answered++
					errs = append(errs, float64(got-want[i].Values[pipeline.MetricVoiceToVoice])/1e6)
					for name, w := range want[i].Values {
						if v, ok := tm.Values[name]; ok && name != pipeline.MetricVoiceToVoice {
							parts[name] = append(parts[name], float64(v-w)/1e6)
						}
					}
				}
			},
		})
	})
	cpu, wall, steal := cpubench.Used()-cpu0, time.Since(wall0), stealTime()-steal0
	gc := gcStats().minus(gc0)
	close(stop)
	<-sampled
	profiles.Wait()
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(errs)
	q := func(p float64) float64 { return quantile(errs, p) }
	b.ReportMetric(float64(n), "clients")
	b.ReportMetric(float64(cpu)/float64(wall), "cpu-cores")
	b.ReportMetric(float64(steal)/float64(wall), "steal-cores")
	b.ReportMetric(float64(cpubench.PeakRSS())/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(q(0.5), "err-p50-ms")
	b.ReportMetric(q(0.99), "err-p99-ms")
	b.ReportMetric(q(1), "err-max-ms")
	b.ReportMetric(float64(answered)/float64(n*len(want)), "answered")
	sched := schedLatency(0.999)
	b.ReportMetric(sched, "sched-p999-ms")
	b.ReportMetric(float64(gc.cycles), "gc-cycles")
	b.ReportMetric(gc.cpu.Seconds()/cpu.Seconds(), "gc-cpu-share")
	b.ReportMetric(float64(gc.alloc)/(1<<20)/wall.Seconds(), "alloc-MiB/s")
	// Where the error accrues: each span of the breakdown against its
	// virtual-clock value (upstream spans carry the client's send and the
	// server's read delays; network_down and playout the server's output
	// and the client's read delays).
	var where []string
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		v := parts[name]
		slices.Sort(v)
		if quantile(v, 0.99) != 0 || quantile(v, 0.01) != 0 {
			where = append(where, fmt.Sprintf("%s p50 %+.2f p99 %+.2f", name, quantile(v, 0.5), quantile(v, 0.99)))
		}
	}
	lateness := func(who string, l pace.Lateness) string {
		return fmt.Sprintf("%s p50 ≤%v p99 ≤%v max %v over %d", who, l.P50, l.P99, l.Max.Round(time.Microsecond), l.Fires)
	}
	pacing := lateness("clients", clients.Lateness())
	if srv != nil {
		pacing += "; " + lateness("server", srv.Pacing())
	}
	b.Logf("%d clients: timers fired late by: %s", n, pacing)
	b.Logf("%d clients: %d GC cycles (one per %.1f s), %.1f%% of the CPU spent on GC, %.1f MiB/s allocated",
		n, gc.cycles, wall.Seconds()/float64(max(gc.cycles, 1)), 100*gc.cpu.Seconds()/cpu.Seconds(), float64(gc.alloc)/(1<<20)/wall.Seconds())
	b.Logf("%d clients: error by span (ms): %s", n, strings.Join(where, "; "))
	b.Logf("%d clients over %v: %.2f CPU cores (of %d; the host took %.2f), peak RSS %d MiB; voice_to_voice error p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d turns; goroutine scheduling delay p99.9 %.1f ms",
		n, wall.Round(time.Millisecond), float64(cpu)/float64(wall), runtime.NumCPU(), float64(steal)/float64(wall), cpubench.PeakRSS()>>20, q(0.5), q(0.99), q(1), len(errs), sched)
}

// atFullLoad waits half a minute, when every client is live, then writes
// to a new file at path with write, unless stop comes first.
func atFullLoad(b *testing.B, path string, stop <-chan struct{}, write func(*os.File) error) {
	select {
	case <-stop:
		return
	case <-time.After(30 * time.Second):
	}
	f, err := os.Create(path)
	if err == nil {
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		b.Errorf("%s: %v", path, err)
	}
}

// traceWindow is a three-second runtime trace at full load
// (VOICESIM_LOAD_TRACE; read it with go tool trace, for instance
// -pprof=sched).
func traceWindow(stop <-chan struct{}) func(*os.File) error {
	return func(f *os.File) error {
		if err := trace.Start(f); err != nil {
			return err
		}
		select {
		case <-stop:
		case <-time.After(3 * time.Second):
		}
		trace.Stop()
		return nil
	}
}

// heapProfile is a heap profile at full load (VOICESIM_LOAD_HEAP; read it
// with go tool pprof -sample_index=inuse_space).
func heapProfile(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) }

// quantile returns the p-quantile of sorted values.
func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// stealTime is the CPU time the hypervisor gave to others while this
// machine's CPUs wanted it (the steal column of /proc/stat, all CPUs): on
// a virtual machine, the noise in the figures. Zero where not known.
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// gcCounters are the garbage collector's running totals.
type gcCounters struct {
	cycles uint64
	cpu    time.Duration // mark workers, assists and pauses
	alloc  uint64        // bytes allocated
}

func (a gcCounters) minus(b gcCounters) gcCounters {
	return gcCounters{a.cycles - b.cycles, a.cpu - b.cpu, a.alloc - b.alloc}
}

// gcStats reads the collector's totals: under load its mark phases, which
// take a quarter of GOMAXPROCS while they run, are where the timing tail
// comes from once the machine is busy.
func gcStats() gcCounters {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	var c gcCounters
	if s[0].Value.Kind() == metrics.KindUint64 {
		c.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		c.cpu = time.Duration(s[1].Value.Float64() * float64(time.Second))
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		c.alloc = s[2].Value.Uint64()
	}
	return c
}

// schedLatency returns the q-quantile of the time goroutines spent
// runnable before running, in ms, since the process started: how long the
// Go scheduler kept work waiting, which is where timing error comes from.
func schedLatency(q float64) float64 {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return math.NaN()
	}
	h := s[0].Value.Float64Histogram()
	var total, acc uint64
	for _, c := range h.Counts {
		total += c
	}
	for i, c := range h.Counts {
		acc += c
		if float64(acc) >= q*float64(total) {
			return h.Buckets[i+1] * 1000
		}
	}
	return math.NaN()
}

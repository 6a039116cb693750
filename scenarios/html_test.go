package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/voicesim/voicesim/pipeline"
)

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var cellRE = regexp.MustCompile(`data-arch="([^"]*)" data-metric="([^"]*)" data-stat="([^"]*)"[^>]*>([^<]*)<`)

func TestHTMLAgreesWithJSON(t *testing.T) {
	r := buildReport(80)
	page := renderHTML(t, r)
	saveArtifact(t, "report.html", []byte(page))
	// Each scenario section's table cells against its JSON summaries.
	for si, sc := range r.Scenarios {
		start := strings.Index(page, fmt.Sprintf(`<section class="scenario" id="s%d"`, si))
		end := start + strings.Index(page[start:], "</section>")
		seen := 0
		for _, m := range cellRE.FindAllStringSubmatch(page[start:end], -1) {
			a := sc.Arch(m[1])
			if a == nil {
				t.Fatalf("scenario %s: cell for unknown architecture %q", sc.Name, m[1])
			}
			s, ok := a.Metrics[m[2]]
			if !ok {
				t.Fatalf("scenario %s/%s: cell for unmeasured metric %q", sc.Name, m[1], m[2])
			}
			v, _ := Stat(s, m[3])
			agree(t, sc.Name+"/"+m[1]+"/"+m[2]+"/"+m[3], strings.Fields(m[4] + " p")[0], v)
			seen++
		}
		// 4 stats × every latency metric of every architecture, at least.
		if seen < 4*len(criticalMetrics(sc.Architectures[0].Metrics)) {
			t.Errorf("scenario %s: only %d numeric cells", sc.Name, seen)
		}
		// The CDF data embedded for the hover script is the histogram's.
		raw := between(t, page, fmt.Sprintf(`<script type="application/json" id="s%d-cdf-data">`, si), "</script>")
		var data map[string][][2]float64
		if err := json.Unmarshal([]byte(raw), &data); err != nil {
			t.Fatalf("scenario %s: CDF data is not JSON: %v", sc.Name, err)
		}
		for _, a := range sc.Architectures {
			h, err := pipeline.HistogramFromSummary(a.Metrics[pipeline.MetricVoiceToVoice])
			if err != nil {
				t.Fatal(err)
			}
			want := h.CDF()
			if got := data[a.Name]; len(got) != len(want) || got[len(got)-1] != want[len(want)-1] || got[0] != want[0] {
				t.Errorf("scenario %s/%s: embedded CDF has %d points, histogram %d", sc.Name, a.Name, len(got), len(want))
			}
		}
		section := page[start:end]
		for _, a := range sc.Architectures {
			if !strings.Contains(section, fmt.Sprintf(`<svg class="chart waterfall" id="s%d-waterfall-`, si)) ||
				!strings.Contains(section, `data-arch="`+a.Name+`" data-points="`) {
				t.Errorf("scenario %s: no waterfall for %s", sc.Name, a.Name)
			}
		}
		for _, kind := range []string{"cdf", "breakdown"} {
			if !strings.Contains(section, `<svg class="chart `+kind+`"`) {
				t.Errorf("scenario %s: no %s chart", sc.Name, kind)
			}
		}
		if !strings.Contains(section, `data-arch="native-gpt4o" data-cost="conversation">unknown<`) {
			t.Errorf("scenario %s: native cost must read unknown", sc.Name)
		}
	}
	if !strings.Contains(page, "backchannels &lt;uh-huh&gt; &amp; noise") {
		t.Error("description not HTML-escaped")
	}
	// Self-contained: nothing fetched, no external script or style.
	for _, bad := range []string{"<link", " src=", `href="http`, "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html references an outside resource (%q)", bad)
		}
	}
}

func TestHTMLEscapesHostileNames(t *testing.T) {
	r := &Report{Schema: SchemaVersion, Runs: 1, Mode: "virtual", Scenarios: []ScenarioReport{{
		Name: `</script><script>alert(1)</script>`, Description: `<img src=x onerror=alert(1)>`,
		Architectures: []ArchReport{{Name: `"><svg onload=alert(1)>`, Runs: 1,
			Metrics: map[string]pipeline.Summary{pipeline.MetricVoiceToVoice: summaryOf(300, 400)}}}}}}
	page := renderHTML(t, r)
	for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("unescaped %q in report.html", bad)
		}
	}
}

func TestHTMLWithoutRepresentativeOrBreakdown(t *testing.T) {
	r := &Report{Schema: SchemaVersion, Runs: 1, Mode: "virtual", Scenarios: []ScenarioReport{{Name: "empty",
		Architectures: []ArchReport{{Name: "x", Runs: 1, Metrics: map[string]pipeline.Summary{}}}}}}
	page := renderHTML(t, r)
	for _, want := range []string{"x: no answered turn in the median run", "no voice_to_voice values", "nothing to break down"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks the note %q", want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{{0, 1137, "[0 200 400 600 800 1000 1200]"}, {-30, 95, "[-40 -20 0 20 40 60 80 100]"}, {0, 0, "[0 0.2 0.4 0.6 0.8 1]"}, {0, 95, "[0 20 40 60 80 100]"}} {
		if got := fmt.Sprint(niceTicks(c.lo, c.hi, 6)); got != c.want {
			t.Errorf("niceTicks(%v, %v) = %s, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("page lacks %q", from)
	}
	rest := s[i+len(from):]
	return rest[:strings.Index(rest, to)]
}

// findChromium looks for a browser at $CHROMIUM, the usual paths, then PATH.
func findChromium() string {
	cands := []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, c := range cands {
		if c != "" {
			if _, err := os.Stat(c); err == nil {
				return c
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// chartInfo is what the browser reports of each rendered chart.
type chartInfo struct {
	Class  string  `json:"class"`
	ID     string  `json:"id"`
	Arch   string  `json:"arch"`
	Points int     `json:"points"`
	Shapes int     `json:"shapes"`
	Width  float64 `json:"width"`
}

const chartsJS = `Array.from(document.querySelectorAll("svg.chart")).map(function (s) {
  return {class: s.getAttribute("class"), id: s.id, arch: s.dataset.arch, points: +s.dataset.points,
    shapes: s.querySelectorAll("rect[data-stage], path[data-arch]").length, width: s.getBoundingClientRect().width};
})`

// hoverJS moves the pointer over the first CDF and returns the readout the
// inline script writes: proof the script ran without error.
const hoverJS = `(function () {
  var s = document.querySelector("svg.chart.cdf"); var r = s.getBoundingClientRect();
  s.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + r.width * 0.4, clientY: r.top + r.height / 2, bubbles: true}));
  return document.getElementById(s.id + "-readout").textContent;
})()`

// TestHTMLInChromium opens report.html and compare.html in headless
// Chromium, fails on any console error, exception or network request, and
// checks every chart rendered with data. Without a browser it skips, unless
// CI is set: CI must never skip silently.
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but no chromium found ($CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, PATH)")
		}
		t.Skip("no chromium found ($CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, PATH); set CI to make this fatal")
	}
	r := buildReport(60)
	cmp, err := Compare(r, r, "cascaded-streaming", "native-gpt4o")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var rep, cmpPage bytes.Buffer
	if err := WriteHTML(&rep, r); err != nil {
		t.Fatal(err)
	}
	if err := cmp.WriteHTML(&cmpPage); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true)}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first Run starts the browser and must not carry a deadline
	// (it would end the browser with it).
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	for _, pg := range []struct {
		name string
		data []byte
		want map[string]int // chart kind → how many
	}{
		{"report", rep.Bytes(), map[string]int{"waterfall": 4, "cdf": 2, "breakdown": 2}},
		{"compare", cmpPage.Bytes(), map[string]int{"cdf": 3, "stage-delta": 3}},
	} {
		t.Run(pg.name, func(t *testing.T) {
			file := filepath.Join(dir, pg.name+".html")
			if err := os.WriteFile(file, pg.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var problems []string
			// A new tab whose listener sees every event from its start.
			tab, cancel := chromedp.NewContext(bctx, chromedp.WithListener(func(ev any) {
				if p := pageProblem(ev); p != "" {
					mu.Lock()
					problems = append(problems, p)
					mu.Unlock()
				}
			}))
			defer cancel()
			// A guard against a hung browser, not a timing assertion.
			ctx, cancelT := context.WithTimeout(tab, 2*time.Minute)
			defer cancelT()
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartInfo](chartsJS))
			if err != nil {
				t.Fatalf("%s: charts: %v", file, err)
			}
			readout, err := chromedp.Run(ctx, chromedp.Evaluate[string](hoverJS))
			if err != nil {
				t.Fatalf("%s: hover: %v", file, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("%s: screenshot: %v", file, err)
			}
			shot := filepath.Join(dir, pg.name+".png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (%d bytes)", shot, len(png))
			saveArtifact(t, pg.name+".png", png)
			// The listener runs on the tab's reader before later replies are
			// read, so this round trip lets every earlier event land.
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1")); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Errorf("%s: %s", file, p)
			}
			got := map[string]int{}
			for _, c := range charts {
				kind := strings.TrimPrefix(c.Class, "chart ")
				got[kind]++
				if c.Points <= 0 || c.Shapes <= 0 || c.Width <= 0 {
					t.Errorf("%s: chart %s (%s, arch %q) drew nothing: data-points %d, shapes %d, width %.0f",
						file, c.ID, kind, c.Arch, c.Points, c.Shapes, c.Width)
				}
			}
			for kind, n := range pg.want {
				if got[kind] != n {
					t.Errorf("%s: %d %s charts rendered, want %d", file, got[kind], kind, n)
				}
			}
			if !strings.HasPrefix(readout, "answered within ") {
				t.Errorf("%s: hover readout %q: the inline script did not run", file, readout)
			}
			if len(png) < 8 || string(png[1:4]) != "PNG" {
				t.Errorf("%s: screenshot is not a PNG", file)
			}
		})
	}
}

// pageProblem describes an event that a clean page must not cause: a
// console error or assertion, an uncaught exception, a browser-log error,
// or any request that leaves the file (the page must be self-contained).
func pageProblem(ev any) string {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			return fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		return fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg)
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError {
			return fmt.Sprintf("browser log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		if u := e.Request.URL; !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			return "network request: " + u
		}
	}
	return ""
}

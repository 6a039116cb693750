package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/web"
)

// chromium finds a Chromium to drive (see findBrowser).
func chromium(t *testing.T) string {
	t.Helper()
	return findBrowser(t, "CHROMIUM", "apt-get install -y chromium",
		"chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
}

// findBrowser returns the binary named by the environment variable env, or
// the first of names on the PATH. Without one the test skips, except in
// CI, where a missing browser is a broken setup (make test installs it).
func findBrowser(t *testing.T, env, install string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s binary found (install it: %s)", names[0], install)
	}
	t.Skipf("no %s binary found; %s to run this browser test", names[0], install)
	return ""
}

// part is a piece of the fake microphone's recording: silence or a clip.
type part struct {
	silence time.Duration
	clip    string
}

// fakeMic writes a 24 kHz mono WAV for Chromium's fake capture device from
// the shipped speech clips, so no recording is kept in the repository.
func fakeMic(t *testing.T, parts ...part) string {
	t.Helper()
	var s []int16
	for _, p := range parts {
		if p.clip != "" {
			s = append(s, loadClip(t, p.clip).Samples...)
		} else {
			s = append(s, make([]int16, int(p.silence.Seconds()*pipeline.SampleRate))...)
		}
	}
	path := filepath.Join(t.TempDir(), "mic.wav")
	if err := audio.WriteWAVFile(path, audio.Clip{Samples: s, Rate: pipeline.SampleRate}); err != nil {
		t.Fatal(err)
	}
	return path
}

// browser starts headless Chromium whose microphone plays wav once.
func browser(t *testing.T, wav string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav+"%noloop"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1100, 1000),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancel3)
	// An uncaught error or console.error in the page fails the test, even
	// when what it broke is not what the test looks at.
	var mu sync.Mutex
	var pageErrs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				pageErrs = append(pageErrs, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range pageErrs {
			t.Errorf("the page logged an error: %s", e)
		}
	})
	return ctx
}

// screenshot saves the page in the test's artifact folder (kept with go
// test -artifacts, under -outputdir) and, for the README's picture, when
// demo is set and VOICESIM_DEMO_PNG names a file, there too.
func screenshot(t *testing.T, ctx context.Context, name string, demo bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if out := os.Getenv("VOICESIM_DEMO_PNG"); demo && out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("screenshot copied to %s", out)
	}
}

// attr reads an attribute of the first element matching sel.
func attr(t *testing.T, ctx context.Context, sel, name string) float64 {
	t.Helper()
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !a.Exists {
		t.Fatalf("%s[%s]: %v (present %v)", sel, name, err, a.Exists)
	}
	f, err := strconv.ParseFloat(a.Value, 64)
	if err != nil {
		t.Fatalf("%s[%s] = %q: %v", sel, name, a.Value, err)
	}
	return f
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowserCompletesATurn: the demo page in headless Chromium, its
// microphone a recorded question: it completes a turn and shows a
// voice_to_voice measured in the page and assistant audio played.
func TestBrowserCompletesATurn(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser in real time")
	}
	wav := fakeMic(t, part{silence: time.Second}, part{clip: "weather"}, part{silence: 8 * time.Second})
	ctx := browser(t, wav)
	_, hs := newServer(t, web.Config{})
	url := hs.URL + "/?preset=cascaded-streaming&network=none&reply=" +
		"Tomorrow%20in%20Paris%20expect%20sunshine%20in%20the%20morning%20and%20a%20few%20clouds%20later."
	row := `#turns tbody tr[data-v2v-client][data-played-ms]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.CSS(`#preset option`)),
		chromedp.Click(chromedp.CSS(`#start`)),
		chromedp.WaitReady(chromedp.CSS(row)),
	)
	if err != nil {
		t.Fatalf("no completed turn on the page: %v (status %q, banner %q)", err, text(t, ctx, "#status"), text(t, ctx, "#banner"))
	}
	v2v := attr(t, ctx, row, "data-v2v-client")
	played := attr(t, ctx, row, "data-played-ms")
	server := attr(t, ctx, row, "data-v2v-server")
	t.Logf("page: voice_to_voice %.0f ms (server's breakdown %.0f ms), %.0f ms of the answer played; shown %q",
		v2v, server, played, text(t, ctx, "#v2v-client"))
	if v2v <= 0 || v2v > 5000 || played <= 0 {
		t.Errorf("voice_to_voice %v ms, played %v ms; want a positive figure and audio played", v2v, played)
	}
	if got := text(t, ctx, "#v2v-client"); got == "—" {
		t.Error("the voice_to_voice figure is not shown")
	}
	screenshot(t, ctx, "turn.png", false)
}

// TestBrowserShowsBargeIn: the recorded user asks, then talks over the
// (long) answer; the page shows the interruption with barge_in_stop and
// how much of the answer was played.
func TestBrowserShowsBargeIn(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser in real time")
	}
	wav := fakeMic(t, part{silence: time.Second}, part{clip: "explain"}, part{silence: 2500 * time.Millisecond},
		part{clip: "stop"}, part{silence: 6 * time.Second})
	ctx := browser(t, wav)
	_, hs := newServer(t, web.Config{})
	row := `#turns tbody tr[data-barge-in-stop]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(hs.URL+"/?preset=cascaded-streaming&network=none&long=1"),
		chromedp.WaitReady(chromedp.CSS(`#preset option`)),
		chromedp.Click(chromedp.CSS(`#start`)),
		chromedp.WaitReady(chromedp.CSS(row)),
	)
	if err != nil {
		t.Fatalf("no interruption shown: %v (status %q, banner %q)", err, text(t, ctx, "#status"), text(t, ctx, "#banner"))
	}
	stop := attr(t, ctx, row, "data-barge-in-stop")
	played := attr(t, ctx, row, "data-played-ms")
	t.Logf("page: barge_in_stop %.0f ms after %.0f ms of the answer; shown %q", stop, played, text(t, ctx, "#bargein"))
	if stop <= 0 || stop > 3000 {
		t.Errorf("barge_in_stop %v ms; want the assistant stopped within 3 s", stop)
	}
	if a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(row), "data-truncated")); err != nil || !a.Exists {
		t.Errorf("the interrupted answer is not marked as cut: %v", err)
	}
	screenshot(t, ctx, "barge-in.png", true)
}

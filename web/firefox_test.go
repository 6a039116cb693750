//go:build unix

package web_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web"
)

// The demo page in Firefox, driven over WebDriver BiDi, the W3C protocol
// Firefox speaks on --remote-debugging-port. Firefox has no fake capture
// device that plays a file, so the test stands in for the microphone at
// getUserMedia: the stream it hands the page plays the recorded question
// through an AudioContext, and everything after that — the page's capture
// worklet, resampling, the socket, the playout worklet, the waterfall — is
// the page's own code running in Firefox.

// firefox finds a Firefox to drive (see findBrowser).
func firefox(t *testing.T) string {
	t.Helper()
	return findBrowser(t, "FIREFOX", "apt-get install -y firefox-esr", "firefox-esr", "firefox")
}

// pulse starts a PulseAudio server of the test's own with a null sink and
// a null source, and returns its socket: headless Firefox runs an
// AudioContext (and so the page's worklets) only with an audio device.
func pulse(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("pulseaudio")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no pulseaudio binary found (install it: apt-get install -y pulseaudio)")
		}
		t.Skip("no pulseaudio found; install pulseaudio to run the Firefox test")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "native")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
		"--use-pid-file=no", "--log-target=stderr", "--log-level=error",
		"--load=module-null-sink sink_name=speakers",
		"--load=module-null-source source_name=mic",
		"--load=module-native-protocol-unix auth-anonymous=1 socket="+sock)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+dir)
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pulseaudio: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulseaudio did not open %s within 10 s: %s", sock, out.String())
		}
	}
}

// bidi is a minimal WebDriver BiDi client: commands and their results;
// of events, only the page's errors are kept.
type bidi struct {
	t      *testing.T
	ws     *websocket.Conn
	mu     sync.Mutex
	next   int
	errors []string // uncaught errors and console.error output
}

type bidiReply struct {
	Type    string          `json:"type"`
	ID      int             `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// event keeps a log entry of level error.
func (b *bidi) event(r bidiReply) {
	if r.Method != "log.entryAdded" {
		return
	}
	var e struct {
		Level  string `json:"level"`
		Text   string `json:"text"`
		Source struct {
			Realm string `json:"realm"`
		} `json:"source"`
	}
	if json.Unmarshal(r.Params, &e) == nil && e.Level == "error" {
		b.errors = append(b.errors, e.Text)
	}
}

// callWait bounds one command: a browser that stops answering fails the
// test with the command named, rather than hanging it.
const callWait = time.Minute

// call sends one command and waits for its reply.
func (b *bidi) call(method string, params any, result any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	_ = b.ws.SetReadDeadline(time.Now().Add(callWait))
	if err := b.ws.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		var r bidiReply
		if err := b.ws.ReadJSON(&r); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if r.Type == "event" {
			b.event(r)
			continue
		}
		if r.ID != id {
			continue
		}
		if r.Type == "error" {
			return fmt.Errorf("%s: %s: %s", method, r.Error, r.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(r.Result, result)
	}
}

// startFirefox starts headless Firefox with a fresh profile and opens a
// BiDi session on its first tab; it returns the client and the tab.
func startFirefox(t *testing.T) (*bidi, string) {
	t.Helper()
	bin := firefox(t)
	profile := t.TempDir()
	prefs := strings.Join([]string{
		`user_pref("media.navigator.permission.disabled", true);`, // no permission prompt
		`user_pref("media.autoplay.default", 0);`,                 // audio may play without a click
		`user_pref("media.autoplay.block-webaudio", false);`,      // and so may an AudioContext
		`user_pref("app.update.enabled", false);`,
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
		`user_pref("toolkit.telemetry.enabled", false);`,
		`user_pref("remote.prefs.recommended", true);`, // the automation defaults: no network chatter
	}, "\n")
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port", "0", "about:blank")
	// Audio goes to a PulseAudio null sink; Firefox's sandboxes keep its
	// audio processes from reaching the sound server's socket, and this
	// browser only ever loads the test's own pages.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "PULSE_SERVER=unix:"+pulse(t),
		"MOZ_DISABLE_CONTENT_SANDBOX=1", "MOZ_DISABLE_UTILITY_SANDBOX=1", "MOZ_DISABLE_RDD_SANDBOX=1",
		"MOZ_HEADLESS_WIDTH=1100", "MOZ_HEADLESS_HEIGHT=1000")
	// Its own process group, so its content and audio processes end with
	// it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	// Firefox names its BiDi endpoint on stderr; the rest of what it says
	// goes to the test log.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "WebDriver BiDi listening on "); ok {
				found <- strings.TrimSpace(rest)
				continue
			}
			if strings.Contains(line, "console.") || strings.Contains(line, "JavaScript") {
				t.Logf("firefox: %s", line)
			}
		}
	}()
	var endpoint string
	select {
	case endpoint = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("firefox did not open its WebDriver BiDi endpoint within 30 s")
	}
	ws, _, err := websocket.DefaultDialer.Dial(endpoint+"/session", nil)
	if err != nil {
		t.Fatalf("connect to firefox at %s: %v", endpoint, err)
	}
	t.Cleanup(func() { ws.Close() })
	b := &bidi{t: t, ws: ws}
	if err := b.call("session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.call("session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		t.Fatal(err)
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := b.call("browsingContext.getTree", map[string]any{}, &tree); err != nil || len(tree.Contexts) == 0 {
		t.Fatalf("no tab: %v", err)
	}
	return b, tree.Contexts[0].Context
}

// eval runs expression in the tab (awaiting a promise) and returns its
// value, which must be a string.
func (b *bidi) eval(tab, expression string) (string, error) {
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.call("script.evaluate", map[string]any{"expression": expression, "awaitPromise": true,
		"target": map[string]any{"context": tab}}, &r)
	if err != nil {
		return "", err
	}
	if r.Type == "exception" {
		return "", fmt.Errorf("script: %s", r.ExceptionDetails.Text)
	}
	s, _ := r.Result.Value.(string)
	return s, nil
}

// micShim replaces getUserMedia with a stream that plays the WAV at url
// once, then silence: what Chromium's file-backed fake device does.
const micShim = `() => {
	if (!navigator.mediaDevices) return; // about:blank, before the page
	navigator.mediaDevices.getUserMedia = async () => {
		const ac = new AudioContext();
		const data = await (await fetch(%q)).arrayBuffer();
		const src = ac.createBufferSource();
		src.buffer = await ac.decodeAudioData(data);
		const dst = ac.createMediaStreamDestination();
		src.connect(dst);
		src.start();
		return dst.stream;
	};
}`

// ffPage is the demo page open in Firefox, its microphone playing a
// recording.
type ffPage struct {
	t   *testing.T
	b   *bidi
	tab string
}

// firefoxDemo serves the demo and the recording wav from one origin, opens
// the page at query in Firefox with wav as its microphone, and presses
// Start.
func firefoxDemo(t *testing.T, wav, query string) *ffPage {
	t.Helper()
	b, tab := startFirefox(t)
	// The page and the recording come from one origin: the demo, and the
	// file its stand-in microphone plays.
	_, hs := newServerWith(t, web.Config{}, func(srv http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/test/mic.wav", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, wav) })
		mux.Handle("/", srv)
		return mux
	})
	p := &ffPage{t: t, b: b, tab: tab}
	if err := b.call("script.addPreloadScript", map[string]any{
		"functionDeclaration": fmt.Sprintf(micShim, hs.URL+"/test/mic.wav")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.call("browsingContext.navigate", map[string]any{"context": tab, "url": hs.URL + "/?" + query, "wait": "complete"}, nil); err != nil {
		t.Fatal(err)
	}
	p.waitFor(`#preset option`, `""`, 10*time.Second)
	if _, err := b.eval(tab, `(document.querySelector("#start").click(), "")`); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor waits in the page for an element matching sel, then returns the
// JSON of value, an expression over it (r).
func (p *ffPage) waitFor(sel, value string, within time.Duration) string {
	p.t.Helper()
	got, err := p.b.eval(p.tab, fmt.Sprintf(`new Promise((ok, fail) => {
		const t0 = Date.now();
		const poll = () => {
			const r = document.querySelector(%q);
			if (r) return ok(JSON.stringify(%s));
			if (Date.now() - t0 > %d) return fail(new Error("nothing matched within the wait"));
			setTimeout(poll, 50);
		};
		poll();
	})`, sel, value, within.Milliseconds()))
	if err != nil {
		state, _ := p.b.eval(p.tab, `JSON.stringify({status: document.querySelector("#status")?.textContent,
			banner: document.querySelector("#banner")?.textContent})`)
		p.t.Fatalf("%s: %v (page %s)", sel, err, state)
	}
	return got
}

// finish fails the test on any error the page logged and saves a
// screenshot in the test's artifact folder.
func (p *ffPage) finish(name string) {
	t := p.t
	t.Helper()
	for _, e := range p.b.errors {
		t.Errorf("the page logged an error: %s", e)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.b.call("browsingContext.captureScreenshot", map[string]any{"context": p.tab, "origin": "document"}, &shot); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestFirefoxCompletesATurn: the demo page in headless Firefox completes a
// spoken turn, shows voice_to_voice measured in the page, and plays the
// answer.
func TestFirefoxCompletesATurn(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser in real time")
	}
	wav := fakeMic(t, part{silence: time.Second}, part{clip: "weather"}, part{silence: 8 * time.Second})
	p := firefoxDemo(t, wav, "preset=cascaded-streaming&network=none&reply="+
		"Tomorrow%20in%20Paris%20expect%20sunshine%20in%20the%20morning%20and%20a%20few%20clouds%20later.")
	got := p.waitFor(`#turns tbody tr[data-v2v-client][data-played-ms]`,
		`{v2v: +r.dataset.v2vClient, played: +r.dataset.playedMs, server: +r.dataset.v2vServer,
			shown: document.querySelector("#v2v-client").textContent}`, 40*time.Second)
	var turn struct {
		V2V, Played, Server float64
		Shown               string
	}
	if err := json.Unmarshal([]byte(got), &turn); err != nil {
		t.Fatalf("turn %q: %v", got, err)
	}
	t.Logf("firefox: voice_to_voice %.0f ms (server's breakdown %.0f ms), %.0f ms of the answer played; shown %q",
		turn.V2V, turn.Server, turn.Played, turn.Shown)
	if turn.V2V <= 0 || turn.V2V > 5000 || turn.Played <= 0 {
		t.Errorf("voice_to_voice %v ms, played %v ms; want a positive figure and audio played", turn.V2V, turn.Played)
	}
	if turn.Shown == "—" || turn.Shown == "" {
		t.Error("the voice_to_voice figure is not shown")
	}
	p.finish("firefox-turn.png")
}

// TestFirefoxShowsBargeIn: in Firefox too, talking over the (long) answer
// stops it, and the page shows barge_in_stop and the cut answer.
func TestFirefoxShowsBargeIn(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser in real time")
	}
	wav := fakeMic(t, part{silence: time.Second}, part{clip: "explain"}, part{silence: 2500 * time.Millisecond},
		part{clip: "stop"}, part{silence: 6 * time.Second})
	p := firefoxDemo(t, wav, "preset=cascaded-streaming&network=none&long=1")
	got := p.waitFor(`#turns tbody tr[data-barge-in-stop]`,
		`{stop: +r.dataset.bargeInStop, played: +r.dataset.playedMs, truncated: r.hasAttribute("data-truncated"),
			shown: document.querySelector("#bargein").textContent}`, 40*time.Second)
	var turn struct {
		Stop, Played float64
		Truncated    bool
		Shown        string
	}
	if err := json.Unmarshal([]byte(got), &turn); err != nil {
		t.Fatalf("turn %q: %v", got, err)
	}
	t.Logf("firefox: barge_in_stop %.0f ms after %.0f ms of the answer; shown %q", turn.Stop, turn.Played, turn.Shown)
	if turn.Stop <= 0 || turn.Stop > 3000 {
		t.Errorf("barge_in_stop %v ms; want the assistant stopped within 3 s", turn.Stop)
	}
	if !turn.Truncated {
		t.Error("the interrupted answer is not marked as cut")
	}
	p.finish("firefox-barge-in.png")
}

package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/web"
	"go.uber.org/zap/zaptest"
)

// waitError waits for the n-th error event (1-based) and returns it.
func (c *client) waitError(t *testing.T, n int) event {
	t.Helper()
	var got event
	if !c.waitFor(5*time.Second, func(evs []event, _ []audioMsg) bool {
		k := 0
		for _, e := range evs {
			if e.Type == web.TypeError {
				if k++; k == n {
					got = e
					return true
				}
			}
		}
		return false
	}) {
		t.Fatalf("no error event #%d; events %v", n, types(c.events()))
	}
	return got
}

func types(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// closeCode waits for the connection to end and returns the server's code.
func (c *client) closeCode(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not close the connection")
	}
	var ce *websocket.CloseError
	if errors.As(c.closeErr, &ce) {
		return ce.Code, ce.Text
	}
	return 0, c.closeErr.Error()
}

// TestMalformedInput sends each kind of bad input and checks the error
// event that names it; non-fatal problems leave the session usable, fatal
// ones close it with a reason. A healthy session runs afterwards.
func TestMalformedInput(t *testing.T) {
	t.Parallel()
	readers(t, func(t *testing.T, cfg web.Config) {
		cfg.Limits = web.Limits{MaxMessage: 16 << 10}
		malformedInput(t, cfg)
	})
}

func malformedInput(t *testing.T, cfg web.Config) {
	_, hs := newServer(t, cfg)
	start := `{"type":"start","preset":"cascaded-streaming"}`
	cases := []struct {
		name    string
		started bool // send a valid start first
		kind    int
		msg     string
		code    string
		close   int // expected close code when fatal
	}{
		{"truncated JSON", false, websocket.TextMessage, `{"type":`, web.CodeMalformedJSON, 0},
		{"not JSON", false, websocket.TextMessage, `hello`, web.CodeMalformedJSON, 0},
		{"no type", false, websocket.TextMessage, `{"preset":"x"}`, web.CodeMissingType, 0},
		{"unknown type", false, websocket.TextMessage, `{"type":"dance"}`, web.CodeUnknownType, 0},
		{"array", false, websocket.TextMessage, `[1,2]`, web.CodeInvalidMessage, 0},
		{"seed of the wrong type", false, websocket.TextMessage, `{"type":"start","seed":"x"}`, web.CodeInvalidMessage, 0},
		{"unknown preset", false, websocket.TextMessage, `{"type":"start","preset":"hal-9000"}`, web.CodeInvalidStart, 0},
		{"bad override value", false, websocket.TextMessage, `{"type":"start","overrides":{"turn.silence":{"silence":"soon"}}}`, web.CodeInvalidStart, 0},
		{"override for a missing stage", false, websocket.TextMessage, `{"type":"start","overrides":{"stt.whisper":{}}}`, web.CodeInvalidStart, 0},
		{"unknown network", false, websocket.TextMessage, `{"type":"start","network":"carrier-pigeon"}`, web.CodeInvalidStart, 0},
		{"audio before start", false, websocket.BinaryMessage, "\x00\x00", web.CodeNotStarted, 0},
		{"playback before start", false, websocket.TextMessage, `{"type":"playback","event":"started","response":1,"t_ms":1}`, web.CodeNotStarted, 0},
		{"odd-length audio", true, websocket.BinaryMessage, "\x01\x02\x03", web.CodeAudioOddLength, 0},
		{"empty audio", true, websocket.BinaryMessage, "", web.CodeAudioEmpty, 0},
		{"oversized audio", true, websocket.BinaryMessage, strings.Repeat("\x00", 12000), web.CodeAudioTooLarge, 0},
		{"truth that is not truth", true, websocket.TextMessage, `{"type":"truth","name":"turn.end","sample":1}`, web.CodeInvalidMessage, 0},
		{"playback of no response", true, websocket.TextMessage, `{"type":"playback","event":"started","response":0,"t_ms":1}`, web.CodeInvalidMessage, 0},
		{"playback event unknown", true, websocket.TextMessage, `{"type":"playback","event":"paused","response":1,"t_ms":1}`, web.CodeInvalidMessage, 0},
		{"second start", true, websocket.TextMessage, start, web.CodeAlreadyStarted, 0},
		{"wrong sample rate", false, websocket.TextMessage, `{"type":"start","audio":{"format":"pcm16","sample_rate":48000,"channels":1}}`, web.CodeUnsupportedAudio, websocket.CloseUnsupportedData},
		{"stereo", false, websocket.TextMessage, `{"type":"start","audio":{"format":"pcm16","sample_rate":24000,"channels":2}}`, web.CodeUnsupportedAudio, websocket.CloseUnsupportedData},
		{"message over the read limit", false, websocket.TextMessage, `{"type":"start","client":"` + strings.Repeat("x", 20<<10) + `"}`, web.CodeMessageTooLarge, websocket.CloseMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := dial(t, wsURL(hs), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.started {
				c.start(web.StartMessage{})
			}
			c.writeRaw(tc.kind, []byte(tc.msg))
			e := c.waitError(t, 1)
			if e.Code != tc.code || e.Message == "" {
				t.Fatalf("error %s %q; want code %s with a message", e.Code, e.Message, tc.code)
			}
			if tc.close != 0 {
				if !e.Fatal {
					t.Errorf("error %s not marked fatal", e.Code)
				}
				code, reason := c.closeCode(t)
				if code != tc.close || reason == "" {
					t.Errorf("closed with %d %q; want %d with a reason", code, reason, tc.close)
				}
				return
			}
			// Still usable: a start (or, once started, another bad
			// message) gets its answer.
			if !tc.started {
				c.start(web.StartMessage{})
			} else {
				c.writeRaw(websocket.TextMessage, []byte(`{"type":"dance"}`))
				if e := c.waitError(t, 2); e.Code != web.CodeUnknownType {
					t.Errorf("second error %s; want %s", e.Code, web.CodeUnknownType)
				}
			}
		})
	}
	t.Run("healthy session after", func(t *testing.T) {
		t.Parallel()
		c, _, err := dial(t, wsURL(hs), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.start(web.StartMessage{})
		var s streamer
		s.sayAt(200*time.Millisecond, loadClip(t, "thanks"), 0, "Thanks!", false)
		stop := make(chan struct{})
		go c.stream(&s, 10*time.Second, stop)
		defer close(stop)
		if !c.waitFor(10*time.Second, func(evs []event, _ []audioMsg) bool {
			n := 0
			for _, e := range evs {
				if e.Type == web.TypeSpeechStarted || e.Type == web.TypeSpeechStopped {
					n++
				}
			}
			return n >= 2
		}) {
			t.Fatalf("no speech events in a healthy session: %v", types(c.events()))
		}
	})
}

func TestStartTimeout(t *testing.T) {
	t.Parallel()
	_, hs := newServer(t, web.Config{Limits: web.Limits{StartWait: 100 * time.Millisecond}})
	c, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := c.waitError(t, 1); e.Code != web.CodeStartTimeout || !e.Fatal {
		t.Errorf("error %+v; want a fatal %s", e, web.CodeStartTimeout)
	}
	if code, _ := c.closeCode(t); code != websocket.ClosePolicyViolation {
		t.Errorf("close %d; want %d", code, websocket.ClosePolicyViolation)
	}
}

func TestOriginChecked(t *testing.T) {
	t.Parallel()
	_, hs := newServer(t, web.Config{AllowedOrigins: []string{"https://allowed.example"}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{hs.URL, true},
		{"https://allowed.example", true},
		{"https://evil.example", false},
		{"null", false},
	} {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		_, resp, err := dial(t, wsURL(hs), hdr)
		if tc.ok && err != nil {
			t.Errorf("origin %q refused: %v", tc.origin, err)
		}
		if !tc.ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden) {
			t.Errorf("origin %q: err %v; want 403", tc.origin, err)
		}
	}
}

func TestSessionCap(t *testing.T) {
	t.Parallel()
	srv, hs := newServer(t, web.Config{MaxSessions: 1})
	first, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	first.start(web.StartMessage{})
	second, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := second.waitError(t, 1); e.Code != web.CodeServerFull || !e.Fatal {
		t.Errorf("error %+v; want a fatal %s", e, web.CodeServerFull)
	}
	if code, reason := second.closeCode(t); code != websocket.CloseTryAgainLater || !strings.Contains(reason, "server full") {
		t.Errorf("close %d %q; want %d server full", code, reason, websocket.CloseTryAgainLater)
	}
	if n := srv.Sessions(); n != 1 {
		t.Errorf("%d sessions; want the first one still running", n)
	}
}

// panicky is a stage that panics on the first audio frame.
type panicky struct{ pipeline.PassThrough }

func (panicky) Handle(*pipeline.Context, pipeline.Frame, pipeline.Direction) { panic("stage bug") }

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	readers(t, panicIsRecovered)
}

func panicIsRecovered(t *testing.T, cfg web.Config) {
	reg := catalog.Registry()
	pipeline.Register(reg, "test.panic", "panics", func() *struct{} { return &struct{}{} },
		func(*struct{}) pipeline.Stage { return panicky{} })
	load := func(name string) (*catalog.Preset, error) {
		if name == "panic" {
			return catalog.Parse([]byte("name: panic\nstages: [{stage: test.panic}]\n"), "panic.yaml")
		}
		return catalog.Load(name)
	}
	cfg.Registry, cfg.LoadPreset = reg, load
	_, hs := newServer(t, cfg)
	bad, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad.start(web.StartMessage{Preset: "panic"})
	bad.writeRaw(websocket.BinaryMessage, make([]byte, 2*pipeline.FrameSamples))
	if e := bad.waitError(t, 1); e.Code != web.CodeInternal || !e.Fatal {
		t.Errorf("error %+v; want a fatal %s", e, web.CodeInternal)
	}
	if code, _ := bad.closeCode(t); code != websocket.CloseInternalServerErr {
		t.Errorf("close %d; want %d", code, websocket.CloseInternalServerErr)
	}
	var h web.Health
	getJSON(t, hs.URL+"/healthz", &h)
	if h.Panics != 1 || h.Status != "ok" {
		t.Errorf("health %+v; want ok with one panic recovered", h)
	}
	good, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	good.start(web.StartMessage{})
}

// TestShutdownClosesSessions: a shutdown sends each session its summary
// and a 1001 close, writes its record, and refuses new sessions.
func TestShutdownClosesSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, hs := newServer(t, web.Config{RecordDir: dir})
	c, _, err := dial(t, wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.start(web.StartMessage{})
	var s streamer
	stop := make(chan struct{})
	defer close(stop)
	go c.stream(&s, 5*time.Second, stop)
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.closeCode(t); code != websocket.CloseGoingAway || reason == "" {
		t.Errorf("close %d %q; want %d with a reason", code, reason, websocket.CloseGoingAway)
	}
	if _, ok := c.firstOf(web.TypeSessionSummary); !ok {
		t.Error("no summary before the close")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "session-*.json"))
	if len(files) != 1 {
		t.Fatalf("records %v; want one", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !json.Valid(b) {
		t.Errorf("record %s: %v (valid JSON %v)", files[0], err, json.Valid(b))
	}
	if _, resp, err := dial(t, wsURL(hs), nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial during shutdown: %v; want 503", err)
	}
}

func TestPagesAndAPI(t *testing.T) {
	t.Parallel()
	_, hs := newServer(t, web.Config{})
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET /: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	var h web.Health
	getJSON(t, hs.URL+"/healthz", &h)
	if h.Status != "ok" {
		t.Errorf("health %+v", h)
	}
	var p struct {
		Default string           `json:"default"`
		Presets []web.PresetInfo `json:"presets"`
	}
	getJSON(t, hs.URL+"/api/presets", &p)
	names := map[string]web.PresetInfo{}
	for _, pi := range p.Presets {
		names[pi.Name] = pi
	}
	for _, want := range []string{"cascaded-streaming", "cascaded-voice-mode-2023", "native-gpt4o", "full-duplex-moshi"} {
		if _, ok := names[want]; !ok {
			t.Errorf("preset %s not offered", want)
		}
	}
	if k := names["cascaded-voice-mode-2023"].Endpointing; k == nil || k.Stage != "turn.silence" || k.DefaultMs != 800 {
		t.Errorf("cascaded-voice-mode-2023 endpointing knob %+v; want turn.silence 800 ms", k)
	}
	if k := names["full-duplex-moshi"].Endpointing; k != nil {
		t.Errorf("full-duplex-moshi endpointing knob %+v; want none (it takes the turn itself)", k)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestSilentClientIsClosed: a client that neither sends nor answers pings
// is closed once the read deadline passes.
func TestSilentClientIsClosed(t *testing.T) {
	t.Parallel()
	readers(t, silentClientIsClosed)
}

func silentClientIsClosed(t *testing.T, cfg web.Config) {
	cfg.Limits = web.Limits{PongWait: 300 * time.Millisecond}
	_, hs := newServer(t, cfg)
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(hs), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"start"}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // not reading: pings go unanswered
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue // what was queued before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("read %v; want close 1001", err)
		}
		return
	}
}

func TestTLSSelfSigned(t *testing.T) {
	t.Parallel()
	cert, err := web.SelfSignedCert("127.0.0.1", "voicesim.test")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	defer hs.Close()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(hs.URL, "https")+"/ws", nil)
	if err != nil {
		t.Fatalf("wss with the self-signed certificate: %v", err)
	}
	defer ws.Close()
	// A session over TLS, where the server's writes all go through its
	// send backlog (a TLS connection has no descriptor to write to at
	// once): the summary, then the close.
	for _, m := range []string{`{"type":"start"}`, `{"type":"stop"}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	var last string
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
				t.Errorf("over TLS the session ended with %v; want close 1000", err)
			}
			break
		}
		var ev struct{ Type string }
		if json.Unmarshal(data, &ev) == nil {
			last = ev.Type
		}
	}
	if last != web.TypeSessionSummary {
		t.Errorf("over TLS the last message before the close was %q; want %s", last, web.TypeSessionSummary)
	}
	if cert.Leaf.NotAfter.Before(time.Now()) || !slices.Contains(cert.Leaf.DNSNames, "localhost") {
		t.Errorf("certificate for %v until %v", cert.Leaf.DNSNames, cert.Leaf.NotAfter)
	}
}

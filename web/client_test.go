package web_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/web"
	"go.uber.org/zap/zaptest"
)

// newServer starts a test server with cfg.
func newServer(t *testing.T, cfg web.Config) (*web.Server, *httptest.Server) {
	t.Helper()
	return newServerWith(t, cfg, func(h http.Handler) http.Handler { return h })
}

// newServerWith is newServer with the server's handler wrapped by wrap.
func newServerWith(t *testing.T, cfg web.Config, wrap func(http.Handler) http.Handler) (*web.Server, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(wrap(srv))
	t.Cleanup(func() {
		// Sessions end (and stop logging) before the test does.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		hs.Close()
	})
	return srv, hs
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws" }

// event is a server message as the test sees it.
type event struct {
	Type     string               `json:"type"`
	Code     string               `json:"code"`
	Message  string               `json:"message"`
	Fatal    bool                 `json:"fatal"`
	Name     string               `json:"name"`
	Response uint32               `json:"response"`
	Frames   uint64               `json:"frames"`
	Turn     pipeline.TurnMetrics `json:"-"`
	Stages   []string             `json:"stages"`
	Turns    []pipeline.TurnMetrics
	raw      []byte
	at       time.Time
	n        int // arrival order among all messages
}

func (e *event) UnmarshalJSON(b []byte) error {
	type plain event
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = event(p)
	e.raw = append([]byte(nil), b...)
	if e.Type == web.TypeTurnMetrics {
		var te web.TurnEvent
		if err := json.Unmarshal(b, &te); err != nil {
			return err
		}
		e.Turn = te.Turn
	}
	return nil
}

// audioMsg is an assistant audio frame as received.
type audioMsg struct {
	response, seq uint32
	flags         byte
	samples       int
	at            time.Time
	n             int
}

// client is a minimal WebSocket client of the protocol: it streams audio in
// real time, plays what comes back at once (a zero-depth buffer) and
// reports playback, as a real client must.
type client struct {
	t     testing.TB
	ws    *websocket.Conn
	zero  time.Time // stream clock zero: sample 0
	wmu   sync.Mutex
	mu    sync.Mutex
	evs   []event
	audio []audioMsg
	// playback state per response
	playStart map[uint32]time.Time
	stopped   map[uint32]bool
	frames    map[uint32]int
	closeErr  error
	count     int
	done      chan struct{}
	notify    chan struct{}
}

func dial(t testing.TB, url string, hdr http.Header) (*client, *http.Response, error) {
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: t, ws: ws, playStart: map[uint32]time.Time{}, stopped: map[uint32]bool{},
		frames: map[uint32]int{}, done: make(chan struct{}), notify: make(chan struct{}, 1)}
	t.Cleanup(func() { ws.Close() })
	go c.readLoop()
	return c, resp, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			c.poke()
			return
		}
		now := time.Now()
		if kind == websocket.BinaryMessage {
			c.onAudio(data, now)
		} else {
			var e event
			if err := json.Unmarshal(data, &e); err != nil {
				c.t.Errorf("bad server JSON %q: %v", data, err)
				continue
			}
			e.at = now
			c.onEvent(e)
		}
		c.poke()
	}
}

func (c *client) poke() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *client) streamMs(t time.Time) float64 { return float64(t.Sub(c.zero)) / 1e6 }

func (c *client) onAudio(data []byte, now time.Time) {
	if len(data) < web.AudioHeaderSize {
		c.t.Errorf("audio message of %d bytes", len(data))
		return
	}
	m := audioMsg{response: binary.LittleEndian.Uint32(data), seq: binary.LittleEndian.Uint32(data[4:]),
		flags: data[8], samples: (len(data) - web.AudioHeaderSize) / 2, at: now}
	c.mu.Lock()
	c.count++
	m.n = c.count
	c.audio = append(c.audio, m)
	c.frames[m.response]++
	_, playing := c.playStart[m.response]
	if !playing && !c.stopped[m.response] {
		c.playStart[m.response] = now
	}
	c.mu.Unlock()
	if !playing {
		c.send(web.PlaybackMessage{Type: web.TypePlayback, Event: web.PlaybackFirstAudio, Response: m.response, TMs: c.streamMs(now)})
		c.send(web.PlaybackMessage{Type: web.TypePlayback, Event: web.PlaybackStarted, Response: m.response, TMs: c.streamMs(now)})
	}
}

func (c *client) onEvent(e event) {
	c.mu.Lock()
	c.count++
	e.n = c.count
	c.evs = append(c.evs, e)
	c.mu.Unlock()
	switch e.Type {
	case web.TypeResponseDone:
		// Audio plays at 20 ms a frame from its first arrival.
		c.mu.Lock()
		start, ok := c.playStart[e.Response]
		c.mu.Unlock()
		if !ok {
			return
		}
		played := time.Duration(e.Frames) * pipeline.FrameDuration
		time.AfterFunc(time.Until(start.Add(played)), func() { c.stop(e.Response, played) })
	case web.TypeResponseInterrupted:
		c.mu.Lock()
		start, ok := c.playStart[e.Response]
		c.mu.Unlock()
		if ok {
			c.stop(e.Response, time.Since(start))
		}
	}
}

func (c *client) stop(r uint32, played time.Duration) {
	c.mu.Lock()
	if c.stopped[r] {
		c.mu.Unlock()
		return
	}
	c.stopped[r] = true
	c.mu.Unlock()
	c.send(web.PlaybackMessage{Type: web.TypePlayback, Event: web.PlaybackStopped, Response: r,
		TMs: c.streamMs(time.Now()), PlayedMs: float64(played) / 1e6})
}

func (c *client) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Errorf("encode: %v", err)
		return
	}
	c.writeRaw(websocket.TextMessage, b)
}

func (c *client) writeRaw(kind int, b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.ws.WriteMessage(kind, b)
}

// waitFor waits until pred holds over the events so far, or the timeout.
func (c *client) waitFor(timeout time.Duration, pred func(evs []event, audio []audioMsg) bool) bool {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		ok := pred(c.evs, c.audio)
		closed := c.closeErr != nil
		c.mu.Unlock()
		if ok {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-c.notify:
		case <-deadline:
			return false
		}
	}
}

func (c *client) events() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.evs...)
}

func (c *client) firstOf(typ string) (event, bool) {
	for _, e := range c.events() {
		if e.Type == typ {
			return e, true
		}
	}
	return event{}, false
}

// start sends a start message and waits for session.started.
func (c *client) start(m web.StartMessage) event {
	c.t.Helper()
	m.Type = web.TypeStart
	before := len(c.events())
	c.send(m)
	var got event
	if !c.waitFor(5*time.Second, func(evs []event, _ []audioMsg) bool {
		for _, e := range evs[before:] {
			if e.Type == web.TypeSessionStarted || e.Type == web.TypeError {
				got = e
				return true
			}
		}
		return false
	}) {
		c.t.Fatalf("no session.started")
	}
	if got.Type == web.TypeError {
		c.t.Fatalf("start refused: %s: %s", got.Code, got.Message)
	}
	return got
}

// streamer is a live microphone: audio placed at sample positions, with
// the truth of each utterance, streamed in real time as 20 ms frames.
// Utterances can be placed while it streams (to talk over an answer).
type streamer struct {
	mu      sync.Mutex
	samples []int16
	truths  []web.TruthMessage
	pos     int // samples sent
}

// sayAt places an utterance of clip at sample at (or the next unsent one).
func (s *streamer) sayAt(at time.Duration, clip scenarios.Clip, turn int, text string, bargeIn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := max(int(at.Seconds()*pipeline.SampleRate), s.pos, len(s.samples))
	s.samples = append(s.samples, make([]int16, base-len(s.samples))...)
	off := func(d time.Duration) int64 { return int64(base) + int64(d.Seconds()*pipeline.SampleRate) }
	v := 0.0
	if bargeIn {
		v = 1
	}
	s.truths = append(s.truths,
		web.TruthMessage{Type: web.TypeTruth, Name: pipeline.MarkUserSpeechStart, Sample: off(clip.Speech[0].Start), Turn: turn, Value: v, Text: text},
		web.TruthMessage{Type: web.TypeTruth, Name: pipeline.MarkUserSpeechEnd, Sample: off(clip.Speech[len(clip.Speech)-1].End), Turn: turn, Text: text})
	s.samples = append(s.samples, clip.Samples...)
}

// now returns the stream position: the next sample to send.
func (s *streamer) now() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.SamplesDuration(s.pos)
}

// next returns the next frame's samples and the truth that precedes it.
func (s *streamer) next() ([]int16, []web.TruthMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := s.pos, s.pos+pipeline.FrameSamples
	s.pos = to
	var tr []web.TruthMessage
	kept := s.truths[:0]
	for _, t := range s.truths {
		if t.Sample <= int64(to) {
			tr = append(tr, t)
		} else {
			kept = append(kept, t)
		}
	}
	s.truths = kept
	out := make([]int16, pipeline.FrameSamples)
	if from < len(s.samples) {
		copy(out, s.samples[from:min(to, len(s.samples))])
	}
	return out, tr
}

// stream sends frames in real time until stop is closed or max has passed.
func (c *client) stream(s *streamer, max time.Duration, stop <-chan struct{}) {
	c.zero = time.Now()
	frame := make([]byte, 2*pipeline.FrameSamples)
	for k := 1; pipeline.FrameDuration*time.Duration(k) <= max; k++ {
		time.Sleep(time.Until(c.zero.Add(pipeline.FrameDuration * time.Duration(k))))
		select {
		case <-stop:
			return
		default:
		}
		samples, truths := s.next()
		for _, t := range truths {
			c.send(t)
		}
		for i, v := range samples {
			binary.LittleEndian.PutUint16(frame[2*i:], uint16(v))
		}
		c.writeRaw(websocket.BinaryMessage, frame)
	}
}

func loadClip(t testing.TB, name string) scenarios.Clip {
	t.Helper()
	c, err := scenarios.LoadClip("", "assets/"+name+".mp3")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

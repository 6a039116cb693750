package realtime_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdk "github.com/openai/openai-go/v3/realtime"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/scenarios"
	"github.com/voicesim/voicesim/web/realtime"
	"go.uber.org/zap/zaptest"
)

// answer is the only answer the test model gives: about 7 s of speech.
const answer = "Sure. Tomorrow in Paris looks mild and mostly sunny, with a high of around eighteen degrees and a light breeze in the afternoon."

// slowModel generates audio at about real time (20 tokens/s is real time),
// so a response is still in progress when the user talks over it.
func slowModel() map[string]string {
	return map[string]string{"native.realtime": `{ttfa: 50ms, encoder_delay: 0ms, decoder_delay: 0ms, tokens_per_second: 22, answers: ["` + answer + `"]}`}
}

// fastModel answers at once, far faster than real time.
func fastModel() map[string]string {
	return map[string]string{"native.realtime": `{ttfa: 20ms, encoder_delay: 0ms, decoder_delay: 0ms, tokens_per_second: 2000, answers: ["` + answer + `"]}`}
}

// newServer serves the endpoint on /v1/realtime and /realtime.
func newServer(t *testing.T, opts realtime.Options, useTLS bool) *httptest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	h, err := realtime.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/realtime", h)
	mux.Handle("GET /realtime", h)
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return srv
}

// speech loads a real recorded question.
func speech(t *testing.T, name string) []int16 {
	t.Helper()
	c, err := scenarios.LoadClip("", "assets/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Samples
}

// client is an app on the official SDK's realtime client. A reader
// goroutine receives every event, checks the invariants that hold for any
// session, and hands events to the test.
type client struct {
	t    *testing.T
	conn *sdk.RealtimeConnection
	evs  chan sdk.RealtimeServerEventUnion
	done chan struct{}

	mu         sync.Mutex
	finished   map[string]bool // responses whose response.done arrived
	samples    map[string]int  // audio received per response
	late       []string        // audio deltas after their response.done
	noEventID  []string        // events without an event_id
	metrics    []json.RawMessage
	recvErr    error
	transcript map[string]string
}

// dial connects with the SDK: base URL pointed at srv, model as a query
// parameter, key as the bearer token.
func dial(t *testing.T, srv *httptest.Server, key, model string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(key), option.WithHTTPClient(srv.Client()), option.WithMaxRetries(0))
	conn, err := cl.Realtime.Connect(ctx, sdk.RealtimeConnectionOptions{}, option.WithQuery("model", model))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c := &client{t: t, conn: conn, evs: make(chan sdk.RealtimeServerEventUnion, 1<<14), done: make(chan struct{}),
		finished: map[string]bool{}, samples: map[string]int{}, transcript: map[string]string{}}
	go c.read()
	t.Cleanup(func() {
		_ = conn.Close()
		<-c.done
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.late) > 0 {
			t.Errorf("audio deltas after their response.done: %v", c.late)
		}
		if len(c.noEventID) > 0 {
			t.Errorf("server events without event_id: %v", c.noEventID)
		}
	})
	return c
}

func (c *client) read() {
	defer close(c.done)
	defer close(c.evs)
	for {
		ev, err := c.conn.Recv(context.Background())
		if err != nil {
			c.mu.Lock()
			c.recvErr = err
			c.mu.Unlock()
			return
		}
		var head struct {
			EventID    string `json:"event_id"`
			ResponseID string `json:"response_id"`
			Delta      string `json:"delta"`
			Response   struct {
				ID string `json:"id"`
			} `json:"response"`
		}
		_ = json.Unmarshal([]byte(ev.RawJSON()), &head)
		c.mu.Lock()
		if head.EventID == "" {
			c.noEventID = append(c.noEventID, ev.Type)
		}
		switch ev.Type {
		case "response.output_audio.delta", "response.audio.delta":
			if c.finished[head.ResponseID] {
				c.late = append(c.late, head.ResponseID)
			}
			b, err := base64.StdEncoding.DecodeString(head.Delta)
			if err != nil || len(b)%2 != 0 {
				c.t.Errorf("bad audio delta: %v (%d bytes)", err, len(b))
			}
			c.samples[head.ResponseID] += len(b) / 2
		case "response.output_audio_transcript.delta", "response.audio_transcript.delta":
			c.transcript[head.ResponseID] += head.Delta
		case "response.done":
			c.finished[head.Response.ID] = true
		case realtime.TypeTurnMetrics:
			c.metrics = append(c.metrics, json.RawMessage(ev.RawJSON()))
		}
		c.mu.Unlock()
		c.evs <- ev
	}
}

// sentMs is the audio of response id received so far.
func (c *client) sentMs(id string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.samples[id]) * 1000 / pipeline.SampleRate
}

// waitFor returns the next event of type typ (and, if match is set, for
// which it holds), skipping others, within timeout.
func (c *client) waitFor(typ string, timeout time.Duration, match func(sdk.RealtimeServerEventUnion) bool) sdk.RealtimeServerEventUnion {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-c.evs:
			if !ok {
				c.t.Fatalf("connection ended waiting for %s: %v", typ, c.err())
			}
			if ev.Type == typ && (match == nil || match(ev)) {
				return ev
			}
		case <-deadline:
			c.t.Fatalf("no %s within %v", typ, timeout)
		}
	}
}

// next returns the next event of any type.
func (c *client) next() sdk.RealtimeServerEventUnion {
	c.t.Helper()
	select {
	case ev, ok := <-c.evs:
		if !ok {
			c.t.Fatalf("connection ended: %v", c.err())
		}
		return ev
	case <-time.After(wait):
		c.t.Fatalf("no event within %v", wait)
	}
	panic("unreachable")
}

func (c *client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recvErr
}

func (c *client) send(ev sdk.RealtimeClientEventUnionParam) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Send(ctx, ev); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.SendRaw(ctx, json.RawMessage(s)); err != nil {
		c.t.Fatalf("send raw: %v", err)
	}
}

func appendEvent(samples []int16) sdk.RealtimeClientEventUnionParam {
	return sdk.RealtimeClientEventUnionParam{OfInputAudioBufferAppend: &sdk.InputAudioBufferAppendEventParam{
		Audio: base64.StdEncoding.EncodeToString(audio.EncodePCM16(samples))}}
}

// mic streams a live microphone: 20 ms appends in real time, silence
// unless the test has it say something.
type mic struct {
	c      *client
	mu     sync.Mutex
	queue  []int16
	stop   chan struct{}
	done   chan struct{}
	sendFn func(sdk.RealtimeClientEventUnionParam) error
}

func (c *client) startMic() *mic {
	m := &mic{c: c, stop: make(chan struct{}), done: make(chan struct{}),
		sendFn: func(ev sdk.RealtimeClientEventUnionParam) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.conn.Send(ctx, ev)
		}}
	go m.run()
	c.t.Cleanup(m.close)
	return m
}

func (m *mic) run() {
	defer close(m.done)
	tick := time.NewTicker(pipeline.FrameDuration)
	defer tick.Stop()
	silence := make([]int16, pipeline.FrameSamples)
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		frame := silence
		m.mu.Lock()
		if len(m.queue) > 0 {
			n := min(len(m.queue), pipeline.FrameSamples)
			frame = append(make([]int16, 0, pipeline.FrameSamples), m.queue[:n]...)
			frame = frame[:pipeline.FrameSamples]
			m.queue = m.queue[n:]
		}
		m.mu.Unlock()
		if err := m.sendFn(appendEvent(frame)); err != nil {
			return
		}
	}
}

// say queues speech; it plays after what is already queued.
func (m *mic) say(samples []int16) {
	m.mu.Lock()
	m.queue = append(m.queue, samples...)
	m.mu.Unlock()
}

func (m *mic) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// rawField decodes one field of an event's JSON.
func rawField[T any](t *testing.T, raw string, path ...string) T {
	t.Helper()
	var cur any
	if err := json.Unmarshal([]byte(raw), &cur); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(v) {
				t.Fatalf("no element %s of %v in %s", p, path, raw)
			}
			cur = v[i]
		default:
			t.Fatalf("no field %v in %s", path, raw)
		}
	}
	b, _ := json.Marshal(cur)
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("field %v of %s: %v", path, raw, err)
	}
	return out
}

// Package realtime serves an OpenAI Realtime API–compatible WebSocket
// endpoint backed by voicesim's simulated pipelines, so a voice app written
// against the Realtime API can be pointed at voicesim instead of the paid
// service and see how it behaves with a slow model, jitter, a cascaded
// backend or barge-ins. README.md in this folder documents the protocol
// coverage and how to point an official SDK at it.
//
// One WebSocket connection is one voicesim session, its clock paced in real
// time on a pace.Lane: the server-side stages of the chosen preset (playout
// stages are dropped: the app is the listener; network legs only if asked
// for) plus a control stage of this package. The app's input_audio_buffer.append audio feeds
// the chain as UserAudio frames, paced in real time; the model's audio
// leaves as response.output_audio.delta events as the simulated model
// produces it; conversation.item.truncate is the app's playback report.
//
// Mounting (web/server.go), next to the regular routes:
//
//	rt, err := realtime.New(realtime.Options{Logger: log, Registry: reg, APIKey: apiKey})
//	if err != nil { … }
//	mux.Handle("GET /v1/realtime", rt)
//	mux.Handle("GET /realtime", rt)
//
// and call rt.Shutdown(ctx) from the server's Shutdown: hijacked
// connections are not tracked by http.Server.Shutdown. TLS is the HTTP
// server's: behind a TLS listener the endpoint is wss://host/v1/realtime.
package realtime

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/stages/network"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// Options configure the endpoint. Zero fields take the defaults named.
type Options struct {
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Registry defaults to the full catalogue; LoadPreset to catalog.Load.
	Registry   *pipeline.Registry
	LoadPreset func(name string) (*catalog.Preset, error)
	// DefaultPreset is simulated when the model query parameter selects no
	// preset (default native-gpt4o, the Realtime API's own architecture).
	DefaultPreset string
	// Models maps model names (the model query parameter) to presets, on
	// top of DefaultModels. A model that names a preset selects it too.
	Models map[string]string
	// APIKey, if set, is required: as "Authorization: Bearer <key>" or the
	// "openai-insecure-api-key.<key>" WebSocket subprotocol. A wrong or
	// missing key gets an error event (invalid_api_key) and a close.
	APIKey string
	// AllowedOrigins lists browser origins allowed besides the server's own
	// host; "*" allows any. Requests without Origin are always allowed.
	AllowedOrigins []string
	// MaxSessions caps concurrent Realtime sessions (default 100).
	MaxSessions int
	// Overrides are stage configs (YAML, keyed by stage name) layered on
	// every session's preset where it has that stage, e.g.
	// {"native.realtime": "{ttfa: 150ms}"}.
	Overrides map[string]string
	// Seed, if non-zero, seeds every session (else each draws its own).
	Seed uint64
	// Pace paces the sessions' clocks (default: a scheduler of its own).
	Pace *pace.Scheduler
	// OnTurn, if set, receives every turn metrics update sent to a client,
	// on the session's goroutine: e.g. to feed a metrics channel.
	OnTurn func(TurnReport)
	Limits Limits
}

// Limits bound what one connection may cost. Zero fields take defaults.
type Limits struct {
	WriteWait  time.Duration // for what waits for the client, from the last event sent (10 s)
	PongWait   time.Duration // silence before the connection is dead (60 s)
	CloseGrace time.Duration // wait for the client's close reply (2 s)
	MaxMessage int           // largest client event, bytes (4 MiB)
	MaxErrors  int           // client errors tolerated before a close (100)
	// SendBacklog bounds the bytes sent to a client that its socket has
	// not taken yet (default ~1.5 MB, 20 s of audio deltas). Sending never
	// waits for the client; one that lets more than this wait is
	// disconnected (1013).
	SendBacklog int
	// MaxQueuedAudio bounds appended audio not yet fed to the pipeline
	// (audio sent faster than real time is paced); default 2 minutes.
	MaxQueuedAudio time.Duration
}

func (l Limits) withDefaults() Limits {
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD(&l.WriteWait, 10*time.Second)
	setD(&l.PongWait, 60*time.Second)
	setD(&l.CloseGrace, 2*time.Second)
	setD(&l.MaxQueuedAudio, 2*time.Minute)
	setI(&l.MaxMessage, 4<<20)
	setI(&l.SendBacklog, defaultSendBacklog)
	setI(&l.MaxErrors, 100)
	return l
}

// DefaultModels is the model → preset mapping: the OpenAI realtime models
// map to native-gpt4o, the speech-to-speech architecture they run. Any
// model named like a built-in preset ("cascaded-streaming") selects it;
// anything else gets Options.DefaultPreset.
func DefaultModels() map[string]string {
	return map[string]string{
		"gpt-realtime":                 "native-gpt4o",
		"gpt-realtime-mini":            "native-gpt4o",
		"gpt-4o-realtime-preview":      "native-gpt4o",
		"gpt-4o-mini-realtime-preview": "native-gpt4o",
	}
}

// Handler serves Realtime sessions. It is an http.Handler.
type Handler struct {
	opts      Options
	log       *zap.Logger
	upgrader  websocket.Upgrader
	overrides map[string]*yaml.Node

	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
	closing  bool
	slots    atomic.Int64
	ids      atomic.Uint64
}

// New builds a handler, checking the default preset and the overrides.
func New(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Registry == nil {
		opts.Registry = catalog.Registry()
	}
	if opts.LoadPreset == nil {
		opts.LoadPreset = catalog.Load
	}
	if opts.DefaultPreset == "" {
		opts.DefaultPreset = "native-gpt4o"
	}
	if opts.Pace == nil {
		opts.Pace = pace.New(0)
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 100
	}
	models := DefaultModels()
	for k, v := range opts.Models {
		models[k] = v
	}
	opts.Models = models
	opts.Limits = opts.Limits.withDefaults()
	h := &Handler{opts: opts, log: opts.Logger, sessions: map[*session]struct{}{}, overrides: map[string]*yaml.Node{}}
	for stage, src := range opts.Overrides {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			return nil, errors.New("realtime: override for " + stage + ": " + err.Error())
		}
		h.overrides[stage] = &n
	}
	for _, name := range append([]string{opts.DefaultPreset}, mapValues(models)...) {
		p, err := opts.LoadPreset(name)
		if err != nil {
			return nil, errors.New("realtime: preset " + name + ": " + err.Error())
		}
		if _, err := buildChain(opts.Registry, p, networkNone, presetTurn(opts.Registry, p), h.overrides); err != nil {
			return nil, errors.New("realtime: preset " + name + ": " + err.Error())
		}
	}
	h.upgrader = websocket.Upgrader{ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10, CheckOrigin: func(r *http.Request) bool { return wsconn.OriginAllowed(r, h.opts.AllowedOrigins) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			h.log.Info("realtime upgrade refused", zap.Int("status", status), zap.Error(reason),
				zap.String("origin", r.Header.Get("Origin")), zap.String("remote", r.RemoteAddr))
			http.Error(w, reason.Error(), status)
		}}
	return h, nil
}

func mapValues(m map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range m {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// presetFor resolves a model query parameter to a preset name.
func (h *Handler) presetFor(model string) string {
	if p, ok := h.opts.Models[model]; ok {
		return p
	}
	for _, name := range catalog.Names() {
		if name == model {
			return name
		}
	}
	for _, prefix := range []string{"gpt-realtime", "gpt-4o-realtime", "gpt-4o-mini-realtime"} {
		if strings.HasPrefix(model, prefix) { // dated snapshots
			if p, ok := h.opts.Models[prefix]; ok {
				return p
			}
			return "native-gpt4o"
		}
	}
	return h.opts.DefaultPreset
}

// handshake is what the upgrade request says about the client.
type handshake struct {
	key      string // the API key presented, if any
	dialect  dialect
	protocol string // the subprotocol to echo ("" for none)
}

func parseHandshake(r *http.Request) handshake {
	var hs handshake
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		hs.key = strings.TrimSpace(a[7:])
	} else if k := r.Header.Get("api-key"); k != "" {
		hs.key = k
	}
	if strings.Contains(strings.ToLower(r.Header.Get("OpenAI-Beta")), "realtime=v1") {
		hs.dialect = beta
	}
	protos := websocket.Subprotocols(r)
	for _, p := range protos {
		switch {
		case p == "realtime":
			hs.protocol = p
		case strings.HasPrefix(p, "openai-insecure-api-key."):
			hs.key = strings.TrimPrefix(p, "openai-insecure-api-key.")
		case p == "openai-beta.realtime-v1":
			hs.dialect = beta
		}
	}
	if hs.protocol == "" && len(protos) > 0 {
		// A browser fails a handshake that answers none of the offered
		// subprotocols: echo one, never the one carrying the key.
		hs.protocol = protos[0]
		for _, p := range protos {
			if !strings.HasPrefix(p, "openai-insecure-api-key.") {
				hs.protocol = p
				break
			}
		}
	}
	return hs
}

// ServeHTTP upgrades a request to a Realtime session and runs it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is voicesim's OpenAI Realtime API endpoint: connect with a WebSocket (wss:// or ws://)", http.StatusUpgradeRequired)
		return
	}
	if !h.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.wg.Done()
	hs := parseHandshake(r)
	var hdr http.Header
	if hs.protocol != "" {
		hdr = http.Header{"Sec-WebSocket-Protocol": {hs.protocol}}
	}
	ws, err := wsconn.Upgrade(&h.upgrader, w, r, hdr, h.opts.Limits.WriteWait, h.opts.Limits.PongWait)
	if err != nil {
		return // the upgrader has answered
	}
	id := "sess_" + strconv.FormatUint(h.ids.Add(1), 10)
	log := h.log.With(zap.String("session", id), zap.String("remote", r.RemoteAddr))
	c := newConn(ws, log, h.opts.Limits)
	defer c.Drop() // once it returns, nothing more is written
	refuse := func(e *apiError, code int, msg string) {
		c.SendJSON(errorEvent{Type: "error", EventID: "event_0", Error: *e})
		c.Close(code, msg)
		drainReads(ws, h.opts.Limits.PongWait)
	}
	if want := h.opts.APIKey; want != "" && subtle.ConstantTimeCompare([]byte(hs.key), []byte(want)) != 1 {
		log.Info("realtime session refused: bad api key", zap.Bool("key_present", hs.key != ""))
		refuse(reqErr(codeInvalidAPIKey, "", "Incorrect API key provided. voicesim was started with --api-key; pass it as the bearer token."),
			websocket.ClosePolicyViolation, "invalid api key")
		return
	}
	if n := h.slots.Add(1); n > int64(h.opts.MaxSessions) {
		h.slots.Add(-1)
		log.Warn("realtime session refused: server full", zap.Int("max_sessions", h.opts.MaxSessions))
		refuse(&apiError{Type: errServer, Code: codeSessionFull, Message: "voicesim is at its session limit; try again later"},
			websocket.CloseTryAgainLater, "server full")
		return
	}
	defer h.slots.Add(-1)
	q := r.URL.Query()
	model := q.Get("model")
	preset, err := h.opts.LoadPreset(h.presetFor(model))
	if err != nil {
		log.Error("realtime preset", zap.Error(err))
		refuse(&apiError{Type: errServer, Code: "preset_unavailable", Message: err.Error()}, websocket.CloseInternalServerErr, "preset unavailable")
		return
	}
	netChoice := q.Get("network")
	if netChoice == "" {
		netChoice = networkNone
	}
	if netChoice != networkNone && netChoice != networkPreset && !slices.Contains(network.ProfileNames(), netChoice) {
		refuse(reqErr(codeInvalidValue, "network", fmt.Sprintf("Invalid value for query parameter 'network': %q; want %s, %s or a profile (%s).",
			netChoice, networkNone, networkPreset, strings.Join(network.ProfileNames(), ", "))), websocket.ClosePolicyViolation, "invalid network")
		return
	}
	seed := h.opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := newSession(h, id, log, c, hs.dialect, model, preset, netChoice, seed)
	if !h.track(s) {
		c.Close(websocket.CloseGoingAway, "server shutting down")
		return
	}
	defer h.untrack(s)
	s.run()
}

// drainReads reads until the connection fails, so a close handshake
// completes.
func drainReads(ws *websocket.Conn, wait time.Duration) {
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	return true
}

func (h *Handler) track(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.sessions[s] = struct{}{}
	return true
}

func (h *Handler) untrack(s *session) {
	h.mu.Lock()
	delete(h.sessions, s)
	h.mu.Unlock()
}

// Sessions returns the number of sessions in progress.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Shutdown closes every session (1001) and waits for them until ctx is
// done. New sessions are refused from the first moment.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	ss := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	for _, s := range ss {
		s.c.Close(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("realtime shutdown: sessions still closing: " + ctx.Err().Error())
	}
}

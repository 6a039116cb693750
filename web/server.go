// Package web is voicesim's live server: one simulated voice pipeline per
// WebSocket connection, on the wall clock, fed by a real client's
// microphone (the embedded demo page, or `voicesim run --server`), and the
// demo page itself. PROTOCOL.md documents the wire protocol.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/web/realtime"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// Config configures a Server. Zero fields take the defaults named.
type Config struct {
	// Preset is the architecture a session runs when its start message
	// names none (default cascaded-streaming).
	Preset string
	// Presets are offered on the demo page (default: every built-in).
	Presets []string
	// AllowedOrigins lists browser origins allowed besides the server's own
	// host ("https://example.com"); "*" allows any. Requests without an
	// Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// MaxSessions caps concurrent sessions (default 1000).
	MaxSessions int
	// RecordDir, if set, receives each session's timeline and metrics as
	// JSON when it ends, written atomically.
	RecordDir string
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Registry defaults to the full catalogue; LoadPreset to catalog.Load.
	Registry   *pipeline.Registry
	LoadPreset func(name string) (*catalog.Preset, error)
	Limits     Limits
	// ReadOnGoroutines reads every session on a goroutine of its own,
	// rather than from the scheduler's shards once it has started (the
	// default where the shards can watch sockets: Linux, without TLS).
	// For comparison; the shards hold up better under load.
	ReadOnGoroutines bool
	// APIKey, if set, is required of OpenAI Realtime clients on
	// /v1/realtime (as a bearer token or the openai-insecure-api-key
	// subprotocol).
	APIKey string
}

// Server serves the demo page, /healthz, /api/presets and sessions on /ws.
type Server struct {
	cfg      Config
	log      *zap.Logger
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	started  time.Time

	mu       sync.Mutex
	sessions map[*live]struct{}
	wg       sync.WaitGroup
	slots    atomic.Int64
	closing  atomic.Bool
	ids      atomic.Uint64
	panics   atomic.Int64
	archs    archCache
	pace     *pace.Scheduler // paces every session's clock

	realtime *realtime.Handler
	rtMu     sync.Mutex
	rtTurns  []realtime.TurnReport // the latest, newest last
}

// realtimeTurnsKept bounds the turn reports kept for /api/realtime/turns.
const realtimeTurnsKept = 200

// New builds a server.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Registry == nil {
		cfg.Registry = catalog.Registry()
	}
	if cfg.LoadPreset == nil {
		cfg.LoadPreset = catalog.Load
	}
	if cfg.Preset == "" {
		cfg.Preset = "cascaded-streaming"
	}
	if len(cfg.Presets) == 0 {
		cfg.Presets = catalog.Names()
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1000
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if _, err := cfg.LoadPreset(cfg.Preset); err != nil {
		return nil, fmt.Errorf("default preset: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sessions: map[*live]struct{}{}, started: time.Now(),
		archs: archCache{max: 64, byKey: map[string]*liveArch{}}, pace: pace.New(0)}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     func(r *http.Request) bool { return wsconn.OriginAllowed(r, s.cfg.AllowedOrigins) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			s.log.Info("websocket upgrade refused", zap.Int("status", status), zap.Error(reason),
				zap.String("origin", r.Header.Get("Origin")), zap.String("remote", r.RemoteAddr))
			http.Error(w, reason.Error(), status)
		},
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("embedded page: %w", err)
	}
	rt, err := realtime.New(realtime.Options{Logger: cfg.Logger.Named("realtime"), Registry: cfg.Registry,
		LoadPreset: cfg.LoadPreset, APIKey: cfg.APIKey, AllowedOrigins: cfg.AllowedOrigins,
		MaxSessions: cfg.MaxSessions, OnTurn: s.realtimeTurn, Pace: s.pace})
	if err != nil {
		return nil, fmt.Errorf("realtime endpoint: %w", err)
	}
	s.realtime = rt
	s.mux = http.NewServeMux()
	// The OpenAI Realtime API's path, and the shorter alias some clients use.
	s.mux.Handle("GET /v1/realtime", rt)
	s.mux.Handle("GET /realtime", rt)
	s.mux.HandleFunc("GET /api/realtime/turns", s.serveRealtimeTurns)
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /api/presets", s.servePresets)
	files := http.FileServerFS(static)
	s.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s.securityHeaders(w, r)
		files.ServeHTTP(w, r)
	})
	return s, nil
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// securityHeaders lock the page to its own origin: no third-party script,
// sockets only back to this server.
func (s *Server) securityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", fmt.Sprintf(
		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://%[1]s wss://%[1]s; frame-ancestors 'none'",
		r.Host))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Health is GET /healthz's body.
type Health struct {
	Status      string  `json:"status"`
	Sessions    int64   `json:"sessions"`
	MaxSessions int     `json:"max_sessions"`
	Panics      int64   `json:"panics_recovered"`
	UptimeS     float64 `json:"uptime_s"`
	// Pacing is how late the server has fired its sessions' timers: its
	// own timing error, before the socket.
	Pacing pace.Lateness `json:"pacing"`
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h := Health{Status: "ok", Sessions: s.slots.Load(), MaxSessions: s.cfg.MaxSessions,
		Panics: s.panics.Load(), UptimeS: time.Since(s.started).Seconds(), Pacing: s.pace.Lateness()}
	code := http.StatusOK
	if s.closing.Load() {
		h.Status, code = "shutting_down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (s *Server) servePresets(w http.ResponseWriter, _ *http.Request) {
	infos, err := s.presetInfos()
	if err != nil {
		s.log.Error("describe presets", zap.Error(err))
		http.Error(w, "presets unavailable", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Default  string       `json:"default"`
		Presets  []PresetInfo `json:"presets"`
		Networks []string     `json:"networks"`
	}{s.cfg.Preset, infos, networkChoices()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// serveWS upgrades the request and runs one session on it until it ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	ws, err := wsconn.Upgrade(&s.upgrader, w, r, nil, s.cfg.Limits.WriteWait, s.cfg.Limits.PongWait)
	if err != nil {
		return // the upgrader has answered
	}
	id := strconv.FormatUint(s.ids.Add(1), 10)
	log := s.log.With(zap.String("session", id), zap.String("remote", r.RemoteAddr))
	c := newConn(ws, log, s.cfg.Limits)
	// When the reader has finished, the close handshake is over or the
	// connection is broken, so whatever the client has not taken has no
	// reader; once Drop returns, nothing more is written.
	defer c.Drop()
	// A full server still upgrades: a browser cannot read an HTTP error
	// on a failed WebSocket handshake, but it can read a close reason.
	if n := s.slots.Add(1); n > int64(s.cfg.MaxSessions) {
		s.slots.Add(-1)
		log.Warn("session refused: server full", zap.Int("max_sessions", s.cfg.MaxSessions))
		msg := fmt.Sprintf("server full: %d sessions in progress; try again later", s.cfg.MaxSessions)
		c.sendError(CodeServerFull, msg, true)
		c.Close(websocket.CloseTryAgainLater, msg)
		drainReads(ws)
		return
	}
	defer s.slots.Add(-1)
	l := newLive(s, id, c, log)
	if !s.track(l) {
		c.Close(websocket.CloseGoingAway, "server shutting down")
		return
	}
	defer s.untrack(l)
	l.run()
}

// drainReads reads until the connection fails, so the close handshake
// completes.
func drainReads(ws *websocket.Conn) {
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

// enter counts a connection in, unless the server is shutting down; the
// caller calls wg.Done when it has finished with the connection entirely.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.wg.Add(1)
	return true
}

// track registers a session for Shutdown to close.
func (s *Server) track(l *live) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.sessions[l] = struct{}{}
	return true
}

func (s *Server) untrack(l *live) {
	s.mu.Lock()
	delete(s.sessions, l)
	s.mu.Unlock()
}

// Pacing reports how late the server has fired its sessions' timers.
func (s *Server) Pacing() pace.Lateness { return s.pace.Lateness() }

// Sessions returns the number of sessions in progress.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Shutdown closes every session with a close frame (1001, after its
// summary), lets each write its record, and waits for them until ctx is
// done. New sessions are refused from the first moment. Stop the HTTP
// listener (http.Server.Shutdown) alongside: it does not track hijacked
// connections, this does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	ls := make([]*live, 0, len(s.sessions))
	for l := range s.sessions {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.shutdown()
	}
	rtErr := make(chan error, 1)
	go func() { rtErr <- s.realtime.Shutdown(ctx) }()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		if err := <-rtErr; err != nil {
			return fmt.Errorf("shutdown: realtime sessions: %w", err)
		}
		return nil
	case <-ctx.Done():
		return errors.New("shutdown: sessions still closing: " + ctx.Err().Error())
	}
}

// realtimeTurn keeps an OpenAI Realtime session's turn metrics for
// /api/realtime/turns: what the user's app experienced, in voicesim's terms.
func (s *Server) realtimeTurn(r realtime.TurnReport) {
	s.rtMu.Lock()
	defer s.rtMu.Unlock()
	s.rtTurns = append(s.rtTurns, r)
	if n := len(s.rtTurns); n > realtimeTurnsKept {
		s.rtTurns = append(s.rtTurns[:0:0], s.rtTurns[n-realtimeTurnsKept:]...)
	}
}

// serveRealtimeTurns lists the latest turn metrics of Realtime API sessions.
func (s *Server) serveRealtimeTurns(w http.ResponseWriter, _ *http.Request) {
	s.rtMu.Lock()
	turns := append([]realtime.TurnReport(nil), s.rtTurns...)
	s.rtMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{"turns": turns}); err != nil {
		s.log.Debug("realtime turns write failed", zap.Error(err))
	}
}

package realtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/audio"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/stages/catalog"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// session is one Realtime connection on a pace.Lane: its timers fire on
// the lane's shard, and the reader (the handler goroutine) decodes each
// event and runs it in the lane (Lane.Do). Everything that touches the
// pipeline or the conversation runs in the lane, one thing at a time.
type session struct {
	h       *Handler
	id      string
	log     *zap.Logger
	c       *wsconn.Conn
	d       dialect
	preset  *catalog.Preset
	network string
	seed    uint64
	lane    *pace.Lane             // set by run
	clock   *pipeline.VirtualClock // the lane's
	created time.Time
	eventN  atomic.Uint64
	errs    int // client errors (reader goroutine)

	// In the lane.
	cfg      sessionConfig
	ch       *chain
	s        *pipeline.Session
	gen      int
	rebuild  bool // endpointing changed while busy: rebuild when idle
	items    []*convItem
	byID     map[string]*convItem
	itemN    int
	respN    int
	resps    map[pipeline.ResponseID]*resp // the current pipeline's
	active   *resp                         // the response in progress on the wire
	creating bool                          // a response.create is on its way down the chain
	user     userTurn
	in       input
	met      metricsState
	finished bool
}

// convItem is a conversation item as the wire knows it.
type convItem struct {
	ID         string
	Role       string // user | assistant
	Status     string
	Transcript string
	hasText    bool
	resp       *resp
}

// resp is one response: pipeline response id ↔ wire ids, and what the
// client has been sent of it.
type resp struct {
	id          pipeline.ResponseID
	gen         int
	wireID      string
	item        *convItem
	done        bool
	cancelBy    string // status_details.reason when the client cancelled it
	samples     int    // audio sent, in samples
	transcript  []byte // transcript sent
	firstSent   time.Duration
	playhead    time.Duration // nominal end of playback of the audio sent
	playTimer   pipeline.Timer
	reported    bool // playback end reported to the pipeline
	truncatedMs int64
}

func (r *resp) sentMs() int64 { return int64(r.samples) * 1000 / pipeline.SampleRate }

func newSession(h *Handler, id string, log *zap.Logger, c *wsconn.Conn, d dialect, model string, p *catalog.Preset, network string, seed uint64) *session {
	s := &session{h: h, id: id, log: log, c: c, d: d, preset: p, network: network, seed: seed,
		created: time.Now(), byID: map[string]*convItem{}}
	if model == "" {
		model = p.Name
	}
	s.cfg = sessionConfig{ID: id, Model: model, Voice: "alloy", Speed: 1, OutputModalities: []string{"audio"},
		Turn: presetTurn(h.opts.Registry, p), ExpiresAt: time.Now().Add(time.Hour).Unix(), extra: map[string]json.RawMessage{}}
	s.met.init()
	return s
}

func (s *session) nextEventID() string { return "event_" + strconv.FormatUint(s.eventN.Add(1), 10) }

// send sends a server event at once (see wsconn.Conn.Send); v's EventID field is set by the caller via
// nextEventID.
func (s *session) send(v any) { s.c.SendJSON(v) }

// fail sends an error event for the client event clientID.
func (s *session) fail(e *apiError, clientID string) {
	ev := errorEvent{Type: "error", EventID: s.nextEventID(), Error: *e}
	if clientID != "" {
		ev.Error.EventID = &clientID
	}
	s.log.Debug("realtime client error", zap.String("code", e.Code), zap.String("message", e.Message))
	s.send(ev)
}

// eventPanicked handles a panic in one of the session's timers, on the
// shard's goroutine as it recovers: this session ends (its lane has
// stopped), the others carry on.
func (s *session) eventPanicked(r any) {
	s.log.Error("realtime session panicked", zap.Any("panic", r), zap.Stack("stack"))
	s.fail(&apiError{Type: errServer, Code: "internal_error", Message: "internal error; the session ended"}, "")
	s.c.Close(websocket.CloseInternalServerErr, "internal error")
}

// do runs f in the lane. A panic in f ends this session like one in a
// timer; do reports false when the session cannot go on.
func (s *session) do(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.eventPanicked(r)
			ok = false
		}
	}()
	return s.lane.Do(f)
}

// run starts the session and reads until the connection ends.
func (s *session) run() {
	s.lane = s.h.opts.Pace.NewLane(s.eventPanicked)
	s.clock = s.lane.Clock()
	defer func() {
		s.lane.Stop()
		s.end()
	}()
	s.do(s.begin)
	lim := s.h.opts.Limits
	ws := s.c.WS()
	ws.SetReadLimit(int64(lim.MaxMessage) * 2) // a backstop; read refuses at MaxMessage
	for {
		_ = ws.SetReadDeadline(time.Now().Add(lim.PongWait))
		kind, r, err := ws.NextReader()
		if err != nil {
			s.readEnded(err)
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, int64(lim.MaxMessage)+1))
		if err != nil {
			s.readEnded(err)
			return
		}
		if s.c.Closed() {
			continue // draining until the client answers our close
		}
		if len(data) > lim.MaxMessage {
			msg := fmt.Sprintf("event larger than %d bytes; send audio in smaller appends", lim.MaxMessage)
			s.fail(reqErr(codeTooLarge, "", msg), "")
			s.c.Close(websocket.CloseMessageTooBig, msg)
			continue
		}
		if kind != websocket.TextMessage {
			s.clientError(reqErr(codeInvalidJSON, "", "Binary messages are not supported: send JSON events as text."), "")
			continue
		}
		if !s.handle(data) {
			return
		}
	}
}

func (s *session) readEnded(err error) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		s.log.Debug("realtime client closed", zap.Int("code", ce.Code), zap.String("reason", ce.Text))
	case errors.As(err, &ne) && ne.Timeout():
		s.log.Info("realtime client silent past the read deadline; closing", zap.Duration("pong_wait", s.h.opts.Limits.PongWait))
		s.c.Close(websocket.CloseGoingAway, "no message or pong within the read deadline")
	case s.c.Closed():
		s.log.Debug("realtime connection closed", zap.Error(err))
	default:
		s.log.Info("realtime read failed", zap.Error(err))
	}
}

// clientError reports a bad client event; too many close the session.
func (s *session) clientError(e *apiError, clientID string) {
	s.errs++
	if s.errs > s.h.opts.Limits.MaxErrors {
		msg := fmt.Sprintf("more than %d invalid client events", s.h.opts.Limits.MaxErrors)
		s.fail(reqErr(codeTooManyErrors, "", msg), clientID)
		s.c.Close(websocket.ClosePolicyViolation, msg)
		return
	}
	s.fail(e, clientID)
}

// handle decodes one client event on the reader goroutine and runs it in
// the lane. It reports false when the session cannot go on.
func (s *session) handle(data []byte) bool {
	var ev clientEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		s.clientError(reqErr(codeInvalidJSON, "", "We could not parse the JSON body of your event: "+err.Error()), "")
		return true
	}
	var post func()
	switch ev.Type {
	case "":
		s.clientError(reqErr(codeMissingParam, "type", "Missing required parameter: 'type'."), ev.EventID)
		return true
	case evAppend:
		samples, e := decodeAudio(ev.Audio)
		if e != nil {
			s.clientError(e, ev.EventID)
			return true
		}
		post = func() { s.appendAudio(samples, ev.EventID) }
	case evSessionUpdate:
		post = func() { s.sessionUpdate(ev) }
	case evCommit, evClear, evResponseCreate:
		post = func() { s.queueCommand(ev) }
	case evResponseCancel:
		post = func() { s.responseCancel(ev) }
	case evItemTruncate:
		post = func() { s.truncate(ev) }
	case evItemRetrieve:
		post = func() { s.retrieve(ev) }
	default:
		s.clientError(reqErr(codeInvalidValue, "type", fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", ev.Type, clientTypes)), ev.EventID)
		return true
	}
	if !s.do(post) {
		s.c.Close(websocket.CloseInternalServerErr, "session stopped")
		return false
	}
	return true
}

// decodeAudio decodes an append's base64 PCM16 little-endian samples.
func decodeAudio(b64 string) ([]int16, *apiError) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, reqErr(codeInvalidValue, "audio", "Invalid 'audio': expected base64-encoded PCM16 audio: "+err.Error())
	}
	if len(raw)%2 != 0 {
		return nil, reqErr(codeInvalidValue, "audio", fmt.Sprintf("Invalid 'audio': %d bytes; PCM16 needs an even number of bytes.", len(raw)))
	}
	out := make([]int16, len(raw)/2)
	audio.DecodePCM16Into(out, raw)
	return out, nil
}

// begin builds the pipeline and announces the session (loop).
func (s *session) begin() {
	if err := s.build(); err != nil {
		s.log.Error("realtime build pipeline", zap.Error(err))
		s.fail(&apiError{Type: errServer, Code: "preset_unavailable", Message: err.Error()}, "")
		s.c.Close(websocket.CloseInternalServerErr, "pipeline unavailable")
		s.finished = true
		return
	}
	s.log.Info("realtime session started", zap.String("preset", s.preset.Name), zap.String("model", s.cfg.Model),
		zap.Bool("beta", bool(s.d)), zap.String("network", s.network), zap.Uint64("seed", s.seed),
		zap.Strings("stages", s.ch.names()))
	s.send(evSession{Type: "session.created", EventID: s.nextEventID(), Session: s.cfg.render(s.d, s.archInfo())})
}

// archInfo is the session object's "voicesim" field.
func (s *session) archInfo() map[string]any {
	return map[string]any{"preset": s.preset.Name, "kind": s.preset.Kind, "stages": s.ch.names(), "network": s.network}
}

// build (re)builds the pipeline for the current turn detection. A
// previous pipeline's output is ignored from then on; its timers run out.
func (s *session) build() error {
	ch, err := buildChain(s.h.opts.Registry, s.preset, s.network, s.cfg.Turn, s.h.overrides)
	if err != nil {
		return err
	}
	s.gen++
	gen := s.gen
	s.ch = ch
	s.resps = map[pipeline.ResponseID]*resp{}
	s.active, s.creating, s.rebuild = nil, false, false
	s.s = pipeline.NewSession(pipeline.Options{
		Clock: s.clock, Seed: s.seed + uint64(gen) - 1, Logger: s.log,
		Output: func(f pipeline.Frame, dir pipeline.Direction) {
			if gen == s.gen {
				s.output(f, dir)
			}
		},
		Observe: func(stage string, f pipeline.Frame, dir pipeline.Direction) {
			if gen == s.gen {
				s.observe(stage, f, dir)
			}
		},
	}, ch.stages...)
	s.s.Start()
	s.met.reset()
	return nil
}

// sessionUpdate applies a session.update (loop).
func (s *session) sessionUpdate(ev clientEvent) {
	if s.finished {
		return
	}
	prev := s.cfg.Turn
	if e := s.cfg.update(ev.Session); e != nil {
		s.fail(e, ev.EventID)
		return
	}
	if !sameEndpointing(prev, s.cfg.Turn) {
		s.rebuild = true
		s.maybeRebuild()
	}
	if !s.rebuild {
		ctl := s.ch.control
		ctl.createResponse = s.cfg.Turn == nil || s.cfg.Turn.CreateResponse
	}
	s.send(evSession{Type: "session.updated", EventID: s.nextEventID(), Session: s.cfg.render(s.d, s.archInfo())})
}

// maybeRebuild rebuilds the pipeline for new endpointing once nothing is
// in progress (no response, no open user turn).
func (s *session) maybeRebuild() {
	if !s.rebuild || s.active != nil || s.creating || s.user.open {
		return
	}
	if err := s.build(); err != nil {
		s.log.Error("realtime rebuild pipeline", zap.Error(err))
		s.fail(&apiError{Type: errServer, Code: "internal_error", Message: err.Error()}, "")
		return
	}
	s.log.Info("realtime pipeline rebuilt", zap.Strings("stages", s.ch.names()), zap.Int("generation", s.gen))
}

// end stops the session: the loop has exited.
func (s *session) end() {
	turns := 0
	if s.s != nil {
		turns = len(s.met.sent)
	}
	s.log.Info("realtime session ended", zap.Duration("duration", time.Since(s.created)), zap.Int("turns", turns),
		zap.Int("responses", s.respN), zap.Int("client_errors", s.errs), zap.Int64("audio_in_ms", s.in.fedSamples*1000/pipeline.SampleRate))
}

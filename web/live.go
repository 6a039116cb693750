package web

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/web/wsframe"
	"go.uber.org/zap"
)

// live is one session: a pipeline on a VirtualClock paced by the wall clock
// (a pace.Lane on the server's scheduler). Its timers fire on a shard
// goroutine shared with other sessions; its client's messages are read,
// decoded and handled either on that shard too, in the lane (the default
// once the session has started), or on the connection's own goroutine,
// which runs each through Lane.Do (see read.go). The lane's lock keeps the
// pipeline single-threaded, so stages see the world they see under the
// virtual clock.
//
// Why not real timers per event: each would be scheduled from the real time
// its parent callback ran, so lateness would accumulate along every chain
// of timers (an LLM streaming eight tokens to the first sentence added
// ~6 ms to a turn); see package pace. What leaves the server late shows in the
// client's own reports (network_down, playout).
//
// Why input is not posted to the lane from a reader goroutine: under load
// every goroutine hand-off waits its turn in the Go scheduler's queues,
// and at fifty frames a second per session those waits are the tail.
type live struct {
	srv     *Server
	id      string
	log     *zap.Logger
	c       *wsConn
	created time.Time

	// Set by start on the reader goroutine before the loop runs, then
	// read-only.
	la       *liveArch
	lane     *pace.Lane
	s        *pipeline.Session
	seed     uint64
	client   string
	started  atomic.Bool
	panicked atomic.Bool

	errs int // protocol errors (whoever reads)
	rd   reader
	// onMessage is message, bound once, so a frame costs no closure.
	onMessage func(wsframe.Message) error
	// in carries an audio message into audioIn, bound once, so a frame
	// costs no closure.
	in struct {
		data []byte // PCM16 LE, valid for the call
		at   time.Duration
	}
	audioIn func()
	st      loopState // under the lane's lock
}

func newLive(srv *Server, id string, c *wsConn, log *zap.Logger) *live {
	return &live{srv: srv, id: id, c: c, log: log, created: time.Now()}
}

// run reads messages until the connection ends, then stops the session and
// writes its record.
func (l *live) run() {
	lim := l.srv.cfg.Limits
	l.initReader()
	startTimer := time.AfterFunc(lim.StartWait, func() {
		if !l.started.Load() {
			l.log.Info("no start message; closing", zap.Duration("wait", lim.StartWait))
			msg := fmt.Sprintf("no start message within %v", lim.StartWait)
			l.c.sendError(CodeStartTimeout, msg, true)
			l.c.Close(websocket.ClosePolicyViolation, msg)
		}
	})
	defer startTimer.Stop()
	defer l.end()
	defer func() {
		// A bug in decoding must not take the process down: this session
		// ends, the others carry on.
		if r := recover(); r != nil {
			l.srv.panics.Add(1)
			l.log.Error("session reader panicked", zap.Any("panic", r), zap.Stack("stack"))
			l.c.sendError(CodeInternal, "internal error; the session ended", true)
			l.c.Close(websocket.CloseInternalServerErr, "internal error")
			// Read on until the connection goes (the close grace), so the
			// error and the close frame are written first.
			discard(l.c.WS().NetConn())
		}
	}()
	l.read()
}

// handle deals with one message, on whichever reads. Problems are
// reported to the client; the ones a session cannot survive also send a
// close, and reading goes on until the client answers it.
func (l *live) handle(kind int, data []byte) {
	if kind == websocket.BinaryMessage {
		l.audioMessage(data)
		return
	}
	msg, err := decodeText(data)
	if err != nil {
		l.protocolError(err)
		return
	}
	switch m := msg.(type) {
	case *StartMessage:
		if l.started.Load() {
			l.protocolError(perr(CodeAlreadyStarted, "the session has already started; open a new connection for another"))
			return
		}
		if err := l.start(m); err != nil {
			l.protocolError(err)
			return
		}
	case *TruthMessage:
		if !l.started.Load() {
			l.protocolError(perr(CodeNotStarted, "truth before start"))
			return
		}
		l.do(func() { l.truth(*m) })
	case *PlaybackMessage:
		if !l.started.Load() {
			l.protocolError(perr(CodeNotStarted, "playback before start"))
			return
		}
		l.do(func() { l.playback(*m) })
	case string: // stop
		if !l.started.Load() {
			l.c.Close(websocket.CloseNormalClosure, "stopped before start")
			return
		}
		l.do(func() { l.finish(websocket.CloseNormalClosure, "session complete") })
	}
}

// audioMessage validates a binary message and feeds its samples to the
// session.
func (l *live) audioMessage(data []byte) {
	lim := l.srv.cfg.Limits
	maxBytes := 2 * lim.MaxAudioMs * pipeline.SampleRate / 1000
	switch {
	case !l.started.Load():
		l.protocolError(perr(CodeNotStarted, "audio before start: send a start message first"))
		return
	case len(data) == 0:
		l.protocolError(perr(CodeAudioEmpty, "empty audio message"))
		return
	case len(data)%2 != 0:
		l.protocolError(perr(CodeAudioOddLength, "audio message of %d bytes: PCM16 needs an even number of bytes", len(data)))
		return
	case len(data) > maxBytes:
		l.protocolError(perr(CodeAudioTooLarge, "audio message of %d bytes (%d ms) exceeds %d ms; send 20 ms frames", len(data), len(data)/2*1000/pipeline.SampleRate, lim.MaxAudioMs))
		return
	}
	// Arrival: read on a goroutine, it is taken before the session's
	// lock, so a busy session does not make the wire look slower than it
	// is; read by the lane, the clock stands at the instant the bytes came
	// (pace.Lane.Arrived). The bytes are decoded inside the lane, into
	// storage from the session's frame pool.
	at := l.lane.Now()
	if l.rd.inLane {
		at = l.lane.Clock().Now()
	}
	l.in.data, l.in.at = data, at
	l.do(l.audioIn)
	l.in.data = nil
}

// protocolError reports a bad message. Fatal problems, and too many of
// any, close the session.
func (l *live) protocolError(err error) {
	var pe *protoError
	if !errors.As(err, &pe) {
		pe = &protoError{code: CodeInvalidStart, msg: err.Error()}
	}
	l.errs++
	l.log.Debug("protocol error", zap.String("code", pe.code), zap.String("message", pe.msg))
	if pe.fatal {
		l.c.sendError(pe.code, pe.msg, true)
		l.c.Close(websocket.CloseUnsupportedData, pe.msg)
		return // reading goes on until the client answers the close
	}
	if l.errs > l.srv.cfg.Limits.MaxErrors {
		msg := fmt.Sprintf("more than %d protocol errors", l.srv.cfg.Limits.MaxErrors)
		l.c.sendError(CodeTooManyErrors, msg, true)
		l.c.Close(websocket.ClosePolicyViolation, msg)
		return
	}
	l.c.sendError(pe.code, pe.msg, false)
}

// do runs f on the session, after the events due. If the session has
// stopped (a stage panicked in an event), the client gets a close after
// what was sent before it (the error event); reading goes on until it
// answers.
func (l *live) do(f func()) {
	if l.rd.inLane {
		f() // already in the lane: it is reading
		return
	}
	if !l.lane.Do(f) {
		l.c.Close(websocket.CloseInternalServerErr, "session stopped")
	}
}

// start resolves the architecture and starts the session's loop.
func (l *live) start(m *StartMessage) error {
	la, err := l.srv.resolveArch(m)
	if err != nil {
		return perr(CodeInvalidStart, "%v", err)
	}
	l.la = la
	l.seed = rand.Uint64()
	if m.Seed != nil {
		l.seed = *m.Seed
	}
	l.client = m.Client
	replies := slices.Clone(m.Replies)
	l.lane = l.srv.pace.NewLane(l.eventPanicked)
	l.audioIn = func() { l.audio(l.in.data, l.in.at) }
	l.st.init()
	l.s = la.arch.NewSession(pipeline.Options{
		Clock:   l.lane.Clock(),
		Seed:    l.seed,
		Logger:  l.log,
		Output:  l.output,
		Replies: func(t string) (string, bool) { return reply(replies, t) },
	})
	l.st.pool = pipeline.NewFramePool(l.s)
	l.started.Store(true)
	l.log.Info("session started", zap.String("preset", la.arch.Name), zap.String("network", la.network),
		zap.String("client", l.client), zap.Uint64("seed", l.seed))
	l.do(l.begin)
	return nil
}

// reply finds the scripted answer to a transcript; "*" matches any.
func reply(rs []Reply, transcript string) (string, bool) {
	for _, r := range rs {
		if r.Text == transcript && r.Reply != "" {
			return r.Reply, true
		}
	}
	for _, r := range rs {
		if r.Text == "*" && r.Reply != "" {
			return r.Reply, true
		}
	}
	return "", false
}

// eventPanicked handles a panic in one of the session's events, on the
// shard's goroutine as it recovers: it ends this session only (the lane
// has stopped); it is logged with its stack, the client gets an error and
// a close. (A panic while handling input read on the handler goroutine
// surfaces there, and run recovers it; input read in the lane panics into
// this.)
func (l *live) eventPanicked(r any) {
	l.panicked.Store(true)
	l.srv.panics.Add(1)
	l.log.Error("session panicked", zap.Any("panic", r), zap.Stack("stack"))
	l.c.sendError(CodeInternal, "internal error; the session ended", true)
	l.c.Close(websocket.CloseInternalServerErr, "internal error")
	if l.rd.inLane && !l.rd.over {
		close(l.rd.laneGone) // the handler goroutine reads on
	}
}

// shutdown ends the session for a server shutdown: its summary, then a
// close frame (1001). If the loop does not get to it in time, the close
// goes out regardless.
func (l *live) shutdown() {
	const reason = "server shutting down"
	if l.started.Load() && l.lane.Do(func() { l.finish(websocket.CloseGoingAway, reason) }) {
		time.AfterFunc(time.Second, func() { l.c.Close(websocket.CloseGoingAway, reason) })
		return
	}
	l.c.Close(websocket.CloseGoingAway, reason)
}

// end stops the lane and writes the session's record. Once the lane has
// stopped, no event fires and Do refuses, so nothing races with the record.
func (l *live) end() {
	if !l.started.Load() {
		return
	}
	l.lane.Stop()
	turns := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				l.log.Error("session record failed", zap.Any("panic", r))
			}
		}()
		sum := l.summary()
		turns = len(sum.Turns)
		if dir := l.srv.cfg.RecordDir; dir != "" {
			if err := l.record(dir, sum); err != nil {
				l.log.Error("write session record", zap.Error(err))
			}
		}
	}()
	l.log.Info("session ended", zap.Duration("duration", time.Since(l.created)), zap.Int("turns", turns),
		zap.Int64("frames_in", int64(l.st.frames)), zap.Int64("frames_out", l.st.framesOut),
		zap.Int("close_code", l.c.CloseCode()), zap.Bool("panicked", l.panicked.Load()))
}

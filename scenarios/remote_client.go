package scenarios

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/pipeline/pace"
	"github.com/voicesim/voicesim/web/wsconn"
	"github.com/voicesim/voicesim/web/wsframe"
)

// remoteClient is the scripted user's end of one live session. It runs a
// local session — a wire stage and the preset's client-side stages (the
// playout) — on a VirtualClock paced by the wall clock (a pace.Lane on a
// scheduler shared by all of a run's sessions): its events fire when the
// wall clock reaches them, and the reader delivers each server message at
// the virtual instant it arrives. The lane's lock keeps the session
// single-threaded. A wall clock would do the same but drift: the Mic
// schedules each frame 20 ms after the previous one ran, so every late
// timer would push the user's speech later while reports stamped by the
// wall clock would not be.
//
// The mic's frames are written to the socket from its events, on the
// scheduler's goroutine: a hand-off to a writer goroutine would add a
// scheduling delay to every frame. The socket never makes that goroutine
// wait, which would stall every other client on it: what a full socket
// does not take waits in a backlog (wsconn.NonBlocking), and a server that
// lets sendBacklog pile up ends this session only.
type remoteClient struct {
	ws    *websocket.Conn
	p     *plan
	reg   *pipeline.Registry
	sched *pace.Scheduler

	started chan struct{} // closed once session.started is handled
	quiet   chan struct{} // closed once the mic is done, or the session failed
	summed  chan struct{} // closed once the summary is in
	ended   chan struct{} // closed when reading stops
	endOnce sync.Once
	readErr error // why reading stopped (read after ended)

	// Reading: on the reader goroutine until the session has begun, then
	// in the lane if it can watch the socket (raw not nil), as the server
	// reads its sessions (web/read.go): a server message then costs no
	// goroutine hand-off, which under load is the client's share of the
	// measured timing error.
	parser    *wsframe.Parser
	raw       syscall.RawConn
	sock      *wsconn.SocketReader
	inLane    bool
	onMessage func(wsframe.Message) error
	onBytes   func([]byte) error
	// The message being read, decoded into ev, and (read on a goroutine)
	// handed into the lane through in and handleInFn, bound once, so a
	// message costs no allocation.
	ev wireEvent
	in struct {
		binary bool
		data   []byte
		ev     *wireEvent
		err    error
	}
	handleInFn func()

	// Set by the reader in begin, then read-only; other goroutines read it
	// after started is closed.
	begun bool
	lane  *pace.Lane

	// In the lane (its events, or Do).
	vc          *pipeline.VirtualClock
	s           *pipeline.Session
	audio       *pipeline.FramePool // storage for the server's audio frames
	mic         *pipeline.Mic
	lastAudio   time.Duration
	sentMarks   int
	firstAudio  map[pipeline.ResponseID]bool
	frame       []byte
	wire        []byte        // a frame being written
	keys        *rand.ChaCha8 // masking keys (RFC 6455 §5.3)
	writeErr    error
	quietClosed bool
	summary     wireEvent
	gotSummary  bool
}

// micQuiet: once the scripted mic has sent nothing for this long, it is
// done (pipeline.Mic stops by itself after its tail).
const micQuiet = 500 * time.Millisecond

// sendBacklog bounds what a client keeps for a server that is not reading:
// about three minutes of mic audio.
const sendBacklog = 8 << 20

// quietCheck is how often, at most, the client looks for the mic's end.
const quietCheck = 50 * time.Millisecond

// maxServerMessage bounds a server message (a long session's summary,
// with every mark, is the largest).
const maxServerMessage = 256 << 20

// newRemoteClient takes ws straight after its handshake: the server sends
// nothing before the start message, so gorilla/websocket has buffered
// nothing, and the client reads the socket itself from here on; in the
// lane once the session has begun if inLane and the socket allows.
func newRemoteClient(ws *websocket.Conn, p *plan, reg *pipeline.Registry, sched *pace.Scheduler, inLane bool) *remoteClient {
	c := &remoteClient{ws: ws, p: p, reg: reg, sched: sched, started: make(chan struct{}),
		quiet: make(chan struct{}), summed: make(chan struct{}), ended: make(chan struct{}),
		firstAudio: map[pipeline.ResponseID]bool{}, frame: make([]byte, 0, 2*pipeline.FrameSamples),
		parser: wsframe.NewParser(wsframe.Options{MaxMessage: maxServerMessage}),
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand)
	c.keys = rand.NewChaCha8(seed)
	if inLane {
		c.raw = wsconn.Socket(ws.NetConn())
	}
	c.onMessage = c.message
	c.onBytes = c.bytesRead
	c.handleInFn = c.handleIn
	return c
}

// readLoop reads server messages on its goroutine until the connection
// ends, a message is an error, or the lane takes over.
func (c *remoteClient) readLoop() {
	conn := c.ws.NetConn()
	buf := make([]byte, 16<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if ferr := c.parser.Feed(buf[:n], c.onMessage); ferr != nil {
				c.endRead(ferr)
				return
			}
		}
		if err != nil {
			c.endRead(err)
			return
		}
		if c.handOver() {
			return
		}
	}
}

// handOver passes reading to the lane once the session has begun.
func (c *remoteClient) handOver() bool {
	if !c.begun || c.raw == nil {
		return false
	}
	fd := -1
	if c.raw.Control(func(u uintptr) { fd = int(u) }) != nil {
		return false
	}
	if !c.lane.Do(func() { c.inLane = true }) {
		return false
	}
	c.sock = wsconn.NewSocketReader(c.raw)
	if err := c.lane.Watch(fd, c.readReady); err != nil {
		c.raw = nil
		c.lane.Do(func() { c.inLane = false })
		return false
	}
	return true
}

// readReady reads what the socket holds, in the lane, before the lane
// runs to now (pace.Lane.Watch).
func (c *remoteClient) readReady() {
	if err := c.sock.Drain(c.onBytes); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the server left without a close frame
		}
		c.lane.Arrived(time.Time{}) // the end is seen now
		c.endRead(err)
	}
}

// bytesRead parses what the lane read (Drain's fn, bound once as onBytes)
// at the instant its bytes reached the socket: the server's audio is
// received, and played out, from when it came, not from when a busy
// scheduler got to the socket.
func (c *remoteClient) bytesRead(b []byte) error {
	c.lane.Arrived(c.sock.Arrived())
	return c.parser.Feed(b, c.onMessage)
}

// endRead records why reading stopped, once; in the lane it also stops
// watching the socket.
func (c *remoteClient) endRead(err error) {
	c.endOnce.Do(func() {
		if c.inLane {
			c.lane.Unwatch()
		}
		c.readErr = err
		close(c.ended)
	})
}

// message acts on one server frame: control frames as gorilla/websocket's
// default handlers do; marks and live metrics are skipped (the summary has
// them all).
func (c *remoteClient) message(m wsframe.Message) error {
	switch m.Op {
	case wsframe.Ping:
		_ = c.ws.WriteControl(websocket.PongMessage, m.Data, time.Now().Add(time.Second))
		return nil
	case wsframe.Pong:
		return nil
	case wsframe.Close:
		code, text := wsframe.CloseCode(m.Data)
		reply := websocket.FormatCloseMessage(code, "")
		if code == websocket.CloseNoStatusReceived {
			reply = websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		}
		_ = c.ws.WriteControl(websocket.CloseMessage, reply, time.Now().Add(time.Second))
		return &websocket.CloseError{Code: code, Text: text}
	}
	if m.Op == wsframe.Binary {
		return c.deliver(true, m.Data, nil)
	}
	if skipped(m.Data) {
		return nil
	}
	// Decoded into the client's own event: one reader at a time.
	c.ev = wireEvent{}
	if err := json.Unmarshal(m.Data, &c.ev); err != nil {
		return fmt.Errorf("server sent malformed JSON: %w", err)
	}
	switch c.ev.Type {
	case "mark", "speech.started", "speech.stopped", "turn.metrics":
		return nil
	}
	return c.deliver(false, m.Data, &c.ev)
}

// skipped spots, without decoding, the live-display events the server
// writes most (its encoder puts the type first).
func skipped(b []byte) bool {
	return bytes.HasPrefix(b, []byte(`{"type":"mark",`)) || bytes.HasPrefix(b, []byte(`{"type":"turn.metrics",`))
}

// deliver handles one message, in the lane once the session has begun, at
// the virtual instant it arrived.
func (c *remoteClient) deliver(binary bool, data []byte, ev *wireEvent) error {
	if !c.begun {
		err := c.handle(binary, data, ev)
		if c.begun {
			close(c.started)
		}
		return err
	}
	if c.inLane {
		return c.handle(binary, data, ev)
	}
	c.in.binary, c.in.data, c.in.ev = binary, data, ev
	ok := c.lane.Do(c.handleInFn)
	err := c.in.err
	c.in.data, c.in.ev, c.in.err = nil, nil, nil
	if !ok {
		return c.stoppedErr()
	}
	return err
}

// handleIn handles the message in c.in, in the lane.
func (c *remoteClient) handleIn() { c.in.err = c.handle(c.in.binary, c.in.data, c.in.ev) }

// run plays the session to its end and collects the server's summary.
func (c *remoteClient) run(ctx context.Context) error {
	go c.readLoop()
	defer func() {
		if c.lane != nil {
			c.lane.Stop() // no event or read in the lane after this
			if c.inLane {
				c.endRead(errors.New("session over"))
			}
		}
		_ = c.ws.Close() // ends a reader goroutine
		<-c.ended
	}()
	select {
	case <-c.started:
	case <-c.ended:
		return c.closed("before the session started")
	case <-time.After(15 * time.Second):
		return errors.New("no session.started within 15 s")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.quiet:
	case <-c.ended:
		return c.closed("mid-session")
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	if !c.lane.Do(func() {
		if err = c.writeErr; err == nil {
			err = c.writeJSON(map[string]string{"type": "stop"})
		}
	}) {
		return c.stoppedErr()
	}
	if err != nil {
		return err
	}
	select {
	case <-c.summed:
	case <-c.ended:
		// The server closes right after the summary: did it come first?
		select {
		case <-c.summed:
		default:
			return c.closed("before its summary")
		}
	case <-time.After(15 * time.Second):
		return errors.New("no session.summary within 15 s of stop")
	case <-ctx.Done():
		return ctx.Err()
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return nil
}

// checkQuiet closes quiet once the mic is done (a failed write closes it
// at once, in write). While the mic talks it looks again no sooner than
// the mic could have gone quiet, rather than every quietCheck: about
// eighteen lane fires a second fewer per client.
func (c *remoteClient) checkQuiet() {
	if c.vc.Now()-c.lastAudio <= micQuiet {
		c.vc.AfterFunc(max(quietCheck, c.lastAudio+micQuiet-c.vc.Now()), c.checkQuiet)
		return
	}
	c.closeQuiet()
}

func (c *remoteClient) closeQuiet() {
	if !c.quietClosed {
		c.quietClosed = true
		close(c.quiet)
	}
}

// panicked handles a panic in one of the client session's events (in the
// lane, which has stopped).
func (c *remoteClient) panicked(r any) {
	c.writeErr = fmt.Errorf("client pipeline panicked: %v", r)
	c.closeQuiet()
}

// stoppedErr says why the lane refused work. Once it has stopped nothing
// else touches writeErr, and the refusal came after the lane's lock.
func (c *remoteClient) stoppedErr() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	return errors.New("client session stopped")
}

func (c *remoteClient) closed(when string) error {
	if c.readErr != nil {
		return fmt.Errorf("connection ended %s: %w", when, c.readErr)
	}
	return fmt.Errorf("connection ended %s", when)
}

// handle acts on one server message, with the session locked.
func (c *remoteClient) handle(binary bool, data []byte, ev *wireEvent) error {
	if binary {
		if !c.begun {
			return errors.New("server audio before session.started")
		}
		f, err := decodeServerAudio(data, c.audio)
		if err != nil {
			return err
		}
		f.At = c.vc.Now()
		c.s.Input(f)
		return nil
	}
	if !c.begun && ev.Type != "session.started" && ev.Type != "error" {
		return fmt.Errorf("server sent %s before session.started", ev.Type)
	}
	switch ev.Type {
	case "session.started":
		return c.begin(ev)
	case "response.done":
		c.s.Input(pipeline.Frame{Kind: pipeline.ResponseDone, Response: pipeline.ResponseID(ev.Response), Seq: ev.Frames, At: c.vc.Now()})
	case "response.interrupted":
		k := pipeline.Interruption
		if ev.Cancelled {
			k = pipeline.Cancel
		}
		c.s.Input(pipeline.Frame{Kind: k, Response: pipeline.ResponseID(ev.Response), At: c.vc.Now()})
	case "session.summary":
		first := !c.gotSummary
		c.summary, c.gotSummary = *ev, true
		if first {
			close(c.summed) // the summary is read once it is closed
		}
	case "error":
		if ev.Code != "stage_error" {
			return fmt.Errorf("server error %s: %s", ev.Code, ev.Message)
		}
	}
	return nil
}

// begin builds the client's end from the stages the server left to it and
// starts the scripted mic at stream time zero. It runs on the reader,
// before the lane's first Do: until then the new lane's clock, at zero,
// is the caller's alone.
func (c *remoteClient) begin(ev *wireEvent) error {
	stages := []pipeline.Named{{Name: "client.wire", Stage: clientWire{c}}}
	for _, cs := range ev.ClientStages {
		st, err := stageFromJSON(c.reg, cs.Stage, cs.Config)
		if err != nil {
			return err
		}
		stages = append(stages, st)
	}
	tmpl := c.p.mic
	c.mic = &pipeline.Mic{Utterances: tmpl.Utterances, Noise: tmpl.Noise, Tail: tmpl.Tail, MaxLength: tmpl.MaxLength}
	lane := c.sched.NewLane(c.panicked)
	c.vc = lane.Clock()
	c.s = pipeline.NewSession(pipeline.Options{Clock: c.vc, Output: c.mic.Output, Replies: c.mic.Replies}, stages...)
	c.audio = pipeline.NewFramePool(c.s)
	c.s.Start()
	if err := c.mic.Start(c.s); err != nil {
		lane.Stop()
		return err
	}
	c.vc.AfterFunc(quietCheck, c.checkQuiet)
	c.lane, c.begun = lane, true
	lane.Do(func() {}) // queue the lane's first events
	return nil
}

// counters merges the server's counters with the client's own (playout).
func (c *remoteClient) counters() map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.summary.Counters {
		out[k] += v
	}
	if c.s != nil {
		for k, v := range c.s.Counters() {
			out[k] += v
		}
	}
	return out
}

func (c *remoteClient) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return c.write(websocket.TextMessage, b)
}

func (c *remoteClient) write(kind int, b []byte) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	// One frame in one write, built here rather than by gorilla/websocket
	// (which allocates a writer per message): the socket wrapper takes
	// whole writes in order, so control frames gorilla writes meanwhile
	// never split it.
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], uint32(c.keys.Uint64()))
	c.wire = wsframe.AppendFrame(c.wire[:0], wsframe.Opcode(kind), b, &key)
	conn := c.ws.NetConn()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(c.wire); err != nil {
		c.writeErr = fmt.Errorf("send to server: %w", err)
		c.closeQuiet() // run stops waiting for the mic at once
	}
	return c.writeErr
}

// report sends a playback report stamped on the stream clock.
func (c *remoteClient) report(event string, r pipeline.ResponseID, at time.Duration, playedMs float64) {
	_ = c.writeJSON(wirePlayback{Type: "playback", Event: event, Response: uint32(r),
		TMs: float64(at) / float64(time.Millisecond), PlayedMs: playedMs})
}

// sendTruth sends the truth the mic has stamped since the last call: it
// places utterances ahead of their audio, so truth always precedes it.
func (c *remoteClient) sendTruth() {
	marks := c.s.Timeline().Marks
	for _, m := range marks[c.sentMarks:] {
		if !strings.HasPrefix(m.Name, "user.") {
			continue
		}
		_ = c.writeJSON(wireTruth{Type: "truth", Name: m.Name, Turn: m.Turn, Value: m.Value, Text: m.Text,
			Sample: int64(math.Round(m.At.Seconds() * pipeline.SampleRate))})
	}
	c.sentMarks = len(marks)
}

// clientWire is the client's end of the socket, first in the local chain:
// the mic's audio goes out through it, the server's audio comes in through
// it, and the playout's reports go back through it.
type clientWire struct{ c *remoteClient }

func (w clientWire) Handle(ctx *pipeline.Context, f pipeline.Frame, dir pipeline.Direction) {
	c := w.c
	switch {
	case f.Kind == pipeline.Interruption || f.Kind == pipeline.Cancel:
		return // the session forwards these
	case dir == pipeline.Downstream && f.Kind == pipeline.UserAudio:
		c.sendTruth()
		// A local slice keeps the loop in registers.
		buf := slices.Grow(c.frame[:0], 2*len(f.Audio))[:2*len(f.Audio)]
		for i, s := range f.Audio {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(s))
		}
		c.frame = buf
		_ = c.write(websocket.BinaryMessage, buf)
		c.lastAudio = ctx.Now()
		return
	case dir == pipeline.Downstream && f.Kind == pipeline.AssistantAudio && !c.firstAudio[f.Response]:
		c.firstAudio[f.Response] = true
		c.report("first_audio", f.Response, ctx.Now(), 0)
	case dir == pipeline.Upstream && f.Kind == pipeline.PlaybackStarted:
		c.report("started", f.Response, f.At, 0)
		return
	case dir == pipeline.Upstream && f.Kind == pipeline.PlaybackStopped:
		c.report("stopped", f.Response, f.At, f.Value)
		return
	}
	ctx.Forward(f, dir)
}

var _ pipeline.Stage = clientWire{}

// clientVoiceToVoice measures each user turn on the client's own timeline:
// from its true end to the first sample the playout played after it and
// before the next turn began.
func clientVoiceToVoice(tl *pipeline.Timeline) []time.Duration {
	var ends, starts []time.Duration
	for _, m := range tl.Marks {
		switch m.Name {
		case pipeline.MarkUserSpeechStart:
			starts = append(starts, m.At)
		case pipeline.MarkUserSpeechEnd:
			ends = append(ends, m.At)
		}
	}
	out := make([]time.Duration, len(ends))
	for i, end := range ends {
		next := time.Duration(math.MaxInt64)
		if i+1 < len(starts) {
			next = starts[i+1]
		}
		for _, m := range tl.Marks {
			if m.Name == pipeline.MarkClientFirstPlayed && m.At > end && m.At < next && (out[i] == 0 || m.At-end < out[i]) {
				out[i] = m.At - end
			}
		}
	}
	return out
}

package web

import (
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// Limits bound what one connection may cost. The zero value of a field
// means its default.
type Limits struct {
	// WriteWait is how long what waits for a client may go on waiting
	// after the last message sent before the connection is given up
	// (default 10 s).
	WriteWait time.Duration
	// PongWait is how long the connection may stay silent — no message and
	// no pong — before it is considered dead (default 30 s). Pings go out
	// at 9/10 of it, so a live client always answers in time.
	PongWait time.Duration
	// StartWait is how long a client has to send its start message
	// (default 10 s): an idle socket must not hold a session slot.
	StartWait time.Duration
	// MaxMessage is the largest message read, text or binary (default
	// 64 KiB). Larger messages close the connection (1009).
	MaxMessage int
	// MaxAudioMs is the most audio one binary message may carry (default
	// 200 ms); the pipeline works in 20 ms frames and a client sending more
	// at once is not streaming in real time.
	MaxAudioMs int
	// SendBacklog bounds the bytes sent to a client that its socket has
	// not taken yet (default defaultSendBacklog, ~20 s of audio). Sending
	// never waits for the client; one that lets more than this wait is
	// disconnected (1013) rather than allowed to stall its session or grow
	// the server's memory.
	SendBacklog int
	// MaxErrors is how many protocol errors a session tolerates before it
	// is closed (default 100).
	MaxErrors int
	// CloseGrace is how long to wait for the client's close reply before
	// dropping the connection (default 2 s).
	CloseGrace time.Duration
}

func (l Limits) withDefaults() Limits {
	set := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.WriteWait, 10*time.Second)
	set(&l.PongWait, 30*time.Second)
	set(&l.StartWait, 10*time.Second)
	set(&l.CloseGrace, 2*time.Second)
	seti := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	seti(&l.MaxMessage, 64<<10)
	seti(&l.MaxAudioMs, 200)
	seti(&l.SendBacklog, defaultSendBacklog)
	seti(&l.MaxErrors, 100)
	return l
}

// defaultSendBacklog is about 20 s of assistant audio as it is sent: a
// 20 ms frame is 480 PCM16 samples (960 bytes) behind the 12-byte audio
// header, in a WebSocket frame whose header takes 4 bytes (payloads of 126
// to 65535 bytes): 976 bytes, 50 a second, 48 800 bytes a second, and
// 976 000 bytes in 20 s. Events add little beside it.
const defaultSendBacklog = 20 * int(time.Second/pipeline.FrameDuration) * (4 + AudioHeaderSize + 2*pipeline.FrameSamples)

// wsConn is a session's WebSocket (see package wsconn) and the messages
// the live protocol sends on it.
type wsConn struct {
	*wsconn.Conn
	// audio is where sendAudio encodes a frame: the lane sends audio one
	// frame at a time, and the buffer is free again once Send returns.
	audio []byte
}

func newConn(ws *websocket.Conn, log *zap.Logger, limits Limits) *wsConn {
	return &wsConn{Conn: wsconn.New(ws, log, wsconn.Options{WriteWait: limits.WriteWait, PongWait: limits.PongWait,
		CloseGrace: limits.CloseGrace, SendBacklog: limits.SendBacklog,
		SlowReason: "client too slow: " + CodeSlowClient})}
}

// sendAudio sends an assistant audio frame. It runs in the session's lane,
// which serializes it.
func (c *wsConn) sendAudio(f pipeline.Frame) bool {
	c.audio = appendAudio(c.audio[:0], f)
	return c.Send(websocket.BinaryMessage, c.audio)
}

// sendError sends an error event.
func (c *wsConn) sendError(code, msg string, fatal bool) bool {
	return c.SendJSON(ErrorEvent{Type: TypeError, Code: code, Message: msg, Fatal: fatal})
}

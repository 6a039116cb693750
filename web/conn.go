package web

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// Limits bound what one connection may cost. The zero value of a field
// means its default.
type Limits struct {
	// WriteWait is the time allowed to write one message (default 10 s).
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
	// SendQueue bounds the messages queued for a client (default 1024,
	// ~20 s of audio). A client that falls that far behind is disconnected
	// rather than allowed to stall its session or grow the server's memory.
	SendQueue int
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
	seti(&l.SendQueue, 1024)
	seti(&l.MaxErrors, 100)
	return l
}

// wsConn is a session's WebSocket (see package wsconn) and the messages
// the live protocol sends on it.
type wsConn struct {
	*wsconn.Conn
}

// audioBufs recycles the buffers of outgoing audio frames: fifty a second
// per session would otherwise be garbage, and collection pauses are what
// lengthen the tail of the server's timing under load.
var audioBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, AudioHeaderSize+2*960)
	return &b
}}

func newConn(ws *websocket.Conn, log *zap.Logger, limits Limits) *wsConn {
	return &wsConn{wsconn.New(ws, log, wsconn.Options{WriteWait: limits.WriteWait, PongWait: limits.PongWait,
		CloseGrace: limits.CloseGrace, SendQueue: limits.SendQueue,
		SlowReason: "client too slow: " + CodeSlowClient, Pool: &audioBufs})}
}

// sendAudio queues an assistant audio frame, encoded in a pooled buffer.
func (c *wsConn) sendAudio(f pipeline.Frame) bool {
	p := audioBufs.Get().(*[]byte)
	return c.Enqueue(websocket.BinaryMessage, appendAudio((*p)[:0], f), p)
}

// sendError queues an error event.
func (c *wsConn) sendError(code, msg string, fatal bool) bool {
	return c.SendJSON(ErrorEvent{Type: TypeError, Code: code, Message: msg, Fatal: fatal})
}

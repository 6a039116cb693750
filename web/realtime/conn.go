package realtime

import (
	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// conn is a Realtime session's WebSocket (see package wsconn): every event
// is a JSON text message.
type conn struct {
	*wsconn.Conn
}

func newConn(ws *websocket.Conn, log *zap.Logger, lim Limits) *conn {
	return &conn{wsconn.New(ws, log, wsconn.Options{WriteWait: lim.WriteWait, PongWait: lim.PongWait,
		CloseGrace: lim.CloseGrace, SendQueue: lim.SendQueue, SlowReason: "client too slow: " + codeSlowClient})}
}

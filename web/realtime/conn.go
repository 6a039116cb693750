package realtime

import (
	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// newConn wraps a Realtime session's WebSocket (see package wsconn): every
// event is a JSON text message.
func newConn(ws *websocket.Conn, log *zap.Logger, lim Limits) *wsconn.Conn {
	return wsconn.New(ws, log, wsconn.Options{WriteWait: lim.WriteWait, PongWait: lim.PongWait,
		CloseGrace: lim.CloseGrace, SendQueue: lim.SendQueue, SlowReason: "client too slow: " + codeSlowClient})
}

package realtime

import (
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// newConn wraps a Realtime session's WebSocket (see package wsconn): every
// event is a JSON text message.
func newConn(ws *websocket.Conn, log *zap.Logger, lim Limits) *wsconn.Conn {
	return wsconn.New(ws, log, wsconn.Options{WriteWait: lim.WriteWait, PongWait: lim.PongWait,
		CloseGrace: lim.CloseGrace, SendBacklog: lim.SendBacklog, SlowReason: "client too slow: " + codeSlowClient})
}

// defaultSendBacklog is about 20 s of the model's audio as it is sent: a
// 20 ms frame is 480 PCM16 samples, 960 bytes, 1280 in base64, in an
// output_audio.delta event whose other fields take under 200 bytes
// (TestSendBacklogHoldsTwentySeconds), in a WebSocket frame whose header
// takes 4 bytes: under 1484 bytes, 50 a second, and 1 484 000 bytes in
// 20 s.
const defaultSendBacklog = 20 * int(time.Second/pipeline.FrameDuration) * (4 + 200 + (2*pipeline.FrameSamples+2)/3*4)

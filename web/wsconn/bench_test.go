//go:build unix

package wsconn

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/internal/cpubench"
	"go.uber.org/zap"
)

// benchConn returns a server Conn whose client reads every message and
// reports each on the channel returned.
func benchConn(b *testing.B) (*Conn, <-chan struct{}) {
	b.Helper()
	opts := Options{WriteWait: 10 * time.Second, PongWait: time.Minute, CloseGrace: time.Second,
		SendBacklog: 1 << 20, SlowReason: "client too slow"}
	conns := make(chan *Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(&websocket.Upgrader{}, w, r, nil, opts.WriteWait, opts.PongWait)
		if err != nil {
			b.Error(err)
			return
		}
		c := New(ws, zap.NewNop(), opts)
		conns <- c
	}))
	b.Cleanup(hs.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	c := <-conns
	b.Cleanup(c.Drop)
	got := make(chan struct{}, 1024)
	go func() {
		for {
			_, r, err := client.NextReader()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()
	return c, got
}

// audioFrame is a 20 ms assistant audio message: a 12-byte header and 480
// PCM16 samples.
var audioFrame = make([]byte, 12+2*480)

// BenchmarkSendFrame: one audio frame from the sender to the client's
// reader, one at a time, as a session sends them 20 ms apart: what the
// sender spends, and the latency to the client.
func BenchmarkSendFrame(b *testing.B) {
	c, got := benchConn(b)
	b.ReportAllocs()
	cpu := cpubench.Used()
	for b.Loop() {
		if !c.Send(websocket.BinaryMessage, audioFrame) {
			b.Fatal("refused")
		}
		<-got
	}
	cpubench.Report(b, cpu)
}

// BenchmarkSendBurst: one second of audio frames at once, as a session
// catching up after a stall sends them, until the client has them all.
func BenchmarkSendBurst(b *testing.B) {
	c, got := benchConn(b)
	b.ReportAllocs()
	cpu := cpubench.Used()
	for b.Loop() {
		for range 50 {
			if !c.Send(websocket.BinaryMessage, audioFrame) {
				b.Fatal("refused")
			}
		}
		for range 50 {
			<-got
		}
	}
	cpubench.Report(b, cpu)
}

// BenchmarkSendJSON: a small event (a mark), encoded and sent.
func BenchmarkSendJSON(b *testing.B) {
	c, got := benchConn(b)
	ev := struct {
		Type   string  `json:"type"`
		Name   string  `json:"name"`
		AtMs   float64 `json:"at_ms"`
		Stream float64 `json:"stream_ms"`
		Turn   int     `json:"turn"`
	}{"mark", "tts.first_audio", 1234.5, 1180.25, 3}
	b.ReportAllocs()
	cpu := cpubench.Used()
	for b.Loop() {
		if !c.SendJSON(ev) {
			b.Fatal("refused")
		}
		<-got
	}
	cpubench.Report(b, cpu)
}

//go:build unix

package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/internal/cpubench"
	"github.com/voicesim/voicesim/pipeline"
	"github.com/voicesim/voicesim/web/wsconn"
	"go.uber.org/zap"
)

// BenchmarkSendAudio: an assistant audio frame encoded and sent to a client
// that reads it, one at a time, as a session sends them.
func BenchmarkSendAudio(b *testing.B) {
	lim := Limits{}.withDefaults()
	conns := make(chan *wsConn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := wsconn.Upgrade(&websocket.Upgrader{}, w, r, nil, lim.WriteWait, lim.PongWait)
		if err != nil {
			b.Error(err)
			return
		}
		c := newConn(ws, zap.NewNop(), lim)
		conns <- c
	}))
	defer hs.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	c := <-conns
	defer c.Drop()
	got := make(chan struct{}, 1)
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
	f := pipeline.Frame{Kind: pipeline.AssistantAudio, Response: 3, Seq: 17, Audio: make([]int16, pipeline.FrameSamples)}
	b.ReportAllocs()
	cpu := cpubench.Used()
	for b.Loop() {
		if !c.sendAudio(f) {
			b.Fatal("refused")
		}
		<-got
	}
	cpubench.Report(b, cpu)
}

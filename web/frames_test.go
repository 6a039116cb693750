package web_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/voicesim/voicesim/web"
)

// readers runs a test with each way the server can read its sessions.
func readers(t *testing.T, f func(t *testing.T, cfg web.Config)) {
	t.Run("lanes", func(t *testing.T) { t.Parallel(); f(t, web.Config{}) })
	t.Run("goroutines", func(t *testing.T) { t.Parallel(); f(t, web.Config{ReadOnGoroutines: true}) })
}

// rawFrame encodes one WebSocket frame as a client sends it (masked,
// unless unmasked is set).
func rawFrame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch n := len(payload); {
	case n < 126:
		h = []byte{b0, byte(n)}
	case n < 1<<16:
		h = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = make([]byte, 10)
		h[0], h[1] = b0, 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	if unmasked {
		return append(h, payload...)
	}
	h[1] |= 0x80
	key := []byte{0x12, 0x34, 0x56, 0x78}
	out := append(append(h, key...), payload...)
	for i := range payload {
		out[len(h)+4+i] ^= key[i%4]
	}
	return out
}

// rawConn dials the server, optionally starts a session, and returns the
// connection for raw frames.
func rawConn(t *testing.T, url string, start bool) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if start {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"start"}`)); err != nil {
			t.Fatal(err)
		}
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for session.started: %v", err)
			}
			if strings.Contains(string(b), `"session.started"`) {
				break
			}
		}
	}
	return ws
}

func writeRawBytes(t *testing.T, ws *websocket.Conn, b []byte) {
	t.Helper()
	if _, err := ws.NetConn().Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestFramingErrorsClose: frames that break RFC 6455 close the session
// with 1002 and a reason naming the problem, before and after the session
// starts (read by the handler goroutine, then by the lane), and the
// server goes on serving.
func TestFramingErrorsClose(t *testing.T) {
	readers(t, func(t *testing.T, cfg web.Config) {
		_, hs := newServer(t, cfg)
		cases := []struct {
			name   string
			frame  []byte
			reason string
		}{
			{"unmasked", rawFrame(true, 2, []byte{0, 0}, true), "unmasked"},
			{"reserved bit", append([]byte{0x80 | 0x40 | 2}, rawFrame(true, 2, []byte{0, 0}, false)[1:]...), "rsv1"},
			{"long ping", rawFrame(true, 9, make([]byte, 126), false), "126 bytes"},
			{"fragmented ping", rawFrame(false, 9, nil, false), "fragmented ping"},
			{"continuation first", rawFrame(true, 0, []byte("x"), false), "continuation"},
			{"unknown opcode", rawFrame(true, 3, nil, false), "opcode"},
		}
		for _, tc := range cases {
			for _, started := range []bool{false, true} {
				ws := rawConn(t, wsURL(hs), started)
				writeRawBytes(t, ws, tc.frame)
				var err error
				for err == nil {
					_, _, err = ws.ReadMessage()
				}
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseProtocolError || !strings.Contains(strings.ToLower(ce.Text), tc.reason) {
					t.Errorf("%s (started %v): read %v; want close 1002 naming %q", tc.name, started, err, tc.reason)
				}
			}
		}
		c, _, err := dial(t, wsURL(hs), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.start(web.StartMessage{})
	})
}

// TestFragmentsAndPings: a message in fragments, with a ping between
// them, is reassembled and handled; the ping is answered with its payload.
func TestFragmentsAndPings(t *testing.T) {
	readers(t, func(t *testing.T, cfg web.Config) {
		_, hs := newServer(t, cfg)
		ws := rawConn(t, wsURL(hs), true)
		pong := make(chan string, 1)
		ws.SetPongHandler(func(s string) error { pong <- s; return nil })
		msg := []byte(`{"type":"dance"}`)
		var b []byte
		b = append(b, rawFrame(false, 1, msg[:5], false)...)
		b = append(b, rawFrame(true, 9, []byte("are you there"), false)...)
		b = append(b, rawFrame(false, 0, msg[5:9], false)...)
		b = append(b, rawFrame(true, 0, msg[9:], false)...)
		// Byte by byte: the frames arrive split across reads.
		for i := range b {
			writeRawBytes(t, ws, b[i:i+1])
		}
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("no error event for the reassembled message: %v", err)
			}
			var ev web.ErrorEvent
			if json.Unmarshal(data, &ev) == nil && ev.Type == web.TypeError {
				if ev.Code != web.CodeUnknownType {
					t.Fatalf("error %s %q; want %s for the reassembled message", ev.Code, ev.Message, web.CodeUnknownType)
				}
				break
			}
		}
		select {
		case got := <-pong:
			if got != "are you there" {
				t.Errorf("pong %q; want the ping's payload", got)
			}
		default:
			t.Error("the ping between fragments was not answered")
		}
	})
}

// TestStartedSessionsAreReadByTheirLanes: once started, a session on a
// plain socket is read by its lane, unless the server is told otherwise.
func TestStartedSessionsAreReadByTheirLanes(t *testing.T) {
	readers(t, func(t *testing.T, cfg web.Config) {
		srv, hs := newServer(t, cfg)
		c, _, err := dial(t, wsURL(hs), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.start(web.StartMessage{})
		c.writeRaw(websocket.TextMessage, []byte(`{"type":"dance"}`))
		c.waitError(t, 1) // a message read after the start
		want := 1
		if cfg.ReadOnGoroutines {
			want = 0
		}
		if got := srv.ReadByLanes(); got != want {
			t.Fatalf("%d sessions read by their lanes; want %d", got, want)
		}
	})
}

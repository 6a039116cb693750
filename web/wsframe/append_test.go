package wsframe

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestGorillaReadsWhatWeWrite: frames from AppendFrame, written on a real
// connection in both directions (masked by the client with a different
// key each, unmasked by the server), read through gorilla/websocket as
// exactly the messages appended, at every length encoding's edges.
func TestGorillaReadsWhatWeWrite(t *testing.T) {
	var msgs []Message
	for i, n := range []int{0, 1, 125, 126, 1920, 65535, 65536, 140000} {
		op := Binary
		if i%2 == 1 {
			op = Text
		}
		p := audio(n)
		if op == Text {
			p = bytes.Repeat([]byte("a"), n)
		}
		msgs = append(msgs, Message{op, p})
	}
	got := make(chan Message, len(msgs))
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer ws.Close()
		ws.SetReadLimit(1 << 20)
		for range msgs {
			op, data, err := ws.ReadMessage()
			if err != nil {
				t.Errorf("server read: %v", err)
				return
			}
			got <- Message{Opcode(op), data}
		}
		// The server's own frames: unmasked.
		var out []byte
		for _, m := range msgs {
			out = AppendFrame(out, m.Op, m.Data, nil)
		}
		if _, err := ws.NetConn().Write(out); err != nil {
			t.Errorf("server write: %v", err)
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadLimit(1 << 20)
	for i, m := range msgs {
		key := [4]byte{byte(i + 1), 0x5a, byte(3 * i), 0xc3}
		before := bytes.Clone(m.Data)
		frame := AppendFrame(nil, m.Op, m.Data, &key)
		if !bytes.Equal(m.Data, before) {
			t.Fatalf("AppendFrame modified the payload of message %d", i)
		}
		// The shortest length encoding, as §5.2 requires: 7 bits up to
		// 125, 16 up to 65535, 64 beyond; then the 4-byte key.
		header := 2 + 4
		switch n := len(m.Data); {
		case n > 0xffff:
			header += 8
		case n > 125:
			header += 2
		}
		if len(frame) != header+len(m.Data) {
			t.Errorf("message %d of %d bytes framed in %d bytes, want a %d-byte header", i, len(m.Data), len(frame), header)
		}
		if _, err := ws.NetConn().Write(frame); err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.Op != m.Op || !bytes.Equal(r.Data, m.Data) {
			t.Errorf("message %d (%v, %d bytes) read by the server as %v, %d bytes", i, m.Op, len(m.Data), r.Op, len(r.Data))
		}
	}
	for i, m := range msgs {
		op, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("client read %d: %v", i, err)
		}
		if Opcode(op) != m.Op || !bytes.Equal(data, m.Data) {
			t.Errorf("server's message %d (%v, %d bytes) read as %v, %d bytes", i, m.Op, len(m.Data), Opcode(op), len(data))
		}
	}
}

package wsframe

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// sent is a message gorilla/websocket writes; a ping, if set, goes out
// halfway through it, between its fragments.
type sent struct {
	Message
	ping []byte
}

// TestGorillaWritesWeRead: what a gorilla client and a gorilla server
// write on a real connection, read back from the wire, is exactly what
// they sent: messages bigger than their write buffer, which gorilla
// fragments (a server sends each 70000-byte half that write gives it as
// one frame, with a 64-bit length), pings between fragments, pings, pongs,
// a close.
func TestGorillaWritesWeRead(t *testing.T) {
	clientScript := []sent{
		{Message: Message{Text, []byte(`{"type":"start"}`)}},
		{Message: Message{Binary, audio(1920)}},
		{Message: Message{Ping, []byte("are you there")}},
		{Message: Message{Pong, []byte("yes")}},
		{Message: Message{Binary, audio(5000)}, ping: []byte("mid")},
		{Message: Message{Text, nil}},
		{Message: Message{Binary, audio(140000)}},
		{Message: Message{Close, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")}},
	}
	serverScript := []sent{
		{Message: Message{Text, []byte(`{"type":"ready"}`)}},
		{Message: Message{Binary, audio(1920)}},
		{Message: Message{Pong, nil}},
		{Message: Message{Binary, audio(5000)}, ping: []byte("mid")},
		{Message: Message{Binary, audio(140000)}},
		{Message: Message{Close, websocket.FormatCloseMessage(websocket.CloseGoingAway, "")}},
	}
	const bufSize = 1024 // gorilla's write buffer: larger messages are fragmented

	up := websocket.Upgrader{ReadBufferSize: bufSize, WriteBufferSize: bufSize}
	served := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- func() error {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return err
			}
			defer ws.Close()
			quiet(ws)
			if err := readToClose(ws); err != nil {
				return err
			}
			return write(ws, serverScript)
		}()
	}))
	defer srv.Close()

	var wire *recorder
	d := websocket.Dialer{ReadBufferSize: bufSize, WriteBufferSize: bufSize,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			wire = &recorder{Conn: c}
			return wire, nil
		}}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	quiet(ws)
	if err := write(ws, clientScript); err != nil {
		t.Fatal(err)
	}
	if err := readToClose(ws); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}

	for _, dir := range []struct {
		name   string
		o      Options
		stream []byte
		script []sent
	}{
		{"from the client", Options{Masked: true, MaxMessage: 1 << 20}, wire.written(), clientScript},
		{"from the server", Options{Masked: false, MaxMessage: 1 << 20}, wire.read(), serverScript},
	} {
		t.Run(dir.name, func(t *testing.T) {
			if !pingBetweenFragments(dir.stream) {
				t.Fatalf("gorilla sent no ping between fragments: the test is not testing that")
			}
			var want result
			for _, s := range dir.script {
				if s.ping != nil {
					want.msgs = append(want.msgs, Message{Ping, s.ping})
				}
				want.msgs = append(want.msgs, s.Message)
			}
			for name, piece := range map[string]func(int) int{"whole": whole, "in segments": segments, "randomly": randomly(7)} {
				if d := feed(t, dir.o, dir.stream, piece).diff(want); d != "" {
					t.Errorf("fed %s: %s", name, d)
				}
			}
		})
	}
}

// quiet stops ws answering pings and closes, so that each side's bytes
// are only what its script wrote.
func quiet(ws *websocket.Conn) {
	ws.SetPingHandler(func(string) error { return nil })
	ws.SetCloseHandler(func(int, string) error { return nil })
}

func write(ws *websocket.Conn, script []sent) error {
	deadline := time.Now().Add(time.Minute)
	for _, s := range script {
		if s.Op.control() {
			if err := ws.WriteControl(int(s.Op), s.Data, deadline); err != nil {
				return err
			}
			continue
		}
		w, err := ws.NextWriter(int(s.Op))
		if err != nil {
			return err
		}
		half := len(s.Data) / 2
		if _, err := w.Write(s.Data[:half]); err != nil {
			return err
		}
		if s.ping != nil {
			if err := ws.WriteControl(websocket.PingMessage, s.ping, deadline); err != nil {
				return err
			}
		}
		if _, err := w.Write(s.Data[half:]); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// readToClose reads messages until the peer's close.
func readToClose(ws *websocket.Conn) error {
	for {
		_, _, err := ws.ReadMessage()
		if _, ok := err.(*websocket.CloseError); ok {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pingBetweenFragments walks a stream's frames and reports whether a ping
// came while a data message was unfinished.
func pingBetweenFragments(stream []byte) bool {
	open := false
	for len(stream) >= 2 {
		b0, b1 := stream[0], stream[1]
		n, ext := uint64(b1&0x7f), stream[2:]
		switch n {
		case 126:
			n, ext = uint64(binary.BigEndian.Uint16(ext)), ext[2:]
		case 127:
			n, ext = binary.BigEndian.Uint64(ext), ext[8:]
		}
		if b1&0x80 != 0 {
			ext = ext[4:]
		}
		if op := Opcode(b0 & 0x0f); op == Ping && open {
			return true
		} else if !op.control() {
			open = b0&fin == 0
		}
		stream = ext[n:]
	}
	return false
}

// recorder keeps a copy of the bytes read from and written to a conn,
// after the HTTP upgrade.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.in.Write(b[:n])
	return n, err
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.Conn.Write(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Write(b[:n])
	return n, err
}

func (r *recorder) read() []byte    { return r.frames(&r.in) }
func (r *recorder) written() []byte { return r.frames(&r.out) }

// frames is what followed the HTTP request or response.
func (r *recorder) frames(b *bytes.Buffer) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, after, _ := bytes.Cut(b.Bytes(), []byte("\r\n\r\n"))
	return bytes.Clone(after)
}

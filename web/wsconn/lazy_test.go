package wsconn

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	reads, writes []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error { c.reads = append(c.reads, t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.reads = append(c.reads, t)
	c.writes = append(c.writes, t)
	return nil
}

func TestLazyDeadlinesPassOnOnlyWhatMatters(t *testing.T) {
	base := time.Unix(1000, 0)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	under := &deadlineConn{}
	c := LazyDeadlines(under, time.Second)

	steps := []struct {
		set    time.Time
		passed bool
	}{
		{at(10_000), true},  // first
		{at(10_020), false}, // a frame later: kept
		{at(10_999), false}, // still within the slack of 10 000
		{at(11_000), true},  // a full slack later
		{at(10_500), true},  // earlier: at once
		{time.Time{}, true}, // cleared: at once
		{at(10_500), true},  // set after a clear
		{at(10_500), false}, // the same again
		{at(20_000), true},  // far later
	}
	for i, s := range steps {
		n := len(under.writes)
		if err := c.SetWriteDeadline(s.set); err != nil {
			t.Fatal(err)
		}
		if got := len(under.writes) > n; got != s.passed {
			t.Fatalf("step %d: write deadline %v passed on = %v, want %v", i, s.set, got, s.passed)
		}
		if s.passed && !under.writes[len(under.writes)-1].Equal(s.set) {
			t.Fatalf("step %d: passed on %v, want %v", i, under.writes[len(under.writes)-1], s.set)
		}
	}
	// Read deadlines are tracked apart from write deadlines.
	if err := c.SetReadDeadline(at(20_100)); err != nil {
		t.Fatal(err)
	}
	if len(under.reads) != 1 {
		t.Fatalf("first read deadline not passed on: %v", under.reads)
	}
	_ = c.SetReadDeadline(at(20_200))
	if len(under.reads) != 1 {
		t.Fatalf("read deadline within the slack passed on: %v", under.reads)
	}
	// SetDeadline always goes through and resets both.
	_ = c.SetDeadline(at(30_000))
	_ = c.SetWriteDeadline(at(30_100))
	if len(under.writes) != len(steps)-3+1 || !under.writes[len(under.writes)-1].Equal(at(30_000)) {
		t.Fatalf("after SetDeadline: writes %v", under.writes)
	}
}

func TestUpgradeWrapsTheConnection(t *testing.T) {
	u := &websocket.Upgrader{}
	got := make(chan net.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(u, w, r, nil, 10*time.Second, time.Minute)
		if err != nil {
			got <- nil
			return
		}
		got <- ws.NetConn()
		_, data, err := ws.ReadMessage()
		if err == nil {
			_ = ws.WriteMessage(websocket.TextMessage, data)
		}
		ws.Close()
	}))
	defer hs.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if c, ok := (<-got).(*lazyConn); !ok || c.slack != time.Second {
		t.Fatalf("upgraded connection is not wrapped with a tenth of the write wait: %#v", c)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("echo")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := ws.ReadMessage(); err != nil || string(data) != "echo" {
		t.Fatalf("echo: %q, %v", data, err)
	}
}

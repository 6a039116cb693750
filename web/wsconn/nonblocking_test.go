package wsconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestNonBlockingNeverWaitsForAStuckPeer: the peer reads nothing; writes
// go on returning at once until the backlog is full, then fail, and keep
// failing.
func TestNonBlockingNeverWaitsForAStuckPeer(t *testing.T) {
	client, _ := tcpPair(t) // the server end never reads
	c := NonBlocking(client, 4<<20)
	if _, ok := c.(*nbConn); !ok {
		t.Fatalf("a TCP connection was not wrapped: %T", c)
	}
	chunk := make([]byte, 1<<20)
	done := make(chan error, 1)
	go func() {
		for range 256 { // far beyond socket buffers plus the backlog
			if _, err := c.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBacklogFull) {
			t.Fatalf("writes to a peer that reads nothing ended with %v, want ErrBacklogFull", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write waited for a peer that reads nothing")
	}
	if _, err := c.Write([]byte("more")); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("a write after the backlog filled: %v, want ErrBacklogFull again", err)
	}
}

// TestNonBlockingKeepsOrder: a peer that starts reading late gets every
// byte, in order, though most of them went through the backlog.
func TestNonBlockingKeepsOrder(t *testing.T) {
	client, server := tcpPair(t)
	c := NonBlocking(client, 64<<20)
	var want bytes.Buffer
	for i := range 4000 {
		chunk := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 2500) // 5 kB, numbered
		want.Write(chunk)
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	got := make([]byte, want.Len())
	if err := server.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatalf("reading %d bytes: %v", want.Len(), err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d of %d", i, len(got))
	}
	// Once drained, writes go straight to the socket again.
	if _, err := c.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, 4)
	if _, err := io.ReadFull(server, tail); err != nil || string(tail) != "tail" {
		t.Fatalf("after the backlog: %q, %v", tail, err)
	}
}

// TestNonBlockingReportsABrokenConnection: once the flusher's write fails,
// so do later writes.
func TestNonBlockingReportsABrokenConnection(t *testing.T) {
	client, server := tcpPair(t)
	c := NonBlocking(client, 64<<20)
	chunk := make([]byte, 1<<20)
	for range 16 { // more than the socket holds: a flusher runs
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	server.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Write([]byte("x")); err != nil {
			return // reported
		}
		if time.Now().After(deadline) {
			t.Fatal("writes still succeed 10 s after the peer closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNonBlockingWithoutDescriptor: a connection with no descriptor (as a
// *tls.Conn has none) whose peer reads nothing: writes still return at
// once, everything waiting for the goroutine that writes it out, until the
// backlog bound fails them.
func TestNonBlockingWithoutDescriptor(t *testing.T) {
	client, server := net.Pipe() // synchronous: a write waits for the reader
	defer server.Close()
	c := NonBlocking(client, 4<<20)
	nb, ok := c.(*nbConn)
	if !ok || nb.raw != nil {
		t.Fatalf("a connection without a descriptor: %T, wrapped %v", c, ok)
	}
	chunk := make([]byte, 64<<10)
	var err error
	for range 256 { // 16 MiB; a write that waited would hang here
		if _, err = c.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("writes to a peer that reads nothing ended with %v, want ErrBacklogFull", err)
	}
	if _, err := c.Write([]byte("more")); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("a write after the backlog filled: %v, want ErrBacklogFull again", err)
	}
	// Closing ends the goroutine stuck writing to the peer.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-nb.drained()
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// TestNonBlockingWithoutDescriptorKeepsOrder: with no descriptor, a peer
// that reads late gets every byte in order, and the backlog drains.
func TestNonBlockingWithoutDescriptorKeepsOrder(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	c := NonBlocking(client, 0) // no bound
	defer c.Close()
	var want bytes.Buffer
	for i := range 2000 {
		chunk := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 500)
		want.Write(chunk)
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	if w := c.(*nbConn).waiting(); w == 0 || w > want.Len() {
		t.Fatalf("%d bytes waiting of %d written to a peer that has read nothing", w, want.Len())
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes differ from those written")
	}
	<-c.(*nbConn).drained()
	if w := c.(*nbConn).waiting(); w != 0 {
		t.Fatalf("%d bytes waiting once the peer has read everything", w)
	}
}

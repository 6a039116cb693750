//go:build linux

package wsconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketReader returns a SocketReader of server's socket, once the kernel
// stamps what it receives: it turns receive timestamps on for the whole
// system lazily (a deferred static key), so the first bytes after a
// socket asks for them may come unstamped. peer writes to the socket.
func socketReader(t *testing.T, peer, server net.Conn) *SocketReader {
	t.Helper()
	raw := Socket(server)
	if raw == nil {
		t.Fatal("no watchable socket under a loopback TCP connection")
	}
	r := NewSocketReader(raw)
	buf := make([]byte, 16)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := peer.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for n == 0 {
			var err error
			if n, err = r.Read(buf); err != nil && !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
		}
		if !r.Arrived().IsZero() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel stamps no bytes received (SO_TIMESTAMPNS)")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSocketReaderKnowsWhenBytesCame: bytes read well after they reached
// the socket are stamped with when they reached it, not when they were
// read; a read that takes two writes' bytes gets the later instant.
func TestSocketReaderKnowsWhenBytesCame(t *testing.T) {
	client, server := tcpPair(t)
	r := socketReader(t, client, server)
	buf := make([]byte, 4096)

	first := time.Now()
	if _, err := client.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // the bytes wait in the socket
	second := time.Now()
	if _, err := client.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	read := time.Now()
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "firstsecond" {
		t.Fatalf("Read = %q, %v; want both writes", buf[:n], err)
	}
	at := r.Arrived()
	if at.IsZero() {
		t.Fatal("no receive timestamp")
	}
	// Within 10 ms of the second write (loopback takes microseconds; the
	// margin is for a busy machine), and well before the read.
	if at.Before(second) || at.Sub(second) > 10*time.Millisecond {
		t.Errorf("stamped %v after the first write; the second came %v after it, the read %v",
			at.Sub(first), second.Sub(first), read.Sub(first))
	}

	if _, err := r.Read(buf); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Read of an empty socket: %v; want EAGAIN", err)
	}
	if !r.Arrived().IsZero() {
		t.Errorf("a read of nothing kept the stamp %v", r.Arrived())
	}
}

// TestDrainStampsEachRead: Drain's fn sees each read's own stamp.
func TestDrainStampsEachRead(t *testing.T) {
	client, server := tcpPair(t)
	r := socketReader(t, client, server)
	sent := time.Now()
	if _, err := client.Write(bytes.Repeat([]byte{1}, 100)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	var stamps []time.Time
	if err := r.Drain(func(b []byte) error {
		stamps = append(stamps, r.Arrived())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(stamps) != 1 || stamps[0].Before(sent) || stamps[0].Sub(sent) > 20*time.Millisecond {
		t.Errorf("Drain's reads were stamped %v; want one, within 20 ms after %v", stamps, sent)
	}
}

// TestSocketReaderReadsWithoutAllocating: a read costs no allocation, so a
// lane reading hundreds of sockets makes no garbage.
func TestSocketReaderReadsWithoutAllocating(t *testing.T) {
	client, server := tcpPair(t)
	r := socketReader(t, client, server)
	buf := make([]byte, 4096)
	msg := []byte("twenty milliseconds of audio, more or less")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(msg); {
			n, err := r.Read(buf)
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per write and read; want 0", allocs)
	}
}

// TestReceiveStampSurvivesBadControlMessages: lengths that do not fit are
// no stamp, never a panic or a read past the buffer.
func TestReceiveStampSurvivesBadControlMessages(t *testing.T) {
	hdr := unix.CmsgLen(0)
	stamp := func(level, typ int32, length int, sec, nsec int64) []byte {
		b := make([]byte, unix.CmsgSpace(16))
		binary.NativeEndian.PutUint64(b, uint64(length))
		binary.NativeEndian.PutUint32(b[8:], uint32(level))
		binary.NativeEndian.PutUint32(b[12:], uint32(typ))
		binary.NativeEndian.PutUint64(b[hdr:], uint64(sec))
		binary.NativeEndian.PutUint64(b[hdr+8:], uint64(nsec))
		return b
	}
	good := stamp(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, unix.CmsgLen(16), 1700000000, 5)
	if got := receiveStamp(good); !got.Equal(time.Unix(1700000000, 5)) {
		t.Errorf("a well-formed stamp read as %v", got)
	}
	other := stamp(unix.SOL_SOCKET, unix.SCM_RIGHTS, unix.CmsgLen(16), 1, 1)
	if got := receiveStamp(append(other, good...)); !got.Equal(time.Unix(1700000000, 5)) {
		t.Errorf("a stamp after another message read as %v", got)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short header":   good[:hdr-1],
		"length 0":       stamp(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, 0, 1, 1),
		"length too big": stamp(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, 1<<20, 1, 1),
		"no room":        stamp(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, hdr+4, 1, 1)[:hdr+4],
		"other level":    stamp(unix.IPPROTO_TCP, unix.SCM_TIMESTAMPNS, unix.CmsgLen(16), 1, 1),
	} {
		if got := receiveStamp(b); !got.IsZero() {
			t.Errorf("%s: stamp %v; want none", name, got)
		}
	}
}

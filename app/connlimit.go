package app

import (
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// fileReserve is the number of descriptors kept free of HTTP connections
// for the broker's connections and files, the Kafka clients and the logs.
const fileReserve = 512

// connCap is the most HTTP connections the server holds: the configured
// cap, kept below the file limit so that a flood is refused with 503 rather
// than failing accept(2) (and everything else that opens a file).
func connCap(configured int, fileLimit uint64) int {
	limit := configured
	if fileLimit > 0 {
		room := int(min(fileLimit, 1<<30))
		room -= min(fileReserve, room/2)
		if limit == 0 || limit > room {
			limit = room
		}
	}
	return limit
}

// cappedListener admits at most cap connections at once; a connection over
// the cap is answered "503 Service Unavailable" (with Retry-After) and
// closed, without reaching the HTTP server. Upgraded WebSockets count until
// they close.
type cappedListener struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{} // bounds the goroutines finishing refusals
	onRefuse func()
}

func newCappedListener(ln net.Listener, limit int, onRefuse func()) net.Listener {
	if limit <= 0 {
		return ln
	}
	return &cappedListener{Listener: ln, slots: make(chan struct{}, limit), refusing: make(chan struct{}, 64), onRefuse: onRefuse}
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
			l.refuse(c)
		}
	}
}

// refusal is the whole reply to a connection over the cap.
var refusal = func() []byte {
	body := `{"code":"unavailable","message":"The server has too many connections. Please try again."}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: application/json; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// refuse writes the 503 and closes c. It half-closes first and drains what
// the client sent, briefly, so the client reads the reply rather than a
// reset; under a flood of refusals it just closes.
func (l *cappedListener) refuse(c net.Conn) {
	if l.onRefuse != nil {
		l.onRefuse()
	}
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(refusal)
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// slotConn gives its slot back when closed.
type slotConn struct {
	net.Conn
	release func()
}

func (c *slotConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// CloseWrite keeps the HTTP server's graceful half-close (it looks for
// this method) working through the wrapper.
func (c *slotConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
)

// startServer runs the HTTP server service alone on a free port.
func startServer(t *testing.T, edit func(*config.HTTP)) string {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	edit(&cfg.HTTP)
	d := &deps{cfg: cfg, logger: slog.New(slog.DiscardHandler), registry: prometheus.NewRegistry(), mux: http.NewServeMux(), ready: new(atomic.Bool)}
	svc, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	return svc.(*server).ln.Addr().String()
}

// rawGet sends a keep-alive GET /healthz on c and returns the status line.
func rawGet(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading the body of a %s: %v", res.Status, err)
	}
	if res.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(body), `"code":"unavailable"`) {
		t.Errorf("503 body %q", body)
	}
	if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	return res.Status
}

// dial opens a TCP connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnectionCapAnswers503(t *testing.T) {
	addr := startServer(t, func(h *config.HTTP) { h.Limits.MaxConnections = 3 })
	var held []net.Conn
	for range 3 {
		c := dial(t, addr)
		if st := rawGet(t, c, bufio.NewReader(c)); st != "200 OK" {
			t.Fatalf("connection within the cap: %s", st)
		}
		held = append(held, c)
	}
	over := dial(t, addr)
	if st := rawGet(t, over, bufio.NewReader(over)); st != "503 Service Unavailable" {
		t.Fatalf("connection over the cap: %s, want 503", st)
	}
	// A closed connection gives its place back.
	held[0].Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := dial(t, addr)
		st := rawGet(t, c, bufio.NewReader(c))
		c.Close()
		if st == "200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a slot never came back: %s", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnCapStaysBelowFileLimit(t *testing.T) {
	for _, tc := range []struct {
		configured int
		files      uint64
		want       int
	}{
		{10000, 20000, 10000},
		{10000, 4096, 4096 - fileReserve},
		{0, 4096, 4096 - fileReserve},
		{10000, 600, 300},
		{50, 0, 50},
	} {
		if got := connCap(tc.configured, tc.files); got != tc.want {
			t.Errorf("connCap(%d, %d) = %d, want %d", tc.configured, tc.files, got, tc.want)
		}
	}
	if files := raiseFileLimit(); files == 0 {
		t.Error("no file limit read")
	}
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout() // EOF or reset: closed by the server
}

func TestServerTimeouts(t *testing.T) {
	addr := startServer(t, func(h *config.HTTP) {
		h.Timeouts = config.Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	})
	for _, tc := range []struct{ name, sent, stillOpen string }{
		{"slow body", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab",
			"a request dribbling its body is still open after 2 s (read timeout 300ms)"},
		{"slow headers", "GET /healthz HTTP/1.1\r\nHost", "half a header is still open after 2 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			_, _ = io.WriteString(c, tc.sent)
			if !closedWithin(c, 2*time.Second) {
				t.Fatal(tc.stillOpen)
			}
		})
	}
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t, addr)
		if st := rawGet(t, c, bufio.NewReader(c)); st != "200 OK" {
			t.Fatal(st)
		}
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("an idle keep-alive connection is still open after 2 s (idle timeout 300ms)")
		}
	})
}

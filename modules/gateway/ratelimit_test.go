package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/game"
)

// fakeClock is the limits' clock under test control.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// peer is an HTTP client whose connections come from one loopback address
// (Linux answers on all of 127/8), so a test can be several clients.
type peer struct {
	h    *harness
	ip   string
	http *http.Client
}

func (h *harness) peer(ip string) *peer {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	h.t.Cleanup(tr.CloseIdleConnections)
	return &peer{h: h, ip: ip, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// call returns the status, the Retry-After header and the error code (if any).
func (p *peer) call(path string, body any, out any) (int, string, string) {
	p.h.t.Helper()
	j, _ := json.Marshal(body)
	res, err := p.http.Post(p.h.srv.URL+path, "application/json", bytes.NewReader(j))
	if err != nil {
		p.h.t.Fatalf("%s from %s: %v", path, p.ip, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var e apiErr
	if res.StatusCode >= 400 {
		_ = json.Unmarshal(raw, &e)
	} else if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.h.t.Fatal(err)
		}
	}
	return res.StatusCode, res.Header.Get("Retry-After"), e.Code
}

func (p *peer) create(mode string) (seatReply, int, string, string) {
	var r seatReply
	st, ra, code := p.call("/api/matches", map[string]any{"name": "P" + p.ip[len(p.ip)-1:], "mode": mode, "humans": 2}, &r)
	return r, st, ra, code
}

func (p *peer) dial(r seatReply) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, p.h.wsURL(r.MatchID, r.Token), &websocket.DialOptions{HTTPClient: p.http})
	if err == nil {
		p.h.t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, res, err
}

func limitedHarness(t *testing.T, edit func(*config.Limits)) (*harness, *fakeClock) {
	h := newHarness(t, func(c *config.Config) {
		l := &c.HTTP.Limits
		*l = config.Limits{CodeFailureMemory: time.Hour, CodeFailureMaxDelay: time.Hour}
		edit(l)
	})
	clock := &fakeClock{t: time.Now()}
	h.g.limits.now = clock.now
	return h, clock
}

func TestCreateRateLimitedPerAddress(t *testing.T) {
	h, clock := limitedHarness(t, func(l *config.Limits) { l.CreatesPerMinute, l.CreateBurst = 6, 3 })
	flood, other := h.peer("127.0.0.1"), h.peer("127.0.0.2")
	for i := range 3 {
		if _, st, _, code := flood.create("private"); st != 200 {
			t.Fatalf("create %d within the burst: %d %s", i, st, code)
		}
	}
	_, st, retry, code := flood.create("private")
	if st != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("4th create: %d %q, want 429 rate_limited", st, code)
	}
	// 6 a minute: the next token is 10 s away.
	if secs, _ := strconv.Atoi(retry); secs < 9 || secs > 10 {
		t.Fatalf("Retry-After %q, want 10", retry)
	}
	// Another player is not held up by the flood, and plays.
	r, st, _, code := other.create("private")
	if st != 200 {
		t.Fatalf("other address's create: %d %s", st, code)
	}
	h.start(r)
	h.state(r.MatchID, func(s *game.State) bool { return s.Phase != "lobby" })
	// The flooder gets a token back after Retry-After.
	clock.add(10 * time.Second)
	if _, st, _, code := flood.create("private"); st != 200 {
		t.Fatalf("create after Retry-After: %d %s", st, code)
	}
}

func TestInviteCodeGuessesSlowDown(t *testing.T) {
	h, clock := limitedHarness(t, func(l *config.Limits) {
		l.CodeFreeFailures, l.CodeFailureDelay, l.CodeFailureMaxDelay = 2, time.Second, 4*time.Second
	})
	guesser, friend := h.peer("127.0.0.1"), h.peer("127.0.0.3")
	host, st, _, _ := h.peer("127.0.0.4").create("private")
	if st != 200 {
		t.Fatalf("host create: %d", st)
	}
	guess := func(p *peer, code string) (int, string, string) {
		return p.call("/api/join", map[string]string{"code": code, "name": "G"}, nil)
	}
	for i := range 2 {
		if st, _, code := guess(guesser, "ZZZZZ"+strconv.Itoa(i)); st != 404 || code != "not_found" {
			t.Fatalf("free guess %d: %d %s", i, st, code)
		}
	}
	// Every further wrong code doubles the wait: 1 s, 2 s, 4 s, then 4 s.
	for i, wait := range []int{1, 2, 4, 4} {
		if st, _, code := guess(guesser, "ZZZZZ"+strconv.Itoa(i)); st != 404 {
			t.Fatalf("guess after waiting: %d %s", st, code)
		}
		st, retry, code := guess(guesser, host.Code)
		if st != http.StatusTooManyRequests || code != "rate_limited" || retry != strconv.Itoa(wait) {
			t.Fatalf("guess %d right after a wrong one: %d %s Retry-After %q, want 429 after %d s", i, st, code, retry, wait)
		}
		clock.add(time.Duration(wait) * time.Second)
	}
	// A friend at another address with the right code joins at once.
	var r seatReply
	if st, _, code := friend.call("/api/join", map[string]string{"code": host.Code, "name": "Friend"}, &r); st != 200 || r.Token == "" {
		t.Fatalf("friend's join: %d %s", st, code)
	}
}

func TestLobbiesPerAddress(t *testing.T) {
	h, _ := limitedHarness(t, func(l *config.Limits) { l.LobbiesPerAddress = 2 })
	p := h.peer("127.0.0.1")
	first, _, _, _ := p.create("private")
	p.create("private")
	if _, st, _, code := p.create("private"); st != http.StatusTooManyRequests || code != "too_many_lobbies" {
		t.Fatalf("3rd open lobby: %d %s, want 429 too_many_lobbies", st, code)
	}
	// Starting one frees its place.
	h.state(first.MatchID, func(s *game.State) bool { return true })
	h.start(first)
	h.state(first.MatchID, func(s *game.State) bool { return s.Phase != "lobby" })
	if _, st, _, code := p.create("private"); st != 200 {
		t.Fatalf("create after starting a lobby: %d %s", st, code)
	}
}

func TestSocketCaps(t *testing.T) {
	h, _ := limitedHarness(t, func(l *config.Limits) { l.SocketsPerSeat, l.SocketsPerAddress = 1, 2 })
	p, other := h.peer("127.0.0.1"), h.peer("127.0.0.5")
	a, _, _, _ := p.create("private")
	b, _, _, _ := p.create("private")
	c, _, _, _ := p.create("private")
	h.state(a.MatchID, func(*game.State) bool { return true })
	h.state(b.MatchID, func(*game.State) bool { return true })
	h.state(c.MatchID, func(*game.State) bool { return true })
	if _, _, err := p.dial(a); err != nil {
		t.Fatal(err)
	}
	// A second socket of the same seat: the error frame, then the close.
	ws, _, err := p.dial(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var f frame
	for f.Type != "error" {
		_, raw, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("second socket of a seat ended without an error frame: %v", err)
		}
		_ = json.Unmarshal(raw, &f)
	}
	if f.Code != "too_many_sockets" {
		t.Fatalf("second socket of a seat: %+v, want too_many_sockets", f)
	}
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("second socket of a seat closed with %v", err)
	}
	// The refused socket stops counting once its handler returned: seat b
	// then gets the address's second socket.
	eventually(t, "a socket for seat b", func() bool { _, _, err := p.dial(b); return err == nil })
	_, res, err := p.dial(c)
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("3rd socket of the address: %v %+v, want 429 with Retry-After", err, res)
	}
	// Another address's player connects and plays.
	o, st, _, _ := other.create("private")
	if st != 200 {
		t.Fatalf("other create: %d", st)
	}
	h.state(o.MatchID, func(*game.State) bool { return true })
	if _, _, err := other.dial(o); err != nil {
		t.Fatalf("other address's socket: %v", err)
	}
}

func TestClientAddrGroupsIPv6Subnet(t *testing.T) {
	l := newClientLimits(config.Limits{}, time.Minute)
	addr := func(remote string) string {
		return l.clientAddr(&http.Request{RemoteAddr: remote}).String()
	}
	if a, b := addr("[2001:db8:1:2::1]:5000"), addr("[2001:db8:1:2:ffff::9]:6000"); a != b || a != "2001:db8:1:2::/64" {
		t.Fatalf("one /64 gave %s and %s", a, b)
	}
	if a := addr("[::ffff:192.0.2.7]:80"); a != "192.0.2.7/32" {
		t.Fatalf("mapped IPv4 gave %s", a)
	}
}

func TestClientAddrBehindTrustedProxies(t *testing.T) {
	l := newClientLimits(config.Limits{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"}}, time.Minute)
	addr := func(remote string, xff ...string) string {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return l.clientAddr(r).String()
	}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"10.1.2.3:80", []string{"203.0.113.9"}, "203.0.113.9/32"},
		// The client may write anything before the proxies' own entries.
		{"10.1.2.3:80", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9/32"},
		{"192.0.2.1:80", []string{"1.1.1.1", "198.51.100.4"}, "198.51.100.4/32"},
		// An untrusted peer's header is ignored.
		{"198.51.100.7:80", []string{"1.1.1.1"}, "198.51.100.7/32"},
		// A trusted proxy without the header is the client.
		{"10.1.2.3:80", nil, "10.1.2.3/32"},
	} {
		if got := addr(tc.remote, tc.xff...); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

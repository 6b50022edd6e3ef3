package gateway

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// clientLimits holds what each client address has taken: its creation and
// join rates (golang.org/x/time/rate buckets), its wrong invite codes, its
// open lobbies and its sockets, plus the sockets of each seat. The limits
// are per gateway instance. It is safe for concurrent use; no lock is held
// across anything but map and counter updates.
type clientLimits struct {
	cfg       config.Limits
	proxies   []netip.Prefix
	lobbyLife time.Duration // a lobby older than this is abandoned and stops counting
	now       func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*clientState
	seats   map[string]int // match id + "/" + seat -> open sockets
}

type clientState struct {
	creates, joins *rate.Limiter
	wrongCodes     int
	lastWrong      time.Time
	lobbies        map[string]time.Time // match id -> created at
	sockets        int
	seen           time.Time
}

// maxClients bounds the table; above it idle addresses are forgotten.
const maxClients = 50_000

func newClientLimits(cfg config.Limits, lobbyLife time.Duration) *clientLimits {
	l := &clientLimits{cfg: cfg, lobbyLife: lobbyLife, now: time.Now,
		clients: map[netip.Prefix]*clientState{}, seats: map[string]int{}}
	for _, s := range cfg.TrustedProxies {
		if p, err := config.ParseProxy(s); err == nil { // Validate refused the others
			l.proxies = append(l.proxies, p)
		}
	}
	return l
}

func (l *clientLimits) trusted(ip netip.Addr) bool {
	for _, p := range l.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientAddr is the address limits count by: the peer's IP or, when the
// peer is a trusted proxy, the last X-Forwarded-For address that is not
// (the ones before it are the client's to write). IPv6 counts by /64,
// what one subscriber usually gets.
func (l *clientLimits) clientAddr(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	if len(l.proxies) > 0 && l.trusted(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // garbage: stop at the last address we could trust
			}
			ip = hop.Unmap()
			if !l.trusted(ip) {
				break
			}
		}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// client returns the state of addr, creating it. Callers hold l.mu.
func (l *clientLimits) client(addr netip.Prefix, now time.Time) *clientState {
	c := l.clients[addr]
	if c == nil {
		if len(l.clients) >= maxClients {
			l.sweep(now)
		}
		c = &clientState{lobbies: map[string]time.Time{}}
		if l.cfg.CreatesPerMinute > 0 {
			c.creates = rate.NewLimiter(rate.Limit(float64(l.cfg.CreatesPerMinute)/60), l.cfg.CreateBurst)
		}
		if l.cfg.JoinsPerMinute > 0 {
			c.joins = rate.NewLimiter(rate.Limit(float64(l.cfg.JoinsPerMinute)/60), l.cfg.JoinBurst)
		}
		l.clients[addr] = c
	}
	c.seen = now
	return c
}

// sweep forgets addresses that hold nothing and were last seen long enough
// ago that their buckets are full again.
func (l *clientLimits) sweep(now time.Time) {
	idle := max(l.cfg.CodeFailureMemory, time.Minute)
	for addr, c := range l.clients {
		if c.sockets == 0 && now.Sub(c.seen) > idle {
			delete(l.clients, addr)
		}
	}
	if len(l.clients) < maxClients {
		return
	}
	// Still full (a flood of fresh addresses): drop those without sockets.
	for addr, c := range l.clients {
		if c.sockets == 0 {
			delete(l.clients, addr)
		}
	}
}

// tooMany is a 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, code, msg string) *apiError {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &apiError{Status: http.StatusTooManyRequests, Code: code, Message: msg}
}

// take takes a token of lim, or says how long until one is there.
func take(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	if lim == nil {
		return 0, true
	}
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Minute, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// admitCreate checks a POST /api/matches of r's address: its creation rate,
// and for a private lobby the lobbies it has open (open reports whether a
// match is still an unstarted lobby).
func (l *clientLimits) admitCreate(w http.ResponseWriter, r *http.Request, private bool, open func(matchID string) bool) *apiError {
	now := l.now()
	l.mu.Lock()
	c := l.client(l.clientAddr(r), now)
	if private && l.cfg.LobbiesPerAddress > 0 {
		for id, at := range c.lobbies {
			if now.Sub(at) > l.lobbyLife || !open(id) {
				delete(c.lobbies, id)
			}
		}
		if len(c.lobbies) >= l.cfg.LobbiesPerAddress {
			l.mu.Unlock()
			return tooMany(w, time.Minute, "too_many_lobbies",
				fmt.Sprintf("You have %d lobbies waiting to start. Start or leave one before opening another.", len(c.lobbies)))
		}
	}
	wait, ok := take(c.creates, now)
	l.mu.Unlock()
	if !ok {
		return tooMany(w, wait, "rate_limited", "Too many new matches from your network. Please wait a moment.")
	}
	return nil
}

// created remembers a private lobby r's address opened.
func (l *clientLimits) created(r *http.Request, matchID string) {
	if l.cfg.LobbiesPerAddress == 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.client(l.clientAddr(r), now).lobbies[matchID] = now
}

// codeWait is how long an address with n wrong codes waits between
// attempts: nothing for the first CodeFreeFailures, then CodeFailureDelay
// doubling per wrong code, up to CodeFailureMaxDelay.
func (l *clientLimits) codeWait(n int) time.Duration {
	extra := n - l.cfg.CodeFreeFailures
	if extra < 0 || l.cfg.CodeFailureDelay <= 0 {
		return 0
	}
	d := l.cfg.CodeFailureDelay
	for range min(extra, 30) {
		d *= 2
		if d >= l.cfg.CodeFailureMaxDelay {
			return l.cfg.CodeFailureMaxDelay
		}
	}
	return d
}

// codeRefusal is the wait c's wrong invite codes have earned, as a 429, or
// nil. Callers hold l.mu.
func (l *clientLimits) codeRefusal(w http.ResponseWriter, c *clientState, now time.Time) *apiError {
	if c.wrongCodes > 0 && now.Sub(c.lastWrong) > l.cfg.CodeFailureMemory {
		c.wrongCodes = 0
	}
	if c.wrongCodes > 0 {
		if wait := c.lastWrong.Add(l.codeWait(c.wrongCodes - 1)).Sub(now); wait > 0 {
			return tooMany(w, wait, "rate_limited", "Too many wrong invite codes. Please wait before trying another.")
		}
	}
	return nil
}

// admitCode checks a look-up of an invite code by r's address (GET
// /api/invite/{code}, its QR): only the wait its wrong codes have earned,
// so a look-up is no way around the guard of POST /api/join.
func (l *clientLimits) admitCode(w http.ResponseWriter, r *http.Request) *apiError {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codeRefusal(w, l.client(l.clientAddr(r), now), now)
}

// admitJoin checks a POST /api/join of r's address: its join rate, and the
// wait its wrong invite codes have earned.
func (l *clientLimits) admitJoin(w http.ResponseWriter, r *http.Request) *apiError {
	now := l.now()
	l.mu.Lock()
	c := l.client(l.clientAddr(r), now)
	if e := l.codeRefusal(w, c, now); e != nil {
		l.mu.Unlock()
		return e
	}
	wait, ok := take(c.joins, now)
	l.mu.Unlock()
	if !ok {
		return tooMany(w, wait, "rate_limited", "Too many joins from your network. Please wait a moment.")
	}
	return nil
}

// codeResult counts a wrong invite code of r's address (a join or a
// look-up that found no match). A right one resets nothing: else a guesser
// could interleave its own lobby's code.
func (l *clientLimits) codeResult(r *http.Request, e *apiError) {
	if e == nil || e.Code != "not_found" {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.client(l.clientAddr(r), now)
	c.wrongCodes++
	c.lastWrong = now
}

// openSocket counts a WebSocket of r's address; release undoes it.
func (l *clientLimits) openSocket(w http.ResponseWriter, r *http.Request) (release func(), _ *apiError) {
	addr := l.clientAddr(r)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.client(addr, now)
	if l.cfg.SocketsPerAddress > 0 && c.sockets >= l.cfg.SocketsPerAddress {
		return nil, tooMany(w, 10*time.Second, "too_many_sockets", "Too many open game connections from your network.")
	}
	c.sockets++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		c.sockets--
	}), nil
}

// openSeat counts a WebSocket of a seat; false means the seat has
// SocketsPerSeat already.
func (l *clientLimits) openSeat(matchID, seat string) (release func(), ok bool) {
	key := matchID + "/" + seat
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.SocketsPerSeat > 0 && l.seats[key] >= l.cfg.SocketsPerSeat {
		return nil, false
	}
	l.seats[key]++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.seats[key]--; l.seats[key] <= 0 {
			delete(l.seats, key)
		}
	}), true
}

// seatOpen reports whether seat of matchID has a socket open here.
func (l *clientLimits) seatOpen(matchID, seat string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seats[matchID+"/"+seat] > 0
}

// errSeatSockets refuses a socket beyond sockets_per_seat.
var errSeatSockets = &apiError{Status: http.StatusTooManyRequests, Code: "too_many_sockets",
	Message: "This seat is open in too many tabs. Close one and reload."}

// openLobby reports whether a match is still a lobby nobody started (or
// not yet known here, just created).
func (g *Gateway) openLobby(matchID string) bool {
	e := g.store.entry(matchID)
	if e == nil {
		return true
	}
	lobby := false
	e.read(func(s *game.State) { lobby = s.Phase == events.PhaseLobby })
	return lobby
}

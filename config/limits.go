package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ParseProxy parses an entry of http.limits.trusted_proxies.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Timeouts of the HTTP server. A WebSocket is not bound by them: the
// server clears a connection's deadlines when it is upgraded.
type Timeouts struct {
	ReadHeader time.Duration `mapstructure:"read_header"` // request line and headers
	Read       time.Duration `mapstructure:"read"`        // the whole request, body included
	Write      time.Duration `mapstructure:"write"`       // from the end of the headers to the end of the reply
	Idle       time.Duration `mapstructure:"idle"`        // a keep-alive connection between requests
}

// Limits bound what one client address may take. Numbers are per address
// unless said otherwise; 0 turns a limit off.
type Limits struct {
	// MaxConnections caps the process's open HTTP connections (sockets
	// included); above it a new connection is answered 503. It is also
	// kept below the process's file limit.
	MaxConnections int `mapstructure:"max_connections"`

	CreatesPerMinute int `mapstructure:"creates_per_minute"` // POST /api/matches
	CreateBurst      int `mapstructure:"create_burst"`
	JoinsPerMinute   int `mapstructure:"joins_per_minute"` // POST /api/join
	JoinBurst        int `mapstructure:"join_burst"`

	// Invite codes: after CodeFreeFailures wrong codes, each further
	// attempt waits CodeFailureDelay, doubling per wrong code up to
	// CodeFailureMaxDelay. Wrong codes are forgotten after
	// CodeFailureMemory without one.
	CodeFreeFailures    int           `mapstructure:"code_free_failures"`
	CodeFailureDelay    time.Duration `mapstructure:"code_failure_delay"`
	CodeFailureMaxDelay time.Duration `mapstructure:"code_failure_max_delay"`
	CodeFailureMemory   time.Duration `mapstructure:"code_failure_memory"`

	LobbiesPerAddress int `mapstructure:"lobbies_per_address"` // open (unstarted) lobbies created
	SocketsPerSeat    int `mapstructure:"sockets_per_seat"`    // WebSockets of one seat, from anywhere
	SocketsPerAddress int `mapstructure:"sockets_per_address"`

	// TrustedProxies are the load balancers and reverse proxies (IPs or
	// CIDRs) in front of arena: for a request from one of them, the
	// client's address is the last address in X-Forwarded-For that is not
	// itself a trusted proxy. Empty: the peer's address, always.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// defaultTimeouts are generous for a page, a JSON call or a slow phone,
// and short enough that a client dribbling a request frees its
// connection within seconds.
func defaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}
}

// defaultLimits suit a party game: a room of friends behind one home
// router shares one address, so the numbers allow a dozen players and a
// few tabs each, and stop a script long before it hurts.
func defaultLimits() Limits {
	return Limits{
		MaxConnections:      10000,
		CreatesPerMinute:    30,
		CreateBurst:         10,
		JoinsPerMinute:      60,
		JoinBurst:           20,
		CodeFreeFailures:    5,
		CodeFailureDelay:    time.Second,
		CodeFailureMaxDelay: time.Minute,
		CodeFailureMemory:   15 * time.Minute,
		LobbiesPerAddress:   10,
		SocketsPerSeat:      4,
		SocketsPerAddress:   100,
		TrustedProxies:      []string{},
	}
}

func (t Timeouts) validate() *FieldError {
	for _, f := range []struct {
		key string
		v   time.Duration
	}{{"http.timeouts.read_header", t.ReadHeader}, {"http.timeouts.read", t.Read}, {"http.timeouts.write", t.Write}, {"http.timeouts.idle", t.Idle}} {
		if f.v <= 0 {
			return fieldErr(f.key, "must be positive, got %s", f.v)
		}
	}
	return nil
}

func (l Limits) validate() *FieldError {
	for _, f := range []struct {
		key string
		v   int
	}{
		{"http.limits.max_connections", l.MaxConnections},
		{"http.limits.creates_per_minute", l.CreatesPerMinute},
		{"http.limits.create_burst", l.CreateBurst},
		{"http.limits.joins_per_minute", l.JoinsPerMinute},
		{"http.limits.join_burst", l.JoinBurst},
		{"http.limits.code_free_failures", l.CodeFreeFailures},
		{"http.limits.lobbies_per_address", l.LobbiesPerAddress},
		{"http.limits.sockets_per_seat", l.SocketsPerSeat},
		{"http.limits.sockets_per_address", l.SocketsPerAddress},
	} {
		if f.v < 0 {
			return fieldErr(f.key, "must be 0 (no limit) or more, got %d", f.v)
		}
	}
	if l.CreatesPerMinute > 0 && l.CreateBurst == 0 {
		return fieldErr("http.limits.create_burst", "must be at least 1 when creates_per_minute is set")
	}
	if l.JoinsPerMinute > 0 && l.JoinBurst == 0 {
		return fieldErr("http.limits.join_burst", "must be at least 1 when joins_per_minute is set")
	}
	for _, f := range []struct {
		key string
		v   time.Duration
	}{{"http.limits.code_failure_delay", l.CodeFailureDelay}, {"http.limits.code_failure_max_delay", l.CodeFailureMaxDelay}, {"http.limits.code_failure_memory", l.CodeFailureMemory}} {
		if f.v < 0 {
			return fieldErr(f.key, "must not be negative, got %s", f.v)
		}
	}
	for i, p := range l.TrustedProxies {
		if _, err := ParseProxy(p); err != nil {
			return fieldErr(fmt.Sprintf("http.limits.trusted_proxies[%d]", i), "want an IP or a CIDR like 10.0.0.0/8, got %q", p)
		}
	}
	if l.CodeFailureMaxDelay < l.CodeFailureDelay {
		return fieldErr("http.limits.code_failure_max_delay", "must be at least code_failure_delay (%s), got %s", l.CodeFailureDelay, l.CodeFailureMaxDelay)
	}
	return nil
}

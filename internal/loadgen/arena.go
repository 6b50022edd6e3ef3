package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// arenaLoad drives matches through arena's public API and WebSocket, as
// browsers would, and measures them. Its methods are safe for concurrent
// use; each match runs in its own goroutines.
type arenaLoad struct {
	base   *url.URL
	http   *http.Client
	humans int
	think  time.Duration
	limit  time.Duration // one match's time limit

	latency  Latencies
	started  atomic.Int64 // matches begun
	finished atomic.Int64 // matches seen to the reveal by all their players
	failed   atomic.Int64
	actions  atomic.Int64 // answers and votes sent
	refused  atomic.Int64 // error frames received
	firstErr atomic.Pointer[string]
}

func newArenaLoad(target string, humans int, think, limit time.Duration) (*arenaLoad, error) {
	u, err := url.Parse(strings.TrimSuffix(target, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("target %q: want a URL like http://127.0.0.1:8080", target)
	}
	return &arenaLoad{base: u, http: newHTTPClient(), humans: humans, think: think, limit: limit}, nil
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 1024
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// noteErr keeps the first error for the report.
func (a *arenaLoad) noteErr(err error) {
	s := err.Error()
	a.firstErr.CompareAndSwap(nil, &s)
}

// seatReply is the reply of create and join.
type seatReply struct {
	MatchID string `json:"matchId"`
	Code    string `json:"code"`
	Seat    string `json:"seat"`
	Token   string `json:"token"`
}

func (a *arenaLoad) post(ctx context.Context, path string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base.String()+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, strings.TrimSpace(buf.String()))
	}
	return json.Unmarshal(buf.Bytes(), out)
}

// seatUp creates a private match for a.humans players and seats them all.
func (a *arenaLoad) seatUp(ctx context.Context, n int) ([]seatReply, error) {
	seats := make([]seatReply, 0, a.humans)
	var host seatReply
	if err := a.post(ctx, "/api/matches", map[string]any{"name": fmt.Sprintf("bench-%d", n), "mode": "private", "humans": a.humans}, &host); err != nil {
		return nil, err
	}
	seats = append(seats, host)
	for i := 1; i < a.humans; i++ {
		var s seatReply
		if err := a.post(ctx, "/api/join", map[string]any{"code": host.Code, "name": fmt.Sprintf("bench-%d-%d", n, i)}, &s); err != nil {
			return nil, err
		}
		seats = append(seats, s)
	}
	return seats, nil
}

func (a *arenaLoad) dial(ctx context.Context, s seatReply) (*websocket.Conn, error) {
	u := *a.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/ws"
	u.RawQuery = url.Values{"match": {s.MatchID}, "token": {s.Token}}.Encode()
	c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: a.http})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.MatchID, err)
	}
	c.SetReadLimit(4 << 20) // a finished match's view carries its whole timeline
	return c, nil
}

// view is the part of a VIEW the simulated players look at.
type view struct {
	Phase   string `json:"phase"`
	Round   int    `json:"round"`
	You     string `json:"you"`
	Version int    `json:"version"`
	Seats   []struct {
		Seat     string `json:"seat"`
		Answered bool   `json:"answered"`
		Voted    bool   `json:"voted"`
	} `json:"seats"`
}

type serverFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
	State   *view  `json:"state"`
}

// action is a player's answer or vote on its way to every player's screen.
type action struct {
	kind  string // answer or vote
	seat  string
	round int
	sent  time.Time
	seen  []bool // by player index
	left  int    // players that have not seen it yet
}

// shows reports whether v already reflects act: the seat's answer or vote
// is marked, or the match has moved past it.
func (v *view) shows(act *action) bool {
	if v.Round != act.round {
		return v.Round > act.round
	}
	mark := func(answered bool) bool {
		for _, s := range v.Seats {
			if s.Seat == act.seat {
				if answered {
					return s.Answered
				}
				return s.Voted
			}
		}
		return false
	}
	switch act.kind {
	case "answer":
		return v.Phase != "answering" || mark(true)
	default:
		return v.Phase == "results" || v.Phase == "finished" || (v.Phase == "voting" && mark(false))
	}
}

// match is one match in play and its players' shared bookkeeping.
type match struct {
	a       *arenaLoad
	mu      sync.Mutex
	pending []*action
}

// observe is called with every view player i receives, at time at.
func (m *match) observe(i int, v *view, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.pending[:0]
	for _, act := range m.pending {
		if !act.seen[i] && v.shows(act) {
			act.seen[i] = true
			act.left--
		}
		if act.left == 0 {
			m.a.latency.Add(at.Sub(act.sent))
			continue
		}
		kept = append(kept, act)
	}
	m.pending = kept
}

func (m *match) track(act *action) {
	m.mu.Lock()
	m.pending = append(m.pending, act)
	m.mu.Unlock()
}

// play runs one whole match: seats, sockets, start, every round's answers
// and votes, until every player has seen the reveal.
func (a *arenaLoad) play(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, a.limit)
	defer cancel()
	a.started.Add(1)
	seats, err := a.seatUp(ctx, n)
	if err != nil {
		return err
	}
	m := &match{a: a}
	conns := make([]*websocket.Conn, len(seats))
	for i, s := range seats {
		c, err := a.dial(ctx, s)
		if err != nil {
			for _, c := range conns[:i] {
				c.CloseNow()
			}
			return err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	// Every player must be connected before the host starts, or a late
	// socket would miss nothing but our latency samples would be skewed.
	var wg sync.WaitGroup
	errs := make(chan error, len(seats))
	ready := make(chan struct{}, len(seats))
	startNow := make(chan struct{})
	for i := range seats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.player(ctx, m, i, len(seats), conns[i], ready, startNow); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	for range seats {
		select {
		case <-ready:
		case <-ctx.Done():
		}
	}
	close(startNow)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for _, c := range conns {
		_ = c.Close(websocket.StatusNormalClosure, "match over")
	}
	return nil
}

// player is one simulated human: it answers each round and votes for a
// random other seat after a random think time, until the reveal.
func (a *arenaLoad) player(ctx context.Context, m *match, i, players int, c *websocket.Conn, ready chan<- struct{}, startNow <-chan struct{}) error {
	var (
		writeMu   sync.Mutex
		answered  = map[int]bool{}
		voted     = map[int]bool{}
		signalled bool
		rng       = rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))
	)
	send := func(v any) error {
		b, _ := json.Marshal(v)
		writeMu.Lock()
		defer writeMu.Unlock()
		return c.Write(ctx, websocket.MessageText, b)
	}
	act := func(kind, seat string, round int, frame map[string]any) {
		wait := time.Duration(0)
		if a.think > 0 {
			wait = rand.N(a.think)
		}
		go func() {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			// The sample starts just before the frame leaves.
			act := &action{kind: kind, seat: seat, round: round, seen: make([]bool, players), left: players, sent: time.Now()}
			m.track(act)
			if err := send(frame); err == nil {
				a.actions.Add(1)
			}
		}()
	}
	if i == 0 {
		go func() {
			select {
			case <-startNow:
				_ = send(map[string]any{"type": "start", "id": "start"})
			case <-ctx.Done():
			}
		}()
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("player %d: read: %w", i, err)
		}
		at := time.Now()
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("player %d: bad frame: %w", i, err)
		}
		switch f.Type {
		case "error":
			a.refused.Add(1)
			a.noteErr(fmt.Errorf("error frame %s: %s", f.Code, f.Message))
			continue
		case "state":
		default:
			continue
		}
		v := f.State
		if v == nil {
			continue
		}
		if !signalled {
			signalled = true
			ready <- struct{}{}
		}
		m.observe(i, v, at)
		switch v.Phase {
		case "answering":
			if !answered[v.Round] {
				answered[v.Round] = true
				text := "bench answer " + strconv.Itoa(v.Round) + " from " + v.You
				act("answer", v.You, v.Round, map[string]any{"type": "answer", "id": "a" + strconv.Itoa(v.Round), "round": v.Round, "text": text})
			}
		case "voting":
			if !voted[v.Round] {
				var others []string
				for _, s := range v.Seats {
					if s.Seat != v.You {
						others = append(others, s.Seat)
					}
				}
				if len(others) > 0 {
					voted[v.Round] = true
					pick := others[rng.IntN(len(others))]
					act("vote", v.You, v.Round, map[string]any{"type": "vote", "id": "v" + strconv.Itoa(v.Round), "round": v.Round, "seat": pick})
				}
			}
		case "finished":
			return nil
		}
	}
}

// run keeps `matches` matches in play until stopAt, each worker starting a
// new match when its last one ends, and returns when the last one ends.
func (a *arenaLoad) run(ctx context.Context, matches int, ramp time.Duration, stopAt time.Time) {
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range matches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ramp > 0 {
				select {
				case <-time.After(ramp * time.Duration(w) / time.Duration(matches)):
				case <-ctx.Done():
					return
				}
			}
			for {
				if err := a.play(ctx, int(seq.Add(1))); err != nil {
					if ctx.Err() != nil {
						return
					}
					a.failed.Add(1)
					a.noteErr(err)
				} else {
					a.finished.Add(1)
				}
				if time.Now().After(stopAt) || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

var errNoMatches = errors.New("no match was completed")

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/game"
)

// seated is the reply of create and join.
type seated struct {
	MatchID string `json:"matchId"`
	Code    string `json:"code"`
	Seat    string `json:"seat"`
	Token   string `json:"token"`
}

// postJSON posts body to url with an optional bearer token and decodes the
// reply into out; it returns the status.
func postJSON(t *testing.T, url, token string, body any, out any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: %v: %s", url, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

// player is a human at a browser: a seat and a WebSocket on one gateway.
type player struct {
	t     *testing.T
	name  string
	base  string // the gateway this player uses
	seat  seated
	conn  *websocket.Conn
	mu    sync.Mutex
	view  game.View
	acks  map[string]bool
	errs  []string // error frames, as "id:code"
	wake  chan struct{}
	ctx   context.Context
	close context.CancelFunc
}

// connect opens the player's socket and follows its frames.
func (p *player) connect() {
	t := p.t
	t.Helper()
	p.acks = map[string]bool{}
	p.wake = make(chan struct{}, 1)
	p.ctx, p.close = context.WithCancel(context.Background())
	u := strings.Replace(p.base, "http://", "ws://", 1) + "/ws?match=" + url.QueryEscape(p.seat.MatchID) + "&token=" + url.QueryEscape(p.seat.Token)
	dctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, u, nil)
	if err != nil {
		t.Fatalf("%s: dial: %v", p.name, err)
	}
	c.SetReadLimit(1 << 20)
	p.conn = c
	t.Cleanup(func() { p.close(); c.CloseNow() })
	go p.read()
}

func (p *player) read() {
	for {
		_, data, err := p.conn.Read(p.ctx)
		if err != nil {
			return
		}
		var f struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Code  string          `json:"code"`
			State json.RawMessage `json:"state"`
		}
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		p.mu.Lock()
		switch f.Type {
		case "state":
			var v game.View
			if json.Unmarshal(f.State, &v) == nil && v.Version >= p.view.Version {
				p.view = v
			}
		case "ack":
			p.acks[f.ID] = true
		case "error":
			p.errs = append(p.errs, f.ID+":"+f.Code)
		}
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// current returns the newest view pushed to the player.
func (p *player) current() game.View {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.view
}

// await waits until cond holds for the newest view.
func (p *player) await(limit time.Duration, what string, cond func(game.View) bool) game.View {
	p.t.Helper()
	deadline := time.After(limit)
	for {
		v := p.current()
		if cond(v) {
			return v
		}
		select {
		case <-p.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			p.t.Fatalf("%s: timed out after %s waiting for %s; view: phase %s round %d seats %+v; errors %v",
				p.name, limit, what, v.Phase, v.Round, v.Seats, p.errors())
		}
	}
}

func (p *player) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errs)
}

// act sends a frame with an id and waits for its ack; an error frame for
// the id fails the test.
func (p *player) act(frame map[string]any) {
	p.t.Helper()
	id := frame["id"].(string)
	b, _ := json.Marshal(frame)
	if err := p.conn.Write(p.ctx, websocket.MessageText, b); err != nil {
		p.t.Fatalf("%s: write: %v", p.name, err)
	}
	deadline := time.After(15 * time.Second)
	for {
		p.mu.Lock()
		acked := p.acks[id]
		var refused string
		for _, e := range p.errs {
			if strings.HasPrefix(e, id+":") {
				refused = e
			}
		}
		p.mu.Unlock()
		if acked {
			return
		}
		if refused != "" {
			p.t.Fatalf("%s: frame %s refused: %s", p.name, b, refused)
		}
		select {
		case <-p.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			p.t.Fatalf("%s: no ack for %s", p.name, b)
		}
	}
}

// createPrivate creates a private match for two humans on base.
func createPrivate(t *testing.T, base, name string, humans int) *player {
	t.Helper()
	p := &player{t: t, name: name, base: base}
	code, body := postJSON(t, base+"/api/matches", "", map[string]any{"name": name, "mode": "private", "humans": humans}, &p.seat)
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	return p
}

// joinByCode joins the match with invite code on base, retrying while the
// code has not reached this gateway yet.
func joinByCode(t *testing.T, base, name, code string) *player {
	t.Helper()
	p := &player{t: t, name: name, base: base}
	var last string
	waitFor(t, 15*time.Second, name+" joining "+code, func() bool {
		status, body := postJSON(t, base+"/api/join", "", map[string]any{"name": name, "code": code}, &p.seat)
		last = fmt.Sprint(status, " ", body)
		return status/100 == 2
	})
	if p.seat.Token == "" {
		t.Fatalf("join: %s", last)
	}
	return p
}

package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// codeReply is what a code look-up or a join answers, 200 or not.
type codeReply struct {
	status int
	retry  string
	raw    []byte
	fields map[string]any
}

func (c codeReply) str(k string) string { s, _ := c.fields[k].(string); return s }

// send makes a request from p's address and reads its JSON reply.
func (p *peer) send(method, path string, body any) codeReply {
	p.h.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, p.h.srv.URL+path, rd)
	if err != nil {
		p.h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := p.http.Do(req)
	if err != nil {
		p.h.t.Fatalf("%s %s from %s: %v", method, path, p.ip, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := codeReply{status: res.StatusCode, retry: res.Header.Get("Retry-After"), raw: raw}
	if res.Header.Get("Content-Type") == "application/json; charset=utf-8" {
		if err := json.Unmarshal(raw, &r.fields); err != nil {
			p.h.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return r
}

// TestWatchByCode: the invite code tells its match id to whoever has it, in
// the lobby and once it started or finished (the join page's "Watch"), and
// POST /api/join's already_started refusal carries it too; an unknown code
// is a 404 that counts as a wrong guess, so a look-up is no way around the
// code guard of joins.
func TestWatchByCode(t *testing.T) {
	h, clock := limitedHarness(t, func(l *config.Limits) {
		l.CodeFreeFailures, l.CodeFailureDelay, l.CodeFailureMaxDelay = 1, time.Second, 4*time.Second
	})
	host := h.create("Ann", "private", 2)
	guest, guesser := h.peer("127.0.0.2"), h.peer("127.0.0.3")
	invite := "/api/invite/" + host.Code

	// In the lobby: the id, for "Watch instead".
	if r := guest.send("GET", invite, nil); r.status != 200 || r.str("matchId") != host.MatchID || r.str("code") != host.Code {
		t.Fatalf("invite of a lobby: %d %s, want 200 with matchId %s", r.status, r.raw, host.MatchID)
	}

	h.join(host.Code, "Bob")
	h.start(host)
	h.state(host.MatchID, func(s *game.State) bool { return s.Phase != events.PhaseLobby })

	// Started: the look-up and the join are refused with the id, and the
	// error keeps its shape (code and message, plus matchId).
	started := func(when string) {
		t.Helper()
		for _, r := range []codeReply{
			guest.send("GET", invite, nil),
			guest.send("POST", "/api/join", map[string]string{"code": host.Code, "name": "Cy"}),
		} {
			if r.status != http.StatusConflict || r.str("code") != "already_started" || r.str("message") == "" || r.str("matchId") != host.MatchID {
				t.Fatalf("%s: %d %s, want 409 already_started with matchId %s", when, r.status, r.raw, host.MatchID)
			}
			keys := make([]string, 0, len(r.fields))
			for k := range r.fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := []string{"code", "matchId", "message"}; !slices.Equal(keys, want) {
				t.Fatalf("%s: error fields %v, want %v", when, keys, want)
			}
		}
	}
	started("started")
	// The id is the spectator's: its public view answers.
	if r := guest.send("GET", "/api/matches/"+host.MatchID, nil); r.status != 200 || r.str("phase") == "" {
		t.Fatalf("spectator view of %s: %d %s", host.MatchID, r.status, r.raw)
	}

	// Unknown code: a 404 with no id, and a wrong guess. With one free
	// failure, the second wrong code makes the next look-up (and the next
	// join) wait, even with the right code.
	if r := guesser.send("GET", "/api/invite/ZZZZZZ", nil); r.status != 404 || r.str("code") != "not_found" || r.str("matchId") != "" {
		t.Fatalf("unknown code: %d %s, want 404 not_found", r.status, r.raw)
	}
	if r := guesser.send("GET", "/join/ZZZZZY/qr.svg", nil); r.status != 404 || r.str("code") != "not_found" {
		t.Fatalf("QR of an unknown code: %d %s, want 404 not_found", r.status, r.raw)
	}
	for _, r := range []codeReply{
		guesser.send("GET", invite, nil),
		guesser.send("GET", "/join/"+host.Code+"/qr.svg", nil),
		guesser.send("POST", "/api/join", map[string]string{"code": host.Code, "name": "G"}),
	} {
		if r.status != http.StatusTooManyRequests || r.str("code") != "rate_limited" || r.retry != "1" || r.str("matchId") != "" {
			t.Fatalf("right code after two wrong look-ups: %d %s Retry-After %q, want 429 after 1 s", r.status, r.raw, r.retry)
		}
	}
	// The guesser's wait is its own: the guest still looks up at once.
	started("another address, while a guesser waits")
	clock.add(time.Second)
	if r := guesser.send("GET", invite, nil); r.status != http.StatusConflict || r.str("matchId") != host.MatchID {
		t.Fatalf("look-up after the wait: %d %s", r.status, r.raw)
	}
	// A third wrong code doubles the wait: the look-ups counted as guesses.
	guesser.send("GET", "/api/invite/ZZZZZX", nil)
	if r := guesser.send("GET", invite, nil); r.status != http.StatusTooManyRequests || r.retry != strconv.Itoa(2) {
		t.Fatalf("after a third wrong code: %d %s Retry-After %q, want 429 after 2 s", r.status, r.raw, r.retry)
	}

	// Finished: still watchable (the reveal) while the gateway holds it.
	h.publish(host.MatchID, &events.MatchEnded{Reason: events.EndAbandoned})
	h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseFinished })
	started("finished")

	// No look-up or refused join seated anyone.
	types := logTypes(h.readLog(host.MatchID))
	if n := len(slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s != events.TypePlayerJoined })); n != 2 {
		t.Errorf("match log %v has %d player.joined, want the 2 of Ann and Bob", types, n)
	}
}

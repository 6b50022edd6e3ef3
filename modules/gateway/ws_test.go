package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

func seatView(v *game.View, seat string) game.SeatView {
	for _, s := range v.Seats {
		if s.Seat == seat {
			return s
		}
	}
	return game.SeatView{}
}

// TestReconnect: a player who comes back with their token gets their seat
// and the current view, with what they did before the drop.
func TestReconnect(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	hc := h.connect(host)
	hc.answer(1, "first answer")
	hc.waitState(func(v *game.View) bool { return seatView(v, host.Seat).Answered })
	_ = hc.c.Close(websocket.StatusNormalClosure, "reload")
	<-hc.done

	gc := h.connect(guest)
	gc.act("typing", map[string]any{"round": 1})
	gc.waitState(func(v *game.View) bool { return seatView(v, guest.Seat).Typing })

	again := h.connect(host)
	v := again.lastState()
	if v.You != host.Seat || !v.Host || v.Phase != events.PhaseAnswering || v.Round != 1 || !seatView(v, host.Seat).Answered || !seatView(v, guest.Seat).Typing {
		t.Fatalf("view after reconnecting %+v: want seat %s as host, round 1 answered, guest typing", v, host.Seat)
	}
	// The seat is the same one: answering again is refused as a repeat.
	again.send(map[string]any{"type": "answer", "id": "x", "round": 1, "text": "second"})
	again.expectError(game.CodeAlreadyAnswered, "x")

	// A second tab of the same player gets the same views.
	tab := h.connect(host)
	gc.answer(1, "guest answer")
	for _, c := range []*client{again, tab} {
		c.waitState(func(v *game.View) bool { return seatView(v, guest.Seat).Answered })
	}
}

// TestBadFrames sends every kind of bad frame: each gets an error frame
// with its code and a message, the socket stays usable, and the match log
// only gains the valid actions sent in between.
func TestBadFrames(t *testing.T) {
	h := newHarness(t, nil)
	h.g.frameBurst = 1000 // this test sends fast on purpose; TestFlood covers the limit
	host, guest := h.privateMatch()
	id := host.MatchID
	hc, gc := h.connect(host), h.connect(guest)
	before := h.readLog(id)

	type bad struct {
		name  string
		frame any // string, []byte or a value to encode
		code  string
		id    string
	}
	run := func(cases []bad) {
		t.Helper()
		for _, c := range cases {
			hc.send(c.frame)
			f := hc.next()
			if f.Type != "error" || f.Code != c.code || f.ID != c.id || f.Message == "" {
				t.Errorf("%s: got %s, want error %q (id %q) with a message", c.name, f.Raw, c.code, c.id)
			}
		}
	}
	long := strings.Repeat("é", 281)
	run([]bad{
		{"malformed JSON", `{"type":"answer",`, codeBadJSON, ""},
		{"not an object", `[1,2]`, codeBadJSON, ""},
		{"wrong field type", `{"type":"answer","round":"1","text":"x"}`, codeBadJSON, ""},
		{"unknown type", map[string]any{"type": "cheat", "id": "u1"}, codeUnknownType, "u1"},
		{"no type", `{}`, codeUnknownType, ""},
		{"frame over the limit", `{"type":"answer","round":1,"text":"` + strings.Repeat("a", maxFrame) + `"}`, codeTooLarge, ""},
		{"invalid UTF-8", []byte("{\"type\":\"answer\",\"round\":1,\"text\":\"\xff\xfe\"}"), codeBadUTF8, ""},
		{"round ahead", map[string]any{"type": "answer", "id": "r2", "round": 2, "text": "x"}, game.CodeWrongRound, "r2"},
		{"no round", map[string]any{"type": "answer", "id": "r0", "text": "x"}, game.CodeWrongRound, "r0"},
		{"text over the limit", map[string]any{"type": "answer", "id": "long", "round": 1, "text": long}, game.CodeTooLong, "long"},
		{"empty answer", map[string]any{"type": "answer", "id": "e", "round": 1, "text": "  \n"}, game.CodeEmpty, "e"},
		{"vote while answering", map[string]any{"type": "vote", "id": "v", "round": 1, "seat": guest.Seat}, game.CodeWrongPhase, "v"},
		{"start again", map[string]any{"type": "start", "id": "s"}, game.CodeWrongPhase, "s"},
		{"typing ahead", map[string]any{"type": "typing", "id": "ty", "round": 2}, game.CodeWrongRound, "ty"},
	})
	// A binary frame.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := hc.c.Write(ctx, websocket.MessageBinary, []byte(`{"type":"typing","round":1}`)); err != nil {
		t.Fatal(err)
	}
	cancel()
	hc.expectError(codeBadFrame, "")

	// The frame names no seat: the token's seat acts, whatever "seat" says.
	hc.send(map[string]any{"type": "answer", "id": "a1", "round": 1, "text": "mine", "seat": guest.Seat, "voter": guest.Seat})
	hc.expectAck("a1")
	v := gc.waitState(func(v *game.View) bool { return seatView(v, host.Seat).Answered })
	if seatView(v, guest.Seat).Answered {
		t.Fatalf("an answer naming the guest's seat was taken as the guest's: %+v", v.Seats)
	}
	run([]bad{{"answer twice", map[string]any{"type": "answer", "id": "a2", "round": 1, "text": "again"}, game.CodeAlreadyAnswered, "a2"}})

	gc.answer(1, "guest")
	h.robotsAnswer(id, 1)
	hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseVoting })
	run([]bad{
		{"vote for yourself", map[string]any{"type": "vote", "id": "self", "round": 1, "seat": host.Seat}, game.CodeSelfVote, "self"},
		{"vote for an empty seat", map[string]any{"type": "vote", "id": "z", "round": 1, "seat": "Z"}, game.CodeUnknownSeat, "z"},
		{"vote for no seat", map[string]any{"type": "vote", "id": "n", "round": 1}, game.CodeUnknownSeat, "n"},
		{"vote for a lowercase seat", map[string]any{"type": "vote", "id": "lc", "round": 1, "seat": strings.ToLower(guest.Seat)}, game.CodeUnknownSeat, "lc"},
		{"vote in a round ahead", map[string]any{"type": "vote", "id": "r2", "round": 2, "seat": guest.Seat}, game.CodeWrongRound, "r2"},
		{"answer after the window", map[string]any{"type": "answer", "id": "late", "round": 1, "text": "late"}, game.CodeLate, "late"},
	})
	hc.vote(1, guest.Seat)
	run([]bad{{"vote twice", map[string]any{"type": "vote", "id": "v2", "round": 1, "seat": guest.Seat}, game.CodeAlreadyVoted, "v2"}})

	h.publish(id, &events.DeadlineReached{Phase: events.PhaseVoting, Round: 1})
	hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseResults })
	run([]bad{{"vote after the window", map[string]any{"type": "vote", "id": "lv", "round": 1, "seat": guest.Seat}, game.CodeLate, "lv"}})

	// The log holds what was accepted and nothing of the refusals.
	after := h.readLog(id)
	var added []string
	for _, e := range after[len(before):] {
		if e.Source == events.SourceGateway {
			added = append(added, e.Type)
		}
	}
	want := []string{events.TypeAnswerSubmitted, events.TypeAnswerSubmitted, events.TypeVoteCast}
	if !slices.Equal(added, want) {
		t.Errorf("the gateway added %v to the match log, want %v", added, want)
	}
	// The socket survived all of it.
	h.publish(id, &events.RoundStarted{Round: 2})
	hc.waitState(func(v *game.View) bool { return v.Round == 2 })
	hc.answer(2, "still here")
}

// TestRetryWithSameID: a client that resends an action after a lost ack
// gets an ack again and the log folds it once.
func TestRetryWithSameID(t *testing.T) {
	h := newHarness(t, nil)
	host, _ := h.privateMatch()
	hc := h.connect(host)
	f := map[string]any{"type": "answer", "id": "once", "round": 1, "text": "same"}
	hc.send(f)
	hc.expectAck("once")
	hc.send(f)
	f2 := hc.next()
	if f2.Type != "ack" && (f2.Type != "error" || f2.Code != game.CodeAlreadyAnswered) {
		t.Fatalf("a resent action got %s, want an ack or already_answered", f2.Raw)
	}
	s := h.state(host.MatchID, func(s *game.State) bool { return len(s.CurrentRound().Answers) == 1 })
	if n := len(s.Rejections); n != 0 {
		t.Errorf("the resent action was folded as a new fact: %+v", s.Rejections)
	}
}

// TestSocketAuth: only a seat's own token opens a socket for it.
func TestSocketAuth(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create("Ann", "private", 0)
	b := h.create("Bob", "private", 0)
	cases := []struct{ name, match, token, code string }{
		{"another match's token", a.MatchID, b.Token, "forbidden"},
		{"a made-up token", a.MatchID, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "forbidden"},
		{"no token", a.MatchID, "", "unauthorized"},
		{"unknown match", "nosuchmatch", a.Token, "not_found"},
		{"no match", "", a.Token, "not_found"},
	}
	for _, c := range cases {
		cl, _, err := h.dial(c.match, c.token, "")
		if err != nil {
			t.Fatalf("%s: dial: %v", c.name, err)
		}
		code, reason := cl.closed()
		if code != websocket.StatusPolicyViolation || reason == "" {
			t.Errorf("%s: closed with %v %q, want a policy violation with a reason", c.name, code, reason)
		}
		got := cl.received()
		if len(got) != 1 || got[0].Type != "error" || got[0].Code != c.code || got[0].Message == "" {
			t.Errorf("%s: got frames %+v, want only an error %q with a message", c.name, got, c.code)
		}
	}
	if n := h.metricValue("arena_ws_connections", nil); n != 0 {
		t.Errorf("%v connections counted after refusals", n)
	}
}

// TestOrigin: browsers may only open sockets from the page's own host or
// http.allowed_origins.
func TestOrigin(t *testing.T) {
	h := newHarness(t, nil) // allows good.example
	r := h.create("Ann", "private", 0)
	for _, bad := range []string{"http://evil.example", "https://good.example.evil.example", "null"} {
		_, res, err := h.dial(r.MatchID, r.Token, bad)
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %s: got %v (%v), want 403", bad, res, err)
		}
	}
	for _, good := range []string{"http://good.example", "https://GOOD.example", h.srv.URL, ""} {
		c, _, err := h.dial(r.MatchID, r.Token, good)
		if err != nil {
			t.Errorf("Origin %q refused: %v", good, err)
			continue
		}
		c.waitState(func(v *game.View) bool { return v.You == r.Seat })
	}
}

// TestFlood: a client that floods is slowed (rate_limited) and then
// disconnected, while the other player of its match keeps playing.
func TestFlood(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	flooder, gc := h.connect(host), h.connect(guest)

	send := func(n int) (sent int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for ; sent < n; sent++ {
			if flooder.c.Write(ctx, websocket.MessageText, []byte(`{"type":"typing","round":1}`)) != nil {
				return sent
			}
		}
		return sent
	}
	limited := func() bool {
		return slices.ContainsFunc(flooder.received(), func(f frame) bool { return f.Code == codeRateLimited })
	}
	send(rateBurst + 30)
	eventually(t, "the flooder is told to slow down", limited)

	// Meanwhile the other player acts and sees the match move.
	gc.answer(1, "not stalled")
	gc.waitState(func(v *game.View) bool { return seatView(v, guest.Seat).Answered })

	for !isDone(flooder) && send(100) == 100 {
	}
	code, reason := flooder.closed()
	if code != websocket.StatusPolicyViolation || reason != "too many messages" {
		t.Fatalf("flooder closed with %v %q, want a policy violation", code, reason)
	}
	if n := len(h.readLog(host.MatchID)); n > 8 {
		t.Errorf("the flood reached the match log: %d events", n)
	}
	// The match goes on without the flooder.
	h.publish(host.MatchID, &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1})
	gc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseVoting })
}

func isDone(c *client) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// TestPlayerViewsHideHumans plays a match over sockets and checks every
// frame each player received before the reveal.
func TestPlayerViewsHideHumans(t *testing.T) {
	h := newHarness(t, nil)
	host := h.create("Ann Host", "private", 2)
	hc := h.connect(host)
	guest := h.join(host.Code, "Bob Guest")
	gc := h.connect(guest)
	hc.waitState(func(v *game.View) bool { return v.Joined == 2 })
	gc.send(map[string]any{"type": "start", "id": "g"})
	gc.expectError(game.CodeNotHost, "g")
	hc.act("start", nil)
	id := host.MatchID
	for round := 1; round <= 2; round++ {
		hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseAnswering && v.Round == round })
		hc.act("typing", map[string]any{"round": round})
		hc.answer(round, "round answer")
		gc.answer(round, "guest answer")
		h.robotsAnswer(id, round)
		v := hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseVoting })
		hc.vote(round, other(h.g.store.get(id), host.Seat))
		gc.vote(round, other(h.g.store.get(id), guest.Seat))
		s := h.g.store.get(id)
		h.robotsVote(id, round, func(voter string) string { return other(s, voter) })
		hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseResults && v.Round == round })
		if len(v.Answers) != 4*round {
			t.Errorf("voting view of round %d has answers %+v, want 4 a round", round, v.Answers)
		}
		h.publish(id, &events.DeadlineReached{Phase: events.PhaseResults, Round: round})
	}
	for _, c := range []*client{hc, gc} {
		v := c.waitState(func(v *game.View) bool { return v.Phase == events.PhaseFinished })
		if len(v.Reveal) != 4 || len(v.Scores) != 4 || len(v.Winners) == 0 {
			t.Errorf("final view %+v: want the reveal, scores and winners", v)
		}
	}
	hidden := secrets(h.g.store.get(id))
	// A private lobby names who joined to its players, in state.lobby only
	// (game.LobbyView: names and handles, never letters); the rest of the
	// view hides them as ever.
	withoutLobby := func(raw []byte) []byte {
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if st, ok := f["state"].(map[string]any); ok {
			delete(st, "lobby")
		}
		b, _ := json.Marshal(f)
		return b
	}
	for who, c := range map[string]*client{"host": hc, "guest": gc} {
		n := 0
		for _, f := range c.received() {
			if f.Type == "state" && f.State.Phase == events.PhaseLobby {
				assertHidden(t, who+"'s lobby view", withoutLobby(f.Raw), hidden)
				n++
			} else if f.Type == "state" && f.State.Phase != events.PhaseFinished {
				assertHidden(t, who+"'s "+f.State.Phase+" view", f.Raw, hidden)
				n++
			}
		}
		if n < 8 {
			t.Errorf("%s got only %d views before the reveal", who, n)
		}
	}
}

// TestTwoInstances: players of one match on two gateways see each other.
func TestTwoInstances(t *testing.T) {
	h1, h2 := newHarness(t, nil), newHarness(t, nil)
	host := h1.create("Ann", "private", 2)
	h2.state(host.MatchID, func(*game.State) bool { return true })
	guest := h2.join(host.Code, "Bob")
	hc, gc := h1.connect(host), h2.connect(guest)
	h1.start(host)
	gc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseAnswering })
	gc.answer(1, "from instance two")
	hc.waitState(func(v *game.View) bool { return seatView(v, guest.Seat).Answered })
	hc.answer(1, "from instance one")
	gc.waitState(func(v *game.View) bool { return seatView(v, host.Seat).Answered })
	// A token handed out by one instance opens a socket on the other at once.
	h2.connect(host)
}

// TestHugeFrame: a frame over the read limit is not read into memory: the
// socket is closed with "message too big".
func TestHugeFrame(t *testing.T) {
	h := newHarness(t, nil)
	r := h.create("Ann", "private", 0)
	c := h.connect(r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.c.Write(ctx, websocket.MessageText, []byte(`{"type":"answer","text":"`+strings.Repeat("a", readLimit)+`"}`))
	if code, _ := c.closed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("closed with %v, want StatusMessageTooBig", code)
	}
}

// TestDrain: stopping the gateway closes every socket with a reason and
// refuses new ones.
func TestDrain(t *testing.T) {
	h := newHarness(t, nil)
	r := h.create("Ann", "private", 0)
	c := h.connect(r)
	eventually(t, "the socket is counted", func() bool { return h.metricValue("arena_ws_connections", nil) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.closed(); code != websocket.StatusGoingAway || reason == "" {
		t.Fatalf("closed with %v %q, want going away with a reason", code, reason)
	}
	if _, res, err := h.dial(r.MatchID, r.Token, ""); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a socket opened while draining: %v %v", res, err)
	}
	h.expectError("GET", "/api/matches/"+r.MatchID, nil, "", http.StatusServiceUnavailable, "starting")
}

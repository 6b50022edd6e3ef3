package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// playerNamed is the lobby handle of the player with name in v, or "".
func playerNamed(v *game.View, name string) string {
	if v.Lobby == nil {
		return ""
	}
	for _, p := range v.Lobby.Players {
		if p.Name == name {
			return p.ID
		}
	}
	return ""
}

// TestHostControls: over the WebSocket the host of a private lobby sets
// rounds, windows and humans, kicks a player (whose token then opens
// nothing) and, on leaving, hands the lobby to the next player.
func TestHostControls(t *testing.T) {
	h := newHarness(t, nil)
	host := h.create("Ann Host", "private", 2)
	guest := h.join(host.Code, "Bob Guest")
	hc, gc := h.connect(host), h.connect(guest)
	v := gc.lastState() // connected after both joined: its first view has both
	if v.Lobby == nil || len(v.Lobby.Players) != 2 || !v.Lobby.Players[0].Host || v.Lobby.Players[0].Name != "Ann Host" || playerNamed(v, "Bob Guest") == "" {
		t.Fatalf("guest's lobby %+v: want Ann (host) and Bob by name", v.Lobby)
	}

	// Only the host, and only within bounds.
	gc.send(map[string]any{"type": "settings", "id": "g1", "rounds": 3, "answerSeconds": 30, "voteSeconds": 20, "humans": 3})
	gc.expectError(game.CodeNotHost, "g1")
	hc.send(map[string]any{"type": "settings", "id": "s0", "rounds": 99, "answerSeconds": 30, "voteSeconds": 20, "humans": 3})
	hc.expectError(game.CodeBadSettings, "s0")
	hc.send(map[string]any{"type": "settings", "id": "s1", "rounds": 3, "answerSeconds": 30, "voteSeconds": 20, "humans": 3})
	hc.expectAck("s1")
	s := h.state(host.MatchID, func(s *game.State) bool { return s.Settings.Rounds == 3 })
	if c := s.Settings; c.AnswerWindowMs != 30_000 || c.VoteWindowMs != 20_000 || c.Humans != 3 || len(c.Prompts) != 3 {
		t.Fatalf("settings after the host's change: %+v", c)
	}
	if v := gc.waitState(func(v *game.View) bool { return v.Rounds == 3 }); v.Lobby.Humans != 3 || v.Lobby.AnswerWindowMs != 30_000 {
		t.Errorf("the guest's view does not show the new settings: %+v", v.Lobby)
	}
	if !containsType(h.readLog(host.MatchID), events.TypeMatchSettings) {
		t.Error("no match.settings in the log")
	}

	// A third player fits now; the host kicks them.
	third := h.join(host.Code, "Cy Third")
	tc := h.connect(third)
	v = hc.waitState(func(v *game.View) bool { return playerNamed(v, "Cy Third") != "" })
	gc.send(map[string]any{"type": "kick", "id": "g2", "player": playerNamed(v, "Cy Third")})
	gc.expectError(game.CodeNotHost, "g2")
	hc.send(map[string]any{"type": "kick", "id": "k1", "player": playerNamed(v, "Cy Third")})
	hc.expectAck("k1")
	if code, reason := tc.closed(); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "removed") {
		t.Errorf("the kicked player's socket closed with %v %q, want 1008 and why", code, reason)
	}
	if c, _, err := h.dial(third.MatchID, third.Token, ""); err == nil {
		c.expectError("forbidden", "")
	} else {
		t.Fatalf("dial: %v", err)
	}
	h.expectError("POST", "/api/matches/"+host.MatchID+"/start", nil, third.Token, http.StatusForbidden, "forbidden")

	// The host leaves: Bob is the host now and may start.
	hc.send(map[string]any{"type": "leave", "id": "l1"})
	if code, _ := hc.closed(); code != websocket.StatusPolicyViolation {
		t.Errorf("the leaving host's socket closed with %v, want 1008", code)
	}
	if v := gc.waitState(func(v *game.View) bool { return v.Host }); len(v.Lobby.Players) != 1 || !v.Lobby.Players[0].You {
		t.Errorf("after the host left, Bob's lobby: %+v", v.Lobby)
	}
	h.start(guest)
	s = h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering })
	if len(s.Seats) != 4 || humans(s) != 1 || s.Settings.Rounds != 3 {
		t.Errorf("started with %d seats, %d humans, %d rounds; want 4, 1, 3", len(s.Seats), humans(s), s.Settings.Rounds)
	}
	seen := map[string]bool{}
	for _, seat := range s.Seats {
		if seen[seat.Letter] {
			t.Errorf("letter %s given twice: %+v", seat.Letter, s.Seats)
		}
		seen[seat.Letter] = true
	}
}

// Host controls and leaving are for the lobby only.
func TestHostControlsOnlyInTheLobby(t *testing.T) {
	h := newHarness(t, nil)
	host := h.create("Ann Host", "private", 2)
	hc := h.connect(host)
	// A player who is not the host, in a private match that has started.
	h.start(host)
	h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering })
	hc.send(map[string]any{"type": "settings", "id": "s1", "rounds": 2, "answerSeconds": 30, "voteSeconds": 20, "humans": 2})
	hc.expectError(game.CodeWrongPhase, "s1")
	hc.send(map[string]any{"type": "leave", "id": "l1"})
	hc.expectError(game.CodeWrongPhase, "l1")
}

func containsType(evs []events.Envelope, typ string) bool {
	for _, e := range evs {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// TestHostAwayHandsTheLobbyOn: a host who closes the page and stays away
// hands the private lobby to the next player (host.away in the log), who
// may start it; a reload within the time hands nothing on, and the away
// host, back, is a guest with their seat.
func TestHostAwayHandsTheLobbyOn(t *testing.T) {
	h := newHarness(t, nil)
	h.g.hostAway = 600 * time.Millisecond
	host := h.create("Ann Host", "private", 2)
	guest := h.join(host.Code, "Bob Guest")
	hc, gc := h.connect(host), h.connect(guest)

	// A reload: the socket closes and a new one opens at once.
	_ = hc.c.Close(websocket.StatusGoingAway, "reload")
	hc = h.connect(host)
	time.Sleep(3 * h.g.hostAway)
	if containsType(h.readLog(host.MatchID), events.TypeHostAway) {
		t.Fatal("a reload handed the lobby on")
	}
	if v := hc.lastState(); !v.Host {
		t.Fatal("the host lost the lobby on a reload")
	}

	// The host closes the page for good.
	_ = hc.c.Close(websocket.StatusGoingAway, "tab closed")
	if v := gc.waitState(func(v *game.View) bool { return v.Host }); len(v.Lobby.Players) != 2 {
		t.Errorf("after the host went away, Bob's lobby: %+v", v.Lobby)
	}
	if !containsType(h.readLog(host.MatchID), events.TypeHostAway) {
		t.Error("no host.away in the log")
	}
	back := h.connect(host)
	if v := back.lastState(); v.Host || v.You != host.Seat {
		t.Errorf("Ann back: host %v, seat %s; want a guest in seat %s", v.Host, v.You, host.Seat)
	}
	h.start(guest)
	h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering && humans(s) == 2 })
}

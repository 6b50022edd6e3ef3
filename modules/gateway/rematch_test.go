package gateway

import (
	"net/http"
	"testing"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// TestRematchQuick: play again from a quick match is a quick match again
// (docs/game.md: "same mode"): no invite code, no host, and it starts on
// its own when its lobby wait runs out.
func TestRematchQuick(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Game.Humans = 2 })
	h.closeQuickLobbies()
	defer h.closeQuickLobbies()

	a := h.create("Ann", "quick", 0)
	b := h.create("Bob", "quick", 0)
	if a.MatchID != b.MatchID {
		t.Fatalf("quick play seated %+v and %+v apart", a, b)
	}
	h.publish(a.MatchID, &events.DeadlineReached{Phase: events.PhaseLobby})
	h.state(a.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering })
	h.playToEnd(a, b)

	path := "/api/matches/" + a.MatchID + "/rematch"
	var ra, rb seatReply
	if st, raw := h.call("POST", path, nil, a.Token, &ra); st != 200 {
		t.Fatalf("rematch: %d %s", st, raw)
	}
	if st, raw := h.call("POST", path, nil, b.Token, &rb); st != 200 {
		t.Fatalf("rematch: %d %s", st, raw)
	}
	if ra.MatchID == a.MatchID || ra.MatchID != rb.MatchID || ra.Seat == rb.Seat {
		t.Fatalf("rematch replies %+v and %+v: want one new match for both", ra, rb)
	}
	if ra.Code != "" || rb.Code != "" {
		t.Errorf("a quick rematch has an invite code: %+v %+v", ra, rb)
	}
	s := h.state(ra.MatchID, func(s *game.State) bool { return humans(s) == 2 })
	if s.Settings.Mode != events.ModeQuick || s.Settings.Previous != a.MatchID || s.Settings.Humans != 2 {
		t.Fatalf("rematch settings %+v: want a quick match of 2 humans after %s", s.Settings, a.MatchID)
	}
	// No host, no Start: the lobby starts on its own.
	c := h.connect(ra)
	if v := c.lastState(); v.Mode != events.ModeQuick || v.Host || v.Code != "" || v.Deadline == nil || v.Joined != 0 {
		t.Fatalf("quick rematch lobby view %+v: want quick, no host, no code, a deadline, no count", v)
	}
	h.expectError("POST", "/api/matches/"+ra.MatchID+"/start", nil, ra.Token, http.StatusForbidden, game.CodeNotHost)
	h.publish(ra.MatchID, &events.DeadlineReached{Phase: events.PhaseLobby})
	c.waitState(func(v *game.View) bool { return v.Phase == events.PhaseAnswering })
}

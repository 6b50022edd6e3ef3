package gateway

import (
	"testing"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// TestAudiencePick: a spectator picks while a round is voted on, once; the
// pick shows in the view once voting is over (modules/game checks that it
// changes no score).
func TestAudiencePick(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	id := host.MatchID
	hc, gc := h.connect(host), h.connect(guest)
	path := "/api/matches/" + id + "/audience"
	pick := func(seat string) map[string]any {
		return map[string]any{"round": 1, "seat": seat, "spectator": "browser-spectator-1"}
	}
	h.expectError("POST", path, pick(guest.Seat), "", 409, game.CodeWrongPhase)
	hc.answer(1, "hello")
	gc.answer(1, "hi there")
	h.robotsAnswer(id, 1)
	h.state(id, func(s *game.State) bool { return s.Phase == events.PhaseVoting })
	before := len(hc.received())
	if st, raw := h.call("POST", path, pick(guest.Seat), "", nil); st != 200 {
		t.Fatalf("audience pick: %d %s", st, raw)
	}
	h.expectError("POST", path, pick(host.Seat), "", 409, game.CodeAlreadyPicked)
	h.expectError("POST", path, map[string]any{"round": 1, "seat": "Z", "spectator": "browser-spectator-2"}, "", 409, game.CodeUnknownSeat)
	h.expectError("POST", path, map[string]any{"round": 1, "seat": host.Seat, "spectator": "x"}, "", 400, "bad_request")
	h.state(id, func(s *game.State) bool { return len(s.CurrentRound().AudienceVoted) == 1 })
	s := h.g.store.get(id)
	hc.vote(1, other(s, host.Seat))
	gc.vote(1, other(s, guest.Seat))
	h.robotsVote(id, 1, func(voter string) string { return other(s, voter) })
	v := hc.waitState(func(v *game.View) bool { return v.Phase == events.PhaseResults })
	if len(v.Audience) != 1 || v.Audience[0] != (game.AudiencePick{Round: 1, Seat: guest.Seat, Votes: 1}) {
		t.Errorf("results view's audience %+v, want 1 pick for %s", v.Audience, guest.Seat)
	}
	// The pick itself sent the players nothing: every frame after it shows
	// a player's or robot's action.
	for _, f := range hc.received()[before:] {
		if f.Type == "state" && f.State.Phase == events.PhaseVoting && len(f.State.Audience) > 0 {
			t.Errorf("a voting view shows the audience: %s", f.Raw)
		}
	}
}

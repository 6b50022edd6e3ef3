package gateway

import (
	"fmt"
	"slices"
	"testing"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/materializer"
)

// onModel makes every robot of the harness play on model, so that the
// stats rows of a test's matches can be told apart from other tests'.
func onModel(model string) func(*config.Config) {
	return func(c *config.Config) {
		c.LLM.Model = model
		for i := range c.Robots {
			c.Robots[i].Model = ""
		}
	}
}

// answerRound1 connects both humans of a started two-human match, and every
// seat answers round 1 (the humans with hostText and guestText). It returns
// the humans' clients and the match once it is voting.
func (h *harness) answerRound1(host, guest seatReply, hostText, guestText string) (hc, gc *client, s *game.State) {
	h.t.Helper()
	hc, gc = h.connect(host), h.connect(guest)
	hc.answer(1, hostText)
	gc.answer(1, guestText)
	h.robotsAnswer(host.MatchID, 1)
	s = h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseVoting })
	return hc, gc, s
}

// playToEnd plays a started two-human match to its end: in round 1 everyone
// answers and the host picks the guest, the guest and the second robot pick
// the first robot, the first robot picks the host; in round 2 the timers run
// out with no answers or votes but the humans'. It returns the robot seats.
func (h *harness) playToEnd(host, guest seatReply) (r1, r2 string) {
	h.t.Helper()
	id := host.MatchID
	hc, gc, s := h.answerRound1(host, guest, "host answer", "guest answer")
	robots := robotSeats(s)
	r1, r2 = robots[0], robots[1]
	hc.vote(1, guest.Seat)
	gc.vote(1, r1)
	h.publish(id, &events.VoteCast{Voter: r1, Seat: host.Seat, Round: 1})
	h.publish(id, &events.VoteCast{Voter: r2, Seat: r1, Round: 1})
	h.state(id, func(s *game.State) bool { return s.Phase == events.PhaseResults })
	h.publish(id, &events.DeadlineReached{Phase: events.PhaseResults, Round: 1})
	hc.waitState(func(v *game.View) bool { return v.Round == 2 })
	hc.answer(2, "host again")
	for _, d := range []events.DeadlineReached{{Phase: events.PhaseAnswering, Round: 2}, {Phase: events.PhaseVoting, Round: 2}, {Phase: events.PhaseResults, Round: 2}} {
		h.publish(id, &d)
	}
	h.state(id, func(s *game.State) bool { return s.Phase == events.PhaseFinished })
	return r1, r2
}

func TestHistoryAndStats(t *testing.T) {
	model := fmt.Sprintf("history-model-%s", newID(8))
	h := newHarness(t, onModel(model))
	lobby := h.create("Waiting", "private", 0) // never started: not history

	host, guest := h.privateMatch()
	r1, r2 := h.playToEnd(host, guest)
	first := h.g.store.get(host.MatchID)

	// A second match, on other robots' model, ends later.
	h2 := newHarness(t, onModel(model+"-b"))
	host2, guest2 := h2.privateMatch()
	h2.playToEnd(host2, guest2)
	eventually(t, "the first gateway has the second match in its history", func() bool {
		items, _ := h.g.views.History(1, "")
		return len(items) == 1 && items[0].MatchID == host2.MatchID
	})

	var page historyPage
	if st, raw := h.call("GET", "/api/history?limit=1", nil, "", &page); st != 200 {
		t.Fatalf("history: %d %s", st, raw)
	}
	if len(page.Matches) != 1 || page.Matches[0].MatchID != host2.MatchID || page.Next == "" {
		t.Fatalf("first history page %+v: want the newest match and a cursor", page)
	}
	var page2 historyPage
	h.call("GET", "/api/history?limit=1&before="+page.Next, nil, "", &page2)
	if len(page2.Matches) != 1 || page2.Matches[0].MatchID != host.MatchID {
		t.Fatalf("second history page %+v: want the older match %s", page2, host.MatchID)
	}
	it := page2.Matches[0]
	if it.Humans != 2 || len(it.Robots) != 2 || it.Rounds != 2 || it.EndReason != events.EndCompleted || len(it.WinnerNames) == 0 {
		t.Errorf("history item %+v: want 2 humans, 2 robots, 2 rounds, completed, winners", it)
	}
	for _, r := range it.Robots {
		if r.Model != model || r.Personality == "" || r.Name == "" {
			t.Errorf("history robot %+v: want its personality, name and model %s", r, model)
		}
	}
	var all historyPage
	h.call("GET", "/api/history?limit=100", nil, "", &all)
	if slices.ContainsFunc(all.Matches, func(m materializer.HistoryItem) bool { return m.MatchID == lobby.MatchID }) {
		t.Error("a match that never started is in the history")
	}

	var stats materializer.Stats
	if st, raw := h.call("GET", "/api/stats", nil, "", &stats); st != 200 {
		t.Fatalf("stats: %d %s", st, raw)
	}
	want := map[string]materializer.RobotStats{ // by personality
		first.SeatOf(r1).RobotID: {Matches: 1, Votes: 3, HumanVotes: 2},
		first.SeatOf(r2).RobotID: {Matches: 1, Votes: 3, HumanVotes: 0},
	}
	rows := 0
	for _, r := range stats.Robots {
		if r.Model != model {
			continue
		}
		rows++
		w, ok := want[r.Personality]
		if !ok || r.Matches != w.Matches || r.Votes != w.Votes || r.HumanVotes != w.HumanVotes || r.Name == "" {
			t.Errorf("stats row %+v, want %+v", r, w)
		}
	}
	if rows != 2 || stats.Matches < 2 || stats.Detectives.Votes < 2 {
		t.Errorf("stats %+v: want 2 rows on %s and the detectives' votes", stats, model)
	}
}

// TestRematch: "play again" keeps the humans of a finished match together
// in one new match, whoever asks first.
func TestRematch(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	path := "/api/matches/" + host.MatchID + "/rematch"
	h.expectError("POST", path, nil, host.Token, 409, "not_finished")
	h.playToEnd(host, guest)
	h.expectError("POST", path, nil, "", 401, "unauthorized")
	var a, b seatReply
	if st, raw := h.call("POST", path, nil, guest.Token, &a); st != 200 {
		t.Fatalf("rematch: %d %s", st, raw)
	}
	if st, raw := h.call("POST", path, nil, host.Token, &b); st != 200 {
		t.Fatalf("rematch: %d %s", st, raw)
	}
	if a.MatchID == host.MatchID || a.MatchID != b.MatchID || a.Seat == b.Seat || a.Code == "" {
		t.Fatalf("rematch replies %+v and %+v: want one new private match for both", a, b)
	}
	// Asking twice (a retry after a lost reply) gives the same seat and
	// token, never a second seat.
	var again seatReply
	if st, raw := h.call("POST", path, nil, host.Token, &again); st != 200 || again != b {
		t.Fatalf("rematch asked twice: %d %s, want the first reply %+v", st, raw, b)
	}
	s := h.state(a.MatchID, func(s *game.State) bool { return humans(s) == 2 })
	if humans(s) != 2 {
		t.Fatalf("rematch has %d humans after a repeated ask, want 2", humans(s))
	}
	if s.Settings.Previous != host.MatchID {
		t.Errorf("rematch does not point back to %s: %+v", host.MatchID, s.Settings)
	}
}

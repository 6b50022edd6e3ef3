package game

import (
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

// The audience picks while a round is voted on, once per spectator; the
// picks show once voting is over and never change a score.
func TestAudienceVotes(t *testing.T) {
	l := newLog(t).voting()
	expectRejected(t, newLog(t).answering(), &events.AudienceVote{Spectator: "s1", Seat: "C", Round: 1}, CodeWrongPhase)
	expectRejected(t, l, &events.AudienceVote{Spectator: "s1", Seat: "E", Round: 1}, CodeUnknownSeat)
	l.add(&events.AudienceVote{Spectator: "s1", Seat: "C", Round: 1},
		&events.AudienceVote{Spectator: "s2", Seat: "C", Round: 1},
		&events.AudienceVote{Spectator: "s3", Seat: "A", Round: 1})
	expectRejected(t, l, &events.AudienceVote{Spectator: "s1", Seat: "A", Round: 1}, CodeAlreadyPicked)
	s := l.state()
	if v := ViewFor(s, ""); len(v.Audience) != 0 || v.Version != newLog(t).voting().state().Events {
		t.Errorf("during voting the audience shows %+v (version %d): want nothing, and no new version", v.Audience, v.Version)
	}
	l.voteAll(1)
	s = l.state()
	without := newLog(t).results().state()
	for seat, score := range without.Scores {
		if s.Scores[seat] != score {
			t.Errorf("the audience changed %s's score: %d, want %d", seat, s.Scores[seat], score)
		}
	}
	want := []AudiencePick{{Round: 1, Seat: "A", Votes: 1}, {Round: 1, Seat: "C", Votes: 2}}
	if got := ViewFor(s, "C").Audience; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("audience after voting: %+v, want %+v", got, want)
	}
	expectRejected(t, l, &events.AudienceVote{Spectator: "s4", Seat: "C", Round: 1}, CodeLate)
	assertSameState(t, "replay", s, Replay(testMatch, l.evs))
}

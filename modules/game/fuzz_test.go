package game

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// fuzzGen turns fuzz input into a plausible stream of events. It looks at
// the state the events so far produced, so that most events are nearly
// right (a seat that exists, the current round, the current phase's
// deadline) and the stream gets deep into a match.
type fuzzGen struct {
	data []byte
	at   time.Time
	ids  int
	last events.Envelope
}

func (g *fuzzGen) more() bool { return len(g.data) > 0 }

func (g *fuzzGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

// pick returns a number in [0, n).
func (g *fuzzGen) pick(n int) int { return int(g.byte()) % n }

// created opens the match with settings drawn from the input.
func (g *fuzzGen) created() events.Payload {
	seats := 2 + g.pick(4)
	c := &events.MatchCreated{
		Mode:           []string{events.ModeQuick, events.ModeQuick, events.ModeQuick, events.ModePrivate}[g.pick(4)],
		Seats:          seats,
		Humans:         1 + g.pick(seats-1),
		Rounds:         1 + g.pick(3),
		SeatOrder:      []string{"D", "B", "E", "A", "C"}[:seats],
		AnswerWindowMs: 45_000,
		VoteWindowMs:   30_000,
		ResultsPauseMs: int64(g.pick(3)) * 1000,
		LobbyWaitMs:    10_000,
		IdleTimeoutMs:  int64(g.pick(2)) * 60_000,
		MaxAnswerChars: 1 + g.pick(12),
	}
	for i := range c.Rounds {
		c.Prompts = append(c.Prompts, fmt.Sprintf("prompt %d", i+1))
	}
	for i := range seats {
		c.Robots = append(c.Robots, events.RobotSeat{RobotID: fmt.Sprintf("zz-bot-%d", i), Name: fmt.Sprintf("zz-robot-%d", i), Model: fmt.Sprintf("zz-model-%d", i)})
	}
	return c
}

// seat is mostly a seated letter, sometimes any letter.
func (g *fuzzGen) seat(s *State) string {
	if i := g.pick(len(s.Seats) + 1); i < len(s.Seats) {
		return s.Seats[i].Letter
	}
	return string(rune('A' + g.pick(8)))
}

// round is mostly the current round, sometimes a neighbour.
func (g *fuzzGen) round(s *State) int {
	return max(s.Round+[]int{0, 0, 0, 1, -1, 2}[g.pick(6)], 1)
}

var fuzzTexts = []string{"hello", "", "   ", " padded ", "a much longer answer than allowed", "émoji 🤖", "x"}

// fitting lists the ops of next that move a match on from each phase.
var fitting = map[string][]int{
	events.PhaseLobby:     {0, 0, 1, 10},
	events.PhaseAnswering: {3, 4, 10},
	events.PhaseVoting:    {7, 10},
	events.PhaseResults:   {2, 10},
	events.PhaseFinished:  {13},
}

// op chooses what kind of event next builds: mostly one that fits the
// phase, so that fuzzed matches get far, else any.
func (g *fuzzGen) op(s *State) int {
	if ops := fitting[s.Phase]; len(ops) > 0 && g.pick(4) != 0 {
		return ops[g.pick(len(ops))]
	}
	return g.pick(16)
}

// next is an event for state s.
func (g *fuzzGen) next(s *State) events.Envelope {
	g.at = g.at.Add(time.Duration(g.pick(64)-8) * time.Second) // now and then out of order
	var p events.Payload
	matchID := "m-fuzz"
	switch g.op(s) {
	case 0:
		n := g.pick(6)
		p = &events.PlayerJoined{PlayerID: fmt.Sprintf("zz-player-%d", n), Name: fmt.Sprintf("zz-name-%d", n), TokenHash: tokenHash(fmt.Sprint(n))}
	case 1:
		by := "lobby"
		if g.pick(2) == 0 {
			by = g.seat(s)
		}
		p = &events.MatchStarted{By: by}
	case 2:
		p = &events.RoundStarted{Round: g.round(s)}
	case 3:
		p = &events.Typing{Seat: g.seat(s), Round: g.round(s)}
	case 4, 5, 6:
		p = &events.AnswerSubmitted{Seat: g.seat(s), Round: g.round(s), Text: fuzzTexts[g.pick(len(fuzzTexts))], ProcessingMs: int64(g.pick(5000))}
	case 7, 8, 9:
		p = &events.VoteCast{Voter: g.seat(s), Seat: g.seat(s), Round: g.round(s)}
	case 10, 11:
		p = g.deadline(s)
	case 12:
		if g.pick(4) != 0 { // rarely: an ended match has little left to test
			p = g.deadline(s)
			break
		}
		p = &events.MatchEnded{Reason: []string{events.EndCompleted, events.EndAbandoned}[g.pick(2)]}
	case 13:
		p = &events.RematchCreated{MatchID: fmt.Sprintf("m-next-%d", g.pick(2))}
	case 14:
		if g.last.ID != "" { // a redelivery
			return g.last
		}
		p = g.created()
	default:
		switch g.pick(4) {
		case 0:
			p = g.created()
		case 1:
			p = &events.RobotTyping{CommandID: "c", Seat: g.seat(s), Round: g.round(s)}
		case 2:
			matchID = "m-other"
			p = &events.MatchEnded{Reason: events.EndAbandoned}
		default:
			g.ids++
			e := events.Envelope{ID: fmt.Sprint("f", g.ids), Type: []string{events.TypeVoteCast, "match.paused"}[g.pick(2)], MatchID: matchID, Time: g.at, Source: "fuzz", V: 1, Data: json.RawMessage(`{"voter":1}`)}
			g.last = e
			return e
		}
	}
	return g.envelope(matchID, p)
}

// deadline is mostly the current phase's, sometimes a stale one.
func (g *fuzzGen) deadline(s *State) events.Payload {
	d := &events.DeadlineReached{Phase: s.Phase, Round: s.Round}
	if d.Phase == "" || d.Phase == events.PhaseFinished || g.pick(4) == 0 {
		d.Phase = []string{events.PhaseLobby, events.PhaseAnswering, events.PhaseVoting, events.PhaseResults}[g.pick(4)]
		d.Round = g.pick(4)
	}
	return d
}

func (g *fuzzGen) envelope(matchID string, p events.Payload) events.Envelope {
	g.ids++
	e, err := events.NewWithID(fmt.Sprint("f", g.ids), matchID, events.SourceGateway, g.at, p)
	if err != nil {
		panic(fmt.Sprintf("fuzz generator built an invalid %T: %v", p, err))
	}
	g.last = e
	return e
}

func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 2, 1, 1, 0, 0, 0, 1, 0, 1, 10, 4, 0, 0, 0, 5, 5, 1, 0, 0, 5, 6, 2, 0, 0, 7, 0, 1, 0, 8, 1, 0, 0, 10, 10, 0})
	f.Add([]byte("a whole match of plausible bytes, repeated: a whole match of plausible bytes"))
	f.Add(bytes.Repeat([]byte{4, 7, 10, 3, 0, 1, 9, 11, 2}, 20))
	f.Add(bytes.Repeat([]byte{10, 1, 0}, 40))
	f.Fuzz(playFuzzed)
}

// playFuzzed plays the events data stands for, checking after each one
// that Check agrees with Apply and that the invariants and secrecy hold.
func playFuzzed(t *testing.T, data []byte) {
	g := &fuzzGen{data: data, at: t0}
	s := New("m-fuzz")
	for step := 0; step < 300 && (step == 0 || g.more()); step++ {
		var e events.Envelope
		if step == 0 && g.pick(16) != 0 {
			e = g.envelope("m-fuzz", g.created())
		} else {
			e = g.next(s)
		}
		round, phase := s.Round, s.Phase
		before := fingerprint(s)
		checked := Check(s, e)
		if fingerprint(s) != before {
			t.Fatalf("Check changed the state on %s", e.Type)
		}
		applied := Apply(s, e)
		if (checked == nil) != (applied == nil) || RejectionCode(checked) != RejectionCode(applied) {
			t.Fatalf("%s: Check said %v, Apply said %v", e.Type, checked, applied)
		}
		if applied != nil && RejectionCode(applied) == "" {
			t.Fatalf("%s: error that is not a rejection: %v", e.Type, applied)
		}
		checkInvariants(t, s, round, phase)
		if s.Phase != events.PhaseFinished {
			assertNoFuzzLeak(t, s, "")
			if len(s.Seats) > 0 {
				assertNoFuzzLeak(t, s, s.Seats[step%len(s.Seats)].Letter)
			}
		}
	}
}

// assertNoFuzzLeak checks seat's view of a running fuzzed match for names,
// ids and models, which the generator all marks with "zz-".
// A private lobby's list of who joined names them, to its players, without
// letters: that list is checked apart, and must not exist anywhere else.
func assertNoFuzzLeak(t *testing.T, s *State, seat string) {
	v := ViewFor(s, seat)
	if v.Lobby != nil {
		if s.Phase != events.PhaseLobby || s.Settings.Mode != events.ModePrivate || v.You == "" {
			t.Fatalf("view of %q in %s of a %s match lists the lobby: %+v", seat, s.Phase, s.Settings.Mode, v.Lobby)
		}
		if lj := mustJSON(t, v.Lobby); bytes.Contains(lj, []byte(`"seat"`)) {
			t.Fatalf("the lobby list names letters: %s", lj)
		}
		v.Lobby = nil
	}
	js := mustJSON(t, v)
	if bytes.Contains(js, []byte("zz-")) || bytes.Contains(js, []byte(`"human"`)) || bytes.Contains(js, []byte("reveal")) {
		t.Fatalf("view of %q in %s leaks: %s", seat, s.Phase, js)
	}
}

// fingerprint sums up what any move changes, cheaply enough to take twice
// per fuzzed event. (The rule tests compare whole states instead.)
func fingerprint(s *State) string {
	fp := fmt.Sprint(s.Phase, s.Round, s.Deadline, s.EndReason, s.Host, s.Rematch != nil,
		len(s.Seats), len(s.Rounds), len(s.Scores), len(s.Seen), len(s.Rejections), len(s.Timeline), s.Events)
	if r := s.CurrentRound(); r != nil {
		fp += fmt.Sprint(len(r.Answers), len(r.Votes), r.Typing, r.VotingAt, r.ClosedAt)
	}
	return fp
}

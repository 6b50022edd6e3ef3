package game

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// t0 is when every test match is created; tests use fixed times only.
var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

const testMatch = "m-test"

// Test players and robots. Their names, ids and models are distinctive so
// that a leak into a view can be found by a plain substring search.
var (
	ada = &events.PlayerJoined{PlayerID: "player-ada", Name: "Ada Lovelace", TokenHash: tokenHash("token-ada")}
	bob = &events.PlayerJoined{PlayerID: "player-bob", Name: "Bob Babbage", TokenHash: tokenHash("token-bob")}
	cyd = &events.PlayerJoined{PlayerID: "player-cyd", Name: "Cyd Charisse", TokenHash: tokenHash("token-cyd")}

	roster = []events.RobotSeat{
		{RobotID: "curious-student", Name: "Curious Student", Model: "model-alpha"},
		{RobotID: "skeptical-scientist", Name: "Skeptical Scientist", Model: "model-beta"},
		{RobotID: "creative-artist", Name: "Creative Artist", Model: "model-gamma"},
	}
)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// settings is a quick match of 4 seats for up to 2 humans and 5 rounds.
// Letters are handed out C, A, D, B: so in a 1-human match Ada sits in C and
// the robots of the roster take A, D and B, in that order.
func settings() *events.MatchCreated {
	return &events.MatchCreated{
		Mode:           events.ModeQuick,
		Seats:          4,
		Humans:         2,
		Rounds:         5,
		Prompts:        []string{"prompt one", "prompt two", "prompt three", "prompt four", "prompt five"},
		SeatOrder:      []string{"C", "A", "D", "B"},
		Robots:         roster,
		AnswerWindowMs: 45_000,
		VoteWindowMs:   30_000,
		ResultsPauseMs: 5_000,
		LobbyWaitMs:    10_000,
		IdleTimeoutMs:  600_000,
		MaxAnswerChars: 20,
	}
}

func private(c *events.MatchCreated) { c.Mode = events.ModePrivate; c.Code = "QWERTY" }

// matchLog writes a test match's events, one second apart, with ids e1,
// e2, ...
type matchLog struct {
	tb  testing.TB
	evs []events.Envelope
	now time.Time
}

func newLog(tb testing.TB) *matchLog { return &matchLog{tb: tb, now: t0} }

// next is the envelope of the next event, without adding it.
func (l *matchLog) next(p events.Payload) events.Envelope {
	return l.nextIn(testMatch, p)
}

func (l *matchLog) nextIn(matchID string, p events.Payload) events.Envelope {
	l.tb.Helper()
	at := l.now
	if len(l.evs) > 0 {
		at = at.Add(time.Second)
	}
	e, err := events.NewWithID(fmt.Sprintf("e%d", len(l.evs)+1), matchID, events.SourceGateway, at, p)
	if err != nil {
		l.tb.Fatalf("building %T: %v", p, err)
	}
	return e
}

func (l *matchLog) add(ps ...events.Payload) *matchLog {
	for _, p := range ps {
		l.addEnv(l.next(p))
	}
	return l
}

func (l *matchLog) addEnv(e events.Envelope) *matchLog {
	l.evs = append(l.evs, e)
	l.now = e.Time
	return l
}

// wait moves the clock on by d before the next event.
func (l *matchLog) wait(d time.Duration) *matchLog {
	l.now = l.now.Add(d)
	return l
}

// state replays the log; every event in it must be applied.
func (l *matchLog) state() *State {
	l.tb.Helper()
	s := New(testMatch)
	for _, e := range l.evs {
		if err := Apply(s, e); err != nil {
			l.tb.Fatalf("setting up: %s %s: %v", e.ID, e.Type, err)
		}
	}
	return s
}

// Positions of a match that the rule tests start from.

func (l *matchLog) create(opts ...func(*events.MatchCreated)) *matchLog {
	c := settings()
	for _, o := range opts {
		o(c)
	}
	return l.add(c)
}

func (l *matchLog) lobby(players ...*events.PlayerJoined) *matchLog {
	l.create()
	for _, p := range players {
		l.add(p)
	}
	return l
}

// answering is round 1 of Ada (C) against robots A, D and B.
func (l *matchLog) answering() *matchLog {
	return l.lobby(ada).add(&events.MatchStarted{By: "lobby"})
}

func (l *matchLog) answerAll(round int) *matchLog {
	for _, seat := range []string{"A", "B", "C", "D"} {
		l.add(&events.AnswerSubmitted{Seat: seat, Round: round, Text: "answer of " + seat})
	}
	return l
}

// voting is round 1 with every answer in.
func (l *matchLog) voting() *matchLog { return l.answering().answerAll(1) }

// results is round 1 with every vote in: everyone picks C (Ada) but Ada,
// who picks A.
func (l *matchLog) results() *matchLog {
	return l.voting().voteAll(1)
}

func (l *matchLog) voteAll(round int) *matchLog {
	return l.add(
		&events.VoteCast{Voter: "A", Seat: "C", Round: round},
		&events.VoteCast{Voter: "B", Seat: "C", Round: round},
		&events.VoteCast{Voter: "C", Seat: "A", Round: round},
		&events.VoteCast{Voter: "D", Seat: "C", Round: round},
	)
}

func (l *matchLog) finished() *matchLog {
	return l.results().add(&events.MatchEnded{Reason: events.EndCompleted})
}

// lastRoundResults is the results of round 5 of 5.
func (l *matchLog) lastRoundResults() *matchLog {
	l.results()
	for round := 2; round <= 5; round++ {
		l.add(&events.RoundStarted{Round: round}).answerAll(round).voteAll(round)
	}
	return l
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("encoding %T: %v", v, err)
	}
	return b
}

// assertSameState fails unless a and b encode to the same JSON.
func assertSameState(tb testing.TB, what string, a, b *State) {
	tb.Helper()
	ja, jb := mustJSON(tb, a), mustJSON(tb, b)
	if !bytes.Equal(ja, jb) {
		tb.Fatalf("%s: states differ:\n%s\n%s", what, ja, jb)
	}
}

// checkInvariants fails if s breaks a rule that must hold after any
// sequence of events. prev is the state's (round, phase) before the event.
func checkInvariants(tb testing.TB, s *State, prevRound int, prevPhase string) {
	tb.Helper()
	sums := map[string]int{}
	for _, r := range s.Rounds {
		for seat, points := range r.Awards {
			sums[seat] += points
		}
		answered, voted := map[string]bool{}, map[string]bool{}
		for _, a := range r.Answers {
			if answered[a.Seat] {
				tb.Fatalf("round %d: two answers from %s", r.Number, a.Seat)
			}
			answered[a.Seat] = true
		}
		for _, v := range r.Votes {
			if voted[v.Voter] {
				tb.Fatalf("round %d: two votes from %s", r.Number, v.Voter)
			}
			if v.Voter == v.Seat {
				tb.Fatalf("round %d: %s voted for itself", r.Number, v.Voter)
			}
			voted[v.Voter] = true
		}
	}
	for seat := range merge(sums, s.Scores) {
		if s.Scores[seat] != sums[seat] {
			tb.Fatalf("score of %s is %d, awards add up to %d", seat, s.Scores[seat], sums[seat])
		}
	}
	if s.Round < prevRound {
		tb.Fatalf("round went back from %d to %d", prevRound, s.Round)
	}
	if s.Round == prevRound && phaseRank[s.Phase] < phaseRank[prevPhase] {
		tb.Fatalf("phase went back from %s to %s in round %d", prevPhase, s.Phase, s.Round)
	}
	if prevPhase == events.PhaseFinished && (s.Phase != events.PhaseFinished || s.Round != prevRound) {
		tb.Fatalf("a finished match moved on to %s of round %d", s.Phase, s.Round)
	}
	if s.Round > prevRound && prevPhase != "" && prevPhase != events.PhaseLobby && prevPhase != events.PhaseResults {
		tb.Fatalf("round %d began from %s", s.Round, prevPhase)
	}
	if s.Round > prevRound+1 {
		tb.Fatalf("round jumped from %d to %d", prevRound, s.Round)
	}
	if len(s.Rejections) > maxRejections {
		tb.Fatalf("%d rejections kept", len(s.Rejections))
	}
	if s.Round != len(s.Rounds) {
		tb.Fatalf("in round %d with %d rounds begun", s.Round, len(s.Rounds))
	}
}

func merge(a, b map[string]int) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

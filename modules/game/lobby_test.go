package game

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

var (
	dan = &events.PlayerJoined{PlayerID: "player-dan", Name: "Dan Dare", TokenHash: tokenHash("token-dan")}
	eve = &events.PlayerJoined{PlayerID: "player-eve", Name: "Eve Arden", TokenHash: tokenHash("token-eve")}
)

// privateLobby is a private lobby of 4 seats with Ada (C, the host) and Bob
// (A) seated.
func privateLobby(tb testing.TB) *matchLog {
	return newLog(tb).create(private).add(ada, bob)
}

func threeRounds(by string, humans int) *events.MatchSettings {
	return &events.MatchSettings{By: by, Rounds: 3, Prompts: []string{"p1", "p2", "p3"},
		AnswerWindowMs: 20_000, VoteWindowMs: 15_000, Humans: humans}
}

// expectRejected applies p at the end of l and wants code.
func expectRejected(t *testing.T, l *matchLog, p events.Payload, code string) {
	t.Helper()
	s := l.state()
	e := l.next(p)
	if err := Check(s, e); RejectionCode(err) != code {
		t.Errorf("%s %+v: Check says %v, want %s", e.Type, p, err, code)
	}
	if err := Apply(s, e); RejectionCode(err) != code {
		t.Errorf("%s %+v: Apply says %v, want %s", e.Type, p, err, code)
	}
}

func TestHostSettings(t *testing.T) {
	l := privateLobby(t).add(threeRounds("C", 3))
	s := l.state()
	if c := s.Settings; c.Rounds != 3 || len(c.Prompts) != 3 || c.AnswerWindowMs != 20_000 || c.VoteWindowMs != 15_000 || c.Humans != 3 {
		t.Fatalf("settings not applied: %+v", c)
	}
	// A third human fits now, and the match plays by the new settings.
	l.add(cyd, &events.MatchStarted{By: "C"})
	s = l.state()
	if s.humans() != 3 || len(s.Seats) != 4 || s.Settings.Rounds != 3 {
		t.Fatalf("after the start: %d humans, %d seats, %d rounds", s.humans(), len(s.Seats), s.Settings.Rounds)
	}
	if want := l.now.Add(ms(20_000)); !s.Deadline.Equal(want) || s.CurrentRound().Prompt != "p1" {
		t.Errorf("round 1: deadline %v (want %v), prompt %q", s.Deadline, want, s.CurrentRound().Prompt)
	}
	if v := ViewFor(s, "C"); v.Rounds != 3 || v.Lobby != nil {
		t.Errorf("view after the start: %d rounds, lobby %+v", v.Rounds, v.Lobby)
	}

	for _, c := range []struct {
		name string
		log  *matchLog
		p    events.Payload
		code string
	}{
		{"by a guest", privateLobby(t), threeRounds("A", 2), CodeNotHost},
		{"in a quick match", newLog(t).create().add(ada), threeRounds("C", 2), CodeNotHost},
		{"after the start", privateLobby(t).add(&events.MatchStarted{By: "C"}), threeRounds("C", 2), CodeWrongPhase},
		{"fewer humans than joined", privateLobby(t), threeRounds("C", 1), CodeBadSettings},
		{"no robot left", privateLobby(t), threeRounds("C", 4), CodeBadSettings},
		{"a window too short", privateLobby(t), &events.MatchSettings{By: "C", Rounds: 1, Prompts: []string{"p"}, AnswerWindowMs: 1000, VoteWindowMs: 15_000, Humans: 2}, CodeBadSettings},
		{"too many rounds", privateLobby(t), &events.MatchSettings{By: "C", Rounds: MaxRounds + 1, Prompts: make([]string, MaxRounds+1), AnswerWindowMs: 20_000, VoteWindowMs: 15_000, Humans: 2}, CodeBadSettings},
	} {
		t.Run(c.name, func(t *testing.T) { expectRejected(t, c.log, c.p, c.code) })
	}
	if err := (&events.MatchSettings{By: "C", Rounds: 3, Prompts: []string{"p"}, AnswerWindowMs: 20_000, VoteWindowMs: 15_000, Humans: 2}).Validate(); err == nil {
		t.Error("settings with one prompt for three rounds validate")
	}
}

func TestKickAndHandOver(t *testing.T) {
	l := privateLobby(t).add(threeRounds("C", 3), cyd) // Ada C (host), Bob A, Cyd D
	expectRejected(t, l, &events.PlayerKicked{By: "A", Seat: "D"}, CodeNotHost)
	expectRejected(t, l, &events.PlayerKicked{By: "C", Seat: "C"}, CodeSelfKick)
	expectRejected(t, l, &events.PlayerKicked{By: "C", Seat: "B"}, CodeUnknownSeat)

	l.add(&events.PlayerKicked{By: "C", Seat: "A"})
	s := l.state()
	if s.SeatOf("A") != nil || seatByToken(s, bob.TokenHash) || s.humans() != 2 {
		t.Fatalf("Bob still sits after the kick: %+v", s.Seats)
	}
	// Bob cannot come back; someone new takes the freed letter.
	expectRejected(t, l, bob, CodeKicked)
	l.add(dan)
	if s = l.state(); s.SeatOf("A") == nil || s.SeatOf("A").Name != dan.Name {
		t.Fatalf("Dan did not get the freed letter A: %+v", s.Seats)
	}

	// The host leaves: the next human in join order (Cyd, D) is the host.
	l.add(&events.PlayerLeft{Seat: "C"})
	s = l.state()
	if s.Host != "D" || s.SeatOf("C") != nil {
		t.Fatalf("after the host left: host %q, seats %+v", s.Host, s.Seats)
	}
	if v := ViewFor(s, "D"); !v.Host {
		t.Error("the new host's view does not say it is the host")
	}
	expectRejected(t, l, &events.MatchStarted{By: "C"}, CodeNotHost)
	l.add(eve, &events.MatchStarted{By: "D"}) // Eve takes the freed C
	s = l.state()
	letters := s.sortedLetters()
	if !slices.Equal(letters, []string{"A", "B", "C", "D"}) || s.humans() != 3 {
		t.Fatalf("after the start: seats %v with %d humans, want A..D with 3", letters, s.humans())
	}
	expectRejected(t, l, &events.PlayerLeft{Seat: "D"}, CodeWrongPhase)

	// Replaying the log gives the same state.
	assertSameState(t, "replay", s, Replay(testMatch, l.evs))

	// The last human leaving leaves a lobby without host, to idle out.
	l2 := privateLobby(t).add(&events.PlayerLeft{Seat: "A"}, &events.PlayerLeft{Seat: "C"})
	if s := l2.state(); s.Host != "" || len(s.Seats) != 0 {
		t.Errorf("an empty lobby: host %q, seats %+v", s.Host, s.Seats)
	}
}

func seatByToken(s *State, hash string) bool { return s.HumanByToken(hash) != nil }

// The names of who joined show in a private lobby, to its players only,
// without their letters; never in a quick lobby, never after the start.
func TestLobbyNames(t *testing.T) {
	s := privateLobby(t).state()
	v := ViewFor(s, "A")
	if v.Lobby == nil || len(v.Lobby.Players) != 2 {
		t.Fatalf("private lobby view %+v: want both players", v.Lobby)
	}
	host, me := v.Lobby.Players[0], v.Lobby.Players[1]
	if host.Name != ada.Name || !host.Host || host.You || me.Name != bob.Name || !me.You {
		t.Errorf("lobby players %+v: want Ada (host) then Bob (you)", v.Lobby.Players)
	}
	if s.SeatOfHandle(host.ID) != "C" || s.SeatOfHandle(me.ID) != "A" || s.SeatOfHandle("nobody") != "" {
		t.Error("lobby handles do not lead back to the seats")
	}
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), `"seat":"C"`) {
		t.Errorf("Bob's lobby view names the host's letter: %s", b)
	}
	if sp := ViewFor(s, ""); sp.Lobby != nil || strings.Contains(string(mustJSON(t, sp)), ada.Name) {
		t.Errorf("a spectator sees the names: %+v", sp.Lobby)
	}
	q := newLog(t).create().add(ada, bob).state()
	if qv := ViewFor(q, "C"); qv.Lobby != nil || strings.Contains(string(mustJSON(t, qv)), bob.Name) {
		t.Errorf("a quick lobby shows names: %+v", qv.Lobby)
	}
	started := privateLobby(t).add(&events.MatchStarted{By: "C"}).state()
	if sv := ViewFor(started, "C"); sv.Lobby != nil || strings.Contains(string(mustJSON(t, sv)), bob.Name) {
		t.Errorf("names shown after the start: %+v", sv.Lobby)
	}
}

// A host who is away hands the lobby to the next human in join order, who
// may then start it; the away host keeps the seat and is a guest. Nothing
// else may be handed on: a guest's absence, a lobby with no one else, a
// quick lobby or a started match.
func TestHostAwayHandsTheLobbyOn(t *testing.T) {
	l := privateLobby(t).add(threeRounds("C", 3), cyd) // Ada C (host), Bob A, Cyd D
	expectRejected(t, l, &events.HostAway{Seat: "A"}, CodeNotHost)
	l.add(&events.HostAway{Seat: "C"})
	s := l.state()
	if s.Host != "A" || s.SeatOf("C") == nil || s.humans() != 3 {
		t.Fatalf("after the host went away: host %q, seats %+v", s.Host, s.Seats)
	}
	if v := ViewFor(s, "A"); !v.Host {
		t.Error("Bob's view does not say he is the host")
	}
	if v := ViewFor(s, "C"); v.Host {
		t.Error("Ada's view still says she is the host")
	}
	l.add(&events.HostAway{Seat: "A"}) // and on, past the end of the join order
	if s := l.state(); s.Host != "D" {
		t.Fatalf("host after Bob went away: %q, want D (Cyd)", s.Host)
	}
	l.add(&events.HostAway{Seat: "D"})
	if s := l.state(); s.Host != "C" {
		t.Fatalf("host after Cyd went away: %q, want C (Ada, back in turn)", s.Host)
	}
	l.add(&events.MatchStarted{By: "C"})
	expectRejected(t, l, &events.HostAway{Seat: "C"}, CodeWrongPhase)

	alone := newLog(t).create(private).add(ada)
	expectRejected(t, alone, &events.HostAway{Seat: "C"}, CodeNoOtherHuman)
	quick := newLog(t).lobby(ada, bob)
	expectRejected(t, quick, &events.HostAway{Seat: "C"}, CodeNotHost)
}

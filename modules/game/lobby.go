package game

import (
	"fmt"
	"slices"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// Bounds the rules hold a host's settings to, whatever the gateway allows:
// they keep a match finite and its windows humanly playable, and replay
// holds because the chosen values are in the log.
const (
	MaxRounds = 20
	MinWindow = 5 * time.Second
	MaxWindow = 10 * time.Minute
)

// hostOnly checks what every host control shares: a private match, still in
// its lobby, and the host's seat acting.
func hostOnly(s *State, by, what string) *Rejection {
	switch {
	case s.Settings.Mode != events.ModePrivate:
		return reject(CodeNotHost, "a quick match has no host to %s", what)
	case s.Phase != events.PhaseLobby:
		return reject(CodeWrongPhase, "%s only in the lobby, not in %s", what, s.Phase)
	case by != s.Host || s.Host == "":
		return reject(CodeNotHost, "only the host (seat %s) may %s", s.Host, what)
	}
	return nil
}

func changeSettings(s *State, e events.Envelope, m *events.MatchSettings) (move, *Rejection) {
	if rej := hostOnly(s, m.By, "change the settings"); rej != nil {
		return nil, rej
	}
	switch {
	case m.Rounds > MaxRounds:
		return nil, reject(CodeBadSettings, "at most %d rounds, not %d", MaxRounds, m.Rounds)
	case !inWindow(m.AnswerWindowMs) || !inWindow(m.VoteWindowMs):
		return nil, reject(CodeBadSettings, "windows last %v..%v", MinWindow, MaxWindow)
	case m.Humans >= s.Settings.Seats:
		return nil, reject(CodeBadSettings, "at most %d humans: at least one robot plays", s.Settings.Seats-1)
	case m.Humans < s.humans():
		return nil, reject(CodeBadSettings, "%d humans have joined already, more than %d", s.humans(), m.Humans)
	}
	return func(s *State) {
		s.Settings.Rounds = m.Rounds
		s.Settings.Prompts = slices.Clone(m.Prompts)
		s.Settings.AnswerWindowMs = m.AnswerWindowMs
		s.Settings.VoteWindowMs = m.VoteWindowMs
		s.Settings.Humans = m.Humans
		s.note(e, 0, m.By, fmt.Sprintf("settings: %d rounds, %ds to answer, %ds to vote, %d humans",
			m.Rounds, m.AnswerWindowMs/1000, m.VoteWindowMs/1000, m.Humans))
	}, nil
}

func inWindow(msec int64) bool { return ms(msec) >= MinWindow && ms(msec) <= MaxWindow }

func kickPlayer(s *State, e events.Envelope, k *events.PlayerKicked) (move, *Rejection) {
	if rej := hostOnly(s, k.By, "remove a player"); rej != nil {
		return nil, rej
	}
	seat := s.SeatOf(k.Seat)
	switch {
	case seat == nil || !seat.Human:
		return nil, reject(CodeUnknownSeat, "no player sits in seat %s", k.Seat)
	case k.Seat == k.By:
		return nil, reject(CodeSelfKick, "the host leaves rather than kicks itself")
	}
	return func(s *State) {
		seat := s.SeatOf(k.Seat)
		s.Kicked = append(s.Kicked, seat.PlayerID)
		s.note(e, 0, k.Seat, seat.Name+" was removed by the host")
		s.vacate(k.Seat)
	}, nil
}

func leaveLobby(s *State, e events.Envelope, l *events.PlayerLeft) (move, *Rejection) {
	if s.Phase != events.PhaseLobby {
		return nil, reject(CodeWrongPhase, "a seat is given up only in the lobby, not in %s", s.Phase)
	}
	seat := s.SeatOf(l.Seat)
	if seat == nil || !seat.Human {
		return nil, reject(CodeUnknownSeat, "no player sits in seat %s", l.Seat)
	}
	return func(s *State) {
		s.note(e, 0, l.Seat, s.SeatOf(l.Seat).Name+" left")
		s.vacate(l.Seat)
	}, nil
}

// hostAway hands the host role of a private lobby to the human after the
// away host in join order (wrapping round), who keeps their seat.
func hostAway(s *State, e events.Envelope, h *events.HostAway) (move, *Rejection) {
	if rej := hostOnly(s, h.Seat, "hand the lobby on"); rej != nil {
		return nil, rej
	}
	next := ""
	at := slices.IndexFunc(s.Seats, func(seat Seat) bool { return seat.Letter == h.Seat })
	for i := 1; i < len(s.Seats) && next == ""; i++ {
		if seat := s.Seats[(at+i)%len(s.Seats)]; seat.Human {
			next = seat.Letter
		}
	}
	if next == "" {
		return nil, reject(CodeNoOtherHuman, "no other human to be the host")
	}
	return func(s *State) {
		s.Host = next
		s.note(e, 0, next, s.SeatOf(h.Seat).Name+" is away; "+s.SeatOf(next).Name+" is the host")
	}, nil
}

// vacate frees a human's lobby seat. Its letter goes back to the pool (the
// next human or robot takes it), and if it was the host's, the next human
// in join order becomes the host; a lobby left empty idles out.
func (s *State) vacate(letter string) {
	s.Seats = slices.DeleteFunc(s.Seats, func(seat Seat) bool { return seat.Letter == letter })
	delete(s.Scores, letter)
	if s.Host != letter {
		return
	}
	s.Host = ""
	for _, seat := range s.Seats {
		if seat.Human {
			s.Host = seat.Letter
			return
		}
	}
}

// nextLetter is the first letter of the seat order that no one holds: the
// next in line while no one has left, a freed one after a kick or a leave.
func (s *State) nextLetter() string {
	for _, l := range s.Settings.SeatOrder {
		if s.SeatOf(l) == nil {
			return l
		}
	}
	return ""
}

// LobbyHandle is how a private lobby names a player to the other players:
// derived from the match and the player id, it says nothing of the seat
// letter, so the host can point at a player to remove without the lobby
// tying a name to a letter.
func LobbyHandle(matchID, playerID string) string {
	return events.DerivedID("lobby", matchID, playerID)[:12]
}

// SeatOfHandle returns the letter of the human with the lobby handle, or "".
func (s *State) SeatOfHandle(handle string) string {
	for _, seat := range s.Seats {
		if seat.Human && LobbyHandle(s.MatchID, seat.PlayerID) == handle {
			return seat.Letter
		}
	}
	return ""
}

// lobbyView is what the players of a private lobby see of it: its settings
// and who joined, by name, the host first, the rest by name (join order
// could help guess letters, names sorted cannot).
func lobbyView(s *State, you string) *LobbyView {
	lv := &LobbyView{
		Humans:         s.Settings.Humans,
		AnswerWindowMs: s.Settings.AnswerWindowMs,
		VoteWindowMs:   s.Settings.VoteWindowMs,
		Players:        []LobbyPlayer{},
	}
	for _, seat := range s.Seats {
		if !seat.Human {
			continue
		}
		lv.Players = append(lv.Players, LobbyPlayer{
			ID:   LobbyHandle(s.MatchID, seat.PlayerID),
			Name: seat.Name,
			Host: seat.Letter == s.Host,
			You:  seat.Letter == you,
		})
	}
	slices.SortStableFunc(lv.Players, func(a, b LobbyPlayer) int {
		switch {
		case a.Host != b.Host:
			if a.Host {
				return -1
			}
			return 1
		case a.Name != b.Name:
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return lv
}

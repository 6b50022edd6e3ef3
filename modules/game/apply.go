package game

import (
	"errors"

	"github.com/arena-hq/arena/modules/events"
)

// move is the change an accepted fact makes to a state. The rules first
// judge a fact against the state without touching it and, if it passes,
// hand back its move; Check stops at the verdict and Apply goes on to make
// the move, so both share one set of rules.
type move func(s *State)

// New returns the state of match matchID before its match.created.
func New(matchID string) *State {
	return &State{
		MatchID:  matchID,
		Scores:   map[string]int{},
		Seen:     map[string]struct{}{},
		Timeline: []TimelineEntry{},
	}
}

// Replay folds evs into a new state of match matchID. Rejected events are
// recorded in the state as Apply records them.
func Replay(matchID string, evs []events.Envelope) *State {
	s := New(matchID)
	for _, e := range evs {
		_ = Apply(s, e)
	}
	return s
}

// IsDuplicate reports whether e was already applied to, or rejected by, s.
// Records are delivered at least once, so a copy must change nothing.
func IsDuplicate(s *State, e events.Envelope) bool {
	if e.ID == "" {
		return false
	}
	_, ok := s.Seen[e.ID]
	return ok
}

// Apply folds one fact into s, in place. It returns nil when e was applied,
// when e is a duplicate (s is left as it was) and when e's type is unknown
// to this build (only its id is remembered). When the rules refuse e, it
// returns a *Rejection and the only change to s is that e's id is
// remembered and the rejection appended to s.Rejections.
//
// Apply is pure: it reads no clock (time is e.Time) and does no I/O.
func Apply(s *State, e events.Envelope) error {
	if IsDuplicate(s, e) {
		return nil
	}
	m, rej := judge(s, e)
	s.markSeen(e.ID)
	if rej != nil {
		s.record(*rej)
		return rej
	}
	if m == nil { // an unknown type: skipped, so newer writers do not stall older readers
		return nil
	}
	m(s)
	s.UpdatedAt = e.Time
	// An audience vote changes nothing a player sees until the round's
	// voting is over, so it is no new version: players' sockets skip the
	// unchanged view, and an audience of hundreds costs them nothing.
	if e.Type != events.TypeAudienceVote {
		s.Events++
	}
	return nil
}

// Check reports what Apply would say about e, without changing s: nil if e
// would be applied (or is a duplicate, or of an unknown type), else the
// *Rejection. The gateway uses it to answer a client before it appends the
// client's fact to the log.
func Check(s *State, e events.Envelope) error {
	if IsDuplicate(s, e) {
		return nil
	}
	if _, rej := judge(s, e); rej != nil {
		return rej
	}
	return nil
}

// RejectionCode returns the code of the *Rejection in err's chain, or "".
func RejectionCode(err error) string {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

func (s *State) markSeen(id string) {
	if id == "" {
		return
	}
	if s.Seen == nil { // a zero State, or one decoded from JSON without ids
		s.Seen = map[string]struct{}{}
	}
	s.Seen[id] = struct{}{}
}

// judge decides e against s. It returns the move e makes, or the reason it
// is refused; both nil means e is of an unknown type and is to be skipped.
func judge(s *State, e events.Envelope) (move, *Rejection) {
	m, rej := rules(s, e)
	if rej != nil {
		rej.EventID, rej.Type = e.ID, e.Type
		return nil, rej
	}
	return m, nil
}

// rules routes e to the rule of its type, after the checks every fact
// shares.
func rules(s *State, e events.Envelope) (move, *Rejection) {
	if e.ID == "" || e.Time.IsZero() {
		return nil, reject(CodeMalformed, "an event needs an id and a time")
	}
	if s.MatchID != "" && e.MatchID != s.MatchID {
		return nil, reject(CodeWrongMatch, "event of match %q applied to match %q", e.MatchID, s.MatchID)
	}
	p, err := e.Payload()
	if err != nil {
		return nil, reject(CodeMalformed, "%v", err)
	}
	switch p := p.(type) {
	case *events.Unknown:
		return nil, nil
	case *events.RobotCommand, *events.RobotTyping, *events.ResponseGenerated, *events.ResponseFailed:
		return nil, reject(CodeNotMatchEvent, "%s travels between the orchestrator and robots, not in a match log", e.Type)
	case *events.MatchCreated:
		return createMatch(s, e, p)
	}
	if s.Phase == "" {
		return nil, reject(CodeNoMatch, "the match has not been created")
	}
	switch p := p.(type) {
	case *events.PlayerJoined:
		return joinPlayer(s, e, p)
	case *events.MatchStarted:
		return startMatch(s, e, p)
	case *events.RoundStarted:
		return startRound(s, e, p)
	case *events.Typing:
		return typing(s, p)
	case *events.AnswerSubmitted:
		return submitAnswer(s, e, p)
	case *events.VoteCast:
		return castVote(s, e, p)
	case *events.DeadlineReached:
		return reachDeadline(s, e, p)
	case *events.MatchEnded:
		return endMatch(s, e, p)
	case *events.RematchCreated:
		return createRematch(s, e, p)
	case *events.MatchSettings:
		return changeSettings(s, e, p)
	case *events.PlayerKicked:
		return kickPlayer(s, e, p)
	case *events.PlayerLeft:
		return leaveLobby(s, e, p)
	case *events.AudienceVote:
		return audienceVote(s, p)
	case *events.WindowExtended:
		return extendWindow(s, e, p)
	case *events.HostAway:
		return hostAway(s, e, p)
	}
	// A type in the events registry that the game does not know yet: skip
	// it like an unknown one rather than refuse what a newer writer added.
	return nil, nil
}

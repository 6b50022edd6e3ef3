package game

import "fmt"

// Rejection codes say why the rules refused a fact. They are part of the
// public interface: the gateway sends them to clients as error codes, so
// they only ever gain members.
const (
	CodeMalformed        = "malformed"         // the payload does not decode or validate
	CodeNotMatchEvent    = "not_a_match_event" // a robot-topic type sent to the match log
	CodeWrongMatch       = "wrong_match"       // the event belongs to another match
	CodeNoMatch          = "no_match"          // nothing happens before match.created
	CodeAlreadyCreated   = "already_created"   // a second match.created
	CodeWrongPhase       = "wrong_phase"       // not allowed in the current phase
	CodeWrongRound       = "wrong_round"       // names a round that is not the current one
	CodeLate             = "late"              // an answer or vote after its window closed
	CodeMatchFull        = "match_full"        // every human seat is taken
	CodeDuplicatePlayer  = "duplicate_player"  // the player already has a seat
	CodeNoPlayers        = "no_players"        // a match cannot start without a human
	CodeNotHost          = "not_host"          // only the host (or the lobby timer) starts a match
	CodeUnknownSeat      = "unknown_seat"      // no one sits in that seat
	CodeAlreadyAnswered  = "already_answered"  // the first answer per seat per round wins
	CodeEmpty            = "empty"             // an answer with no text
	CodeTooLong          = "too_long"          // an answer over the character limit
	CodeSelfVote         = "self_vote"         // a seat voted for itself
	CodeAlreadyVoted     = "already_voted"     // one vote per voter per round
	CodeStaleDeadline    = "stale_deadline"    // a timer for a phase the match has left
	CodeAlreadyFinished  = "already_finished"  // the match is over
	CodeDuplicateRematch = "duplicate_rematch" // "play again" was already set up
	CodeBadSettings      = "bad_settings"      // host settings out of bounds (or fewer humans than joined)
	CodeSelfKick         = "self_kick"         // the host kicked itself
	CodeKicked           = "kicked"            // the host removed this player; no coming back
	CodeAlreadyPicked    = "already_picked"    // a spectator picks once per round
	CodeNoOtherHuman     = "no_other_human"    // a host away with no one to hand the lobby to
)

// maxRejections bounds State.Rejections: they are kept for diagnosis, not
// as history, and a flooding client must not grow the state without limit.
const maxRejections = 32

// Error makes a Rejection usable as the error returned by Apply and Check;
// callers get the code back with errors.As.
func (r *Rejection) Error() string {
	return fmt.Sprintf("%s rejected (%s): %s", r.Type, r.Code, r.Reason)
}

// reject builds a rejection; judge fills in the event's id and type.
func reject(code, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// record keeps r in the bounded list of recent rejections.
func (s *State) record(r Rejection) {
	s.Rejections = append(s.Rejections, r)
	if n := len(s.Rejections); n > maxRejections {
		s.Rejections = append(s.Rejections[:0:0], s.Rejections[n-maxRejections:]...)
	}
}

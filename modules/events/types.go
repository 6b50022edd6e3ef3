package events

import (
	"fmt"
	"unicode/utf8"
)

// Event types. docs/events.md describes each one and who writes it.
const (
	// match-events: the permanent log of a match.
	TypeMatchCreated    = "match.created"
	TypePlayerJoined    = "player.joined"
	TypeMatchStarted    = "match.started"
	TypeRoundStarted    = "round.started"
	TypeTyping          = "typing"
	TypeAnswerSubmitted = "answer.submitted"
	TypeVoteCast        = "vote.cast"
	TypeDeadlineReached = "deadline.reached"
	TypeMatchEnded      = "match.ended"
	TypeRematchCreated  = "rematch.created"
	TypeMatchSettings   = "match.settings"
	TypePlayerKicked    = "player.kicked"
	TypePlayerLeft      = "player.left"
	TypeAudienceVote    = "audience.vote"
	TypeWindowExtended  = "window.extended"
	TypeHostAway        = "host.away"

	// robot-commands.
	TypeRobotCommand = "robot.command"

	// robot-events.
	TypeRobotTyping       = "robot.typing"
	TypeResponseGenerated = "response.generated"
	TypeResponseFailed    = "response.failed"
)

// Match modes.
const (
	ModeQuick   = "quick"
	ModePrivate = "private"
)

// Phases, as they appear in deadline facts and views.
const (
	PhaseLobby     = "lobby"
	PhaseAnswering = "answering"
	PhaseVoting    = "voting"
	PhaseResults   = "results"
	PhaseFinished  = "finished"
)

// Robot command kinds.
const (
	KindAnswer = "answer"
	KindVote   = "vote"
)

// NoOne is the vote "no one, they are all robots": VoteCast.Seat (and a
// robot's ResponseGenerated.Vote) where no other human may be present.
const NoOne = "none"

// End reasons.
const (
	EndCompleted = "completed"
	EndAbandoned = "abandoned"
)

var registry = map[string]func() Payload{
	TypeMatchCreated:      func() Payload { return new(MatchCreated) },
	TypePlayerJoined:      func() Payload { return new(PlayerJoined) },
	TypeMatchStarted:      func() Payload { return new(MatchStarted) },
	TypeRoundStarted:      func() Payload { return new(RoundStarted) },
	TypeTyping:            func() Payload { return new(Typing) },
	TypeAnswerSubmitted:   func() Payload { return new(AnswerSubmitted) },
	TypeVoteCast:          func() Payload { return new(VoteCast) },
	TypeDeadlineReached:   func() Payload { return new(DeadlineReached) },
	TypeMatchEnded:        func() Payload { return new(MatchEnded) },
	TypeRematchCreated:    func() Payload { return new(RematchCreated) },
	TypeMatchSettings:     func() Payload { return new(MatchSettings) },
	TypePlayerKicked:      func() Payload { return new(PlayerKicked) },
	TypePlayerLeft:        func() Payload { return new(PlayerLeft) },
	TypeAudienceVote:      func() Payload { return new(AudienceVote) },
	TypeWindowExtended:    func() Payload { return new(WindowExtended) },
	TypeHostAway:          func() Payload { return new(HostAway) },
	TypeRobotCommand:      func() Payload { return new(RobotCommand) },
	TypeRobotTyping:       func() Payload { return new(RobotTyping) },
	TypeResponseGenerated: func() Payload { return new(ResponseGenerated) },
	TypeResponseFailed:    func() Payload { return new(ResponseFailed) },
}

// Types lists every known event type.
func Types() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	return out
}

// RobotSeat is a robot from the stable as cast for a match.
type RobotSeat struct {
	RobotID string `json:"robotId"`
	Name    string `json:"name"`
	Model   string `json:"model"`
}

// MatchCreated opens a match. It fixes everything random about the match up
// front (seat letters, prompts, the robot roster), so the reducer stays
// deterministic. Written by the gateway (or seed).
type MatchCreated struct {
	Mode           string      `json:"mode"`
	Code           string      `json:"code,omitempty"`
	Seats          int         `json:"seats"`
	Humans         int         `json:"humans"` // most human seats; the rest are robots
	Rounds         int         `json:"rounds"`
	Prompts        []string    `json:"prompts"`   // one per round
	SeatOrder      []string    `json:"seatOrder"` // letters in the order they are handed out
	Robots         []RobotSeat `json:"robots"`    // roster; fills seats left empty at start, in order
	AnswerWindowMs int64       `json:"answerWindowMs"`
	VoteWindowMs   int64       `json:"voteWindowMs"`
	ResultsPauseMs int64       `json:"resultsPauseMs"`
	LobbyWaitMs    int64       `json:"lobbyWaitMs"` // quick matches start after this
	IdleTimeoutMs  int64       `json:"idleTimeoutMs"`
	MaxAnswerChars int         `json:"maxAnswerChars"`
	Previous       string      `json:"previous,omitempty"` // match this one is a rematch of
}

func (*MatchCreated) EventType() string { return TypeMatchCreated }
func (m *MatchCreated) Validate() error {
	switch {
	case m.Mode != ModeQuick && m.Mode != ModePrivate:
		return fieldErr("mode", "must be quick or private")
	case m.Seats < 2 || m.Seats > 8:
		return fieldErr("seats", "must be 2..8")
	case m.Humans < 1 || m.Humans >= m.Seats:
		return fieldErr("humans", "must be 1..seats-1")
	case m.Rounds < 1:
		return fieldErr("rounds", "must be >= 1")
	case len(m.Prompts) != m.Rounds:
		return fieldErr("prompts", "need one per round")
	case len(m.SeatOrder) != m.Seats:
		return fieldErr("seatOrder", "need one letter per seat")
	case len(m.Robots) < m.Seats-1:
		return fieldErr("robots", "roster too small to fill the seats")
	case m.AnswerWindowMs <= 0:
		return fieldErr("answerWindowMs", "must be > 0")
	case m.VoteWindowMs <= 0:
		return fieldErr("voteWindowMs", "must be > 0")
	case m.ResultsPauseMs < 0:
		return fieldErr("resultsPauseMs", "must be >= 0")
	case m.LobbyWaitMs < 0:
		return fieldErr("lobbyWaitMs", "must be >= 0")
	case m.IdleTimeoutMs < 0:
		return fieldErr("idleTimeoutMs", "must be >= 0")
	case m.MaxAnswerChars < 1:
		return fieldErr("maxAnswerChars", "must be >= 1")
	}
	seen := map[string]bool{}
	for i, s := range m.SeatOrder {
		if len(s) != 1 || s[0] < 'A' || s[0] > 'Z' || seen[s] {
			return fieldErr(fmt.Sprintf("seatOrder[%d]", i), "must be a distinct letter A-Z")
		}
		seen[s] = true
	}
	for i, r := range m.Robots {
		if r.RobotID == "" {
			return fieldErr(fmt.Sprintf("robots[%d].robotId", i), "required")
		}
	}
	return nil
}

// PlayerJoined seats a human. The reducer hands out the next letter of
// SeatOrder. TokenHash is the hex SHA-256 of the player's secret token; the
// token itself is never stored. Written by the gateway.
type PlayerJoined struct {
	PlayerID  string `json:"playerId"`
	Name      string `json:"name"`
	TokenHash string `json:"tokenHash"`
}

func (*PlayerJoined) EventType() string { return TypePlayerJoined }
func (p *PlayerJoined) Validate() error {
	switch {
	case p.PlayerID == "":
		return fieldErr("playerId", "required")
	case p.Name == "" || utf8.RuneCountInString(p.Name) > 40 || !utf8.ValidString(p.Name):
		return fieldErr("name", "must be 1..40 characters of valid UTF-8")
	case len(p.TokenHash) != 64:
		return fieldErr("tokenHash", "must be a hex SHA-256")
	}
	return nil
}

// MatchStarted closes the lobby, fills empty seats with robots and begins
// round 1. By is the host's seat, or "lobby" when a quick match's wait ran
// out. Written by the gateway when the host starts a private match, and by
// the seed; a quick match's wait ends with the orchestrator's
// deadline.reached{lobby} instead, which the reducer treats the same.
type MatchStarted struct {
	By string `json:"by"`
}

func (*MatchStarted) EventType() string { return TypeMatchStarted }
func (m *MatchStarted) Validate() error {
	if m.By == "" {
		return fieldErr("by", "required")
	}
	return nil
}

// RoundStarted begins round Round (2..rounds) after the results pause.
// Reserved for tools: nothing writes it today; a round after the first
// begins with the orchestrator's deadline.reached{results} of the one before.
type RoundStarted struct {
	Round int `json:"round"`
}

func (*RoundStarted) EventType() string { return TypeRoundStarted }
func (r *RoundStarted) Validate() error {
	if r.Round < 1 {
		return fieldErr("round", "must be >= 1")
	}
	return nil
}

// Typing says a seat is composing its answer. Written by the gateway for
// humans and by the orchestrator for robots, so presence gives nothing away.
type Typing struct {
	Seat  string `json:"seat"`
	Round int    `json:"round"`
}

func (*Typing) EventType() string { return TypeTyping }
func (t *Typing) Validate() error {
	if err := validSeat("seat", t.Seat); err != nil {
		return err
	}
	if t.Round < 1 {
		return fieldErr("round", "must be >= 1")
	}
	return nil
}

// AnswerSubmitted is a seat's answer to a round's prompt. The first valid
// answer per seat per round wins. Written by the gateway for humans and by the
// orchestrator for robots (with the model's processing time).
type AnswerSubmitted struct {
	Seat         string `json:"seat"`
	Round        int    `json:"round"`
	Text         string `json:"text"`
	ProcessingMs int64  `json:"processingMs,omitempty"`
	// Model is the model that wrote a robot's answer, as the robot reported
	// it (the bridge copies it from response.generated): the reveal names
	// what really played, whatever the writer of match.created was told.
	Model string `json:"model,omitempty"`
}

func (*AnswerSubmitted) EventType() string { return TypeAnswerSubmitted }
func (a *AnswerSubmitted) Validate() error {
	if err := validSeat("seat", a.Seat); err != nil {
		return err
	}
	switch {
	case a.Round < 1:
		return fieldErr("round", "must be >= 1")
	case !utf8.ValidString(a.Text):
		return fieldErr("text", "must be valid UTF-8")
	}
	return nil
}

// VoteCast is Voter's pick of the seat they believe is human, or NoOne.
// Written by the gateway for humans and by the orchestrator for robots.
type VoteCast struct {
	Voter string `json:"voter"`
	Seat  string `json:"seat"`
	Round int    `json:"round"`
}

func (*VoteCast) EventType() string { return TypeVoteCast }
func (v *VoteCast) Validate() error {
	if err := validSeat("voter", v.Voter); err != nil {
		return err
	}
	if err := validPick("seat", v.Seat); err != nil {
		return err
	}
	if v.Round < 1 {
		return fieldErr("round", "must be >= 1")
	}
	return nil
}

// DeadlineReached says the timer of Phase in Round ran out (for the lobby,
// Round is 0). Written by the orchestrator, which owns the clock.
type DeadlineReached struct {
	Phase string `json:"phase"`
	Round int    `json:"round"`
}

func (*DeadlineReached) EventType() string { return TypeDeadlineReached }
func (d *DeadlineReached) Validate() error {
	switch d.Phase {
	case PhaseLobby, PhaseAnswering, PhaseVoting, PhaseResults:
	default:
		return fieldErr("phase", "must be lobby, answering, voting or results")
	}
	if d.Round < 0 {
		return fieldErr("round", "must be >= 0")
	}
	return nil
}

// WindowExtended moves the deadline of Phase in Round on by ByMs: the
// orchestrator found the window had run while the clock was down (a server
// restart, a crash), and gives back the time the log was silent, at most one
// whole window. A fact, so a replay gives the same deadlines; its id derives
// from the match, the window and the extension so far, so two orchestrators
// that see the same gap write one fact. Written by the orchestrator.
type WindowExtended struct {
	Phase string `json:"phase"`
	Round int    `json:"round"`
	ByMs  int64  `json:"byMs"`
}

// MaxExtensionMs bounds one extension: a day, far beyond any window.
const MaxExtensionMs = 24 * 60 * 60 * 1000

func (*WindowExtended) EventType() string { return TypeWindowExtended }
func (w *WindowExtended) Validate() error {
	switch w.Phase {
	case PhaseAnswering, PhaseVoting, PhaseResults:
	default:
		return fieldErr("phase", "must be answering, voting or results")
	}
	switch {
	case w.Round < 1:
		return fieldErr("round", "must be >= 1")
	case w.ByMs < 1 || w.ByMs > MaxExtensionMs:
		return fieldErr("byMs", "must be within 1..86400000")
	}
	return nil
}

// MatchEnded finishes a match: "completed" after the last round's results,
// "abandoned" when a lobby idles out. The orchestrator ends matches with
// deadline.reached (results of the last round, or lobby idle); this is
// written by the gateway to end a rematch that lost the race, and by tools.
type MatchEnded struct {
	Reason string `json:"reason"`
}

func (*MatchEnded) EventType() string { return TypeMatchEnded }
func (m *MatchEnded) Validate() error {
	if m.Reason != EndCompleted && m.Reason != EndAbandoned {
		return fieldErr("reason", "must be completed or abandoned")
	}
	return nil
}

// RematchCreated links a finished match to the match its humans play next
// ("play again"). Written by the gateway.
type RematchCreated struct {
	MatchID string `json:"matchId"`
	Code    string `json:"code,omitempty"`
}

func (*RematchCreated) EventType() string { return TypeRematchCreated }
func (r *RematchCreated) Validate() error {
	if r.MatchID == "" {
		return fieldErr("matchId", "required")
	}
	return nil
}

// MatchSettings is the host's choice of a private match's rounds, windows
// and number of humans, made in the lobby; it replaces those fields of
// match.created. Prompts holds one prompt per round (the gateway draws the
// extra ones when the rounds grow), so the reducer stays deterministic.
// Written by the gateway for the host.
type MatchSettings struct {
	By             string   `json:"by"` // the host's seat
	Rounds         int      `json:"rounds"`
	Prompts        []string `json:"prompts"`
	AnswerWindowMs int64    `json:"answerWindowMs"`
	VoteWindowMs   int64    `json:"voteWindowMs"`
	Humans         int      `json:"humans"`
}

func (*MatchSettings) EventType() string { return TypeMatchSettings }
func (m *MatchSettings) Validate() error {
	if err := validSeat("by", m.By); err != nil {
		return err
	}
	switch {
	case m.Rounds < 1:
		return fieldErr("rounds", "must be >= 1")
	case len(m.Prompts) != m.Rounds:
		return fieldErr("prompts", "need one per round")
	case m.AnswerWindowMs <= 0:
		return fieldErr("answerWindowMs", "must be > 0")
	case m.VoteWindowMs <= 0:
		return fieldErr("voteWindowMs", "must be > 0")
	case m.Humans < 1:
		return fieldErr("humans", "must be >= 1")
	}
	return nil
}

// PlayerKicked removes a human from a private lobby: the host's call. The
// kicked player's token no longer opens a seat, and that player id cannot
// join again. Written by the gateway for the host.
type PlayerKicked struct {
	By   string `json:"by"`   // the host's seat
	Seat string `json:"seat"` // the kicked seat
}

func (*PlayerKicked) EventType() string { return TypePlayerKicked }
func (k *PlayerKicked) Validate() error {
	if err := validSeat("by", k.By); err != nil {
		return err
	}
	return validSeat("seat", k.Seat)
}

// PlayerLeft gives up a seat in a lobby. When the host leaves, the next
// human in join order becomes the host. Written by the gateway.
type PlayerLeft struct {
	Seat string `json:"seat"`
}

func (*PlayerLeft) EventType() string { return TypePlayerLeft }
func (l *PlayerLeft) Validate() error { return validSeat("seat", l.Seat) }

// HostAway says the host of a private lobby has had no page open for a
// while: the next human in join order becomes the host, so guests need not
// wait out the lobby's idle timeout for a host who closed the tab. The away
// host keeps the seat. Written by the gateway that served the host's page.
type HostAway struct {
	Seat string `json:"seat"`
}

func (*HostAway) EventType() string { return TypeHostAway }
func (h *HostAway) Validate() error { return validSeat("seat", h.Seat) }

// AudienceVote is a spectator's pick of the seat they believe is human in
// a round: shown with the round's results and in the reveal, never counted
// in a player's score. Spectator is an opaque id the gateway derives from
// the spectator's browser id, one vote each per round. Written by the
// gateway.
type AudienceVote struct {
	Spectator string `json:"spectator"`
	Seat      string `json:"seat"`
	Round     int    `json:"round"`
}

func (*AudienceVote) EventType() string { return TypeAudienceVote }
func (a *AudienceVote) Validate() error {
	switch {
	case a.Spectator == "" || len(a.Spectator) > 64:
		return fieldErr("spectator", "must be 1..64 characters")
	case a.Round < 1:
		return fieldErr("round", "must be >= 1")
	}
	return validSeat("seat", a.Seat)
}

// SeatText is one anonymised answer, as handed to a robot.
type SeatText struct {
	Seat string `json:"seat"`
	Text string `json:"text"`
}

// RobotCommand asks one personality to answer or vote for a seat.
// CommandID is derived from (match, round, seat, kind), so a re-sent command
// is the same command. Written by the orchestrator to robot-commands.
type RobotCommand struct {
	CommandID  string     `json:"commandId"`
	Kind       string     `json:"kind"`
	RobotID    string     `json:"robotId"`
	Model      string     `json:"model,omitempty"` // the model this seat plays on in this match (an A/B variant drawn at creation)
	Seat       string     `json:"seat"`
	Round      int        `json:"round"`
	Prompt     string     `json:"prompt"`
	Answers    []SeatText `json:"answers,omitempty"`    // others' answers so far (answer) or all (vote)
	Candidates []string   `json:"candidates,omitempty"` // seats it may vote for
	DeadlineMs int64      `json:"deadlineMs"`           // unix ms; past it the command is skipped
	MaxChars   int        `json:"maxChars"`

	// The schedule, drawn by the orchestrator from how humans play, so the
	// robot only carries it out (scaled by its personality's speed). Offsets
	// are from StartedMs: the round's start for an answer, voting's for a
	// vote. A command without StartedMs is from an older orchestrator.
	StartedMs     int64 `json:"startedMs,omitempty"`     // unix ms
	TypingAfterMs int64 `json:"typingAfterMs,omitempty"` // when "typing" shows; 0: it never does
	ReplyAfterMs  int64 `json:"replyAfterMs,omitempty"`  // when the answer or vote lands
	Silent        bool  `json:"silent,omitempty"`        // give no answer (after typing, if TypingAfterMs > 0)

	// What the answer is written from. Slot (of Slots) is this robot's share
	// of the answer ideas, so robots answering the same round at once never
	// pick the same one; Earlier holds the match's answers of earlier rounds
	// (phrases not to repeat); Style holds a few recent human answers whose
	// length, case and punctuation to match; Learned holds human answers to
	// this prompt in other matches (never this match's players), to reword.
	Slot    int        `json:"slot,omitempty"`
	Slots   int        `json:"slots,omitempty"`
	Earlier []SeatText `json:"earlier,omitempty"`
	Style   []string   `json:"style,omitempty"`
	Learned []string   `json:"learned,omitempty"`
	// Avoid holds robots' answers to this prompt in other matches: their
	// history is public, so their phrases would name a robot.
	Avoid []string `json:"avoid,omitempty"`
}

func (*RobotCommand) EventType() string { return TypeRobotCommand }
func (c *RobotCommand) Validate() error {
	switch {
	case c.CommandID == "":
		return fieldErr("commandId", "required")
	case c.Kind != KindAnswer && c.Kind != KindVote:
		return fieldErr("kind", "must be answer or vote")
	case c.RobotID == "":
		return fieldErr("robotId", "required")
	case c.Round < 1:
		return fieldErr("round", "must be >= 1")
	case c.DeadlineMs <= 0:
		return fieldErr("deadlineMs", "required")
	case c.Kind == KindVote && len(c.Candidates) == 0:
		return fieldErr("candidates", "required for a vote")
	case c.StartedMs < 0 || c.TypingAfterMs < 0 || c.ReplyAfterMs < 0:
		return fieldErr("startedMs", "the schedule's times must be >= 0")
	case c.Slots < 0 || c.Slot < 0 || (c.Slots > 0 && c.Slot >= c.Slots):
		return fieldErr("slot", "must be 0..slots-1")
	}
	return validSeat("seat", c.Seat)
}

// RobotTyping is a robot's interim "typing" signal. Written by robots.
type RobotTyping struct {
	CommandID string `json:"commandId"`
	Seat      string `json:"seat"`
	Round     int    `json:"round"`
}

func (*RobotTyping) EventType() string { return TypeRobotTyping }
func (r *RobotTyping) Validate() error {
	if r.CommandID == "" {
		return fieldErr("commandId", "required")
	}
	return validSeat("seat", r.Seat)
}

// ResponseGenerated is a robot's finished answer (Text) or vote (Vote).
// Written by robots to robot-events.
type ResponseGenerated struct {
	CommandID    string `json:"commandId"`
	Kind         string `json:"kind"`
	RobotID      string `json:"robotId"`
	Seat         string `json:"seat"`
	Round        int    `json:"round"`
	Text         string `json:"text,omitempty"`
	Vote         string `json:"vote,omitempty"`
	Model        string `json:"model"`
	ProcessingMs int64  `json:"processingMs"`
}

func (*ResponseGenerated) EventType() string { return TypeResponseGenerated }
func (r *ResponseGenerated) Validate() error {
	switch {
	case r.CommandID == "":
		return fieldErr("commandId", "required")
	case r.Kind != KindAnswer && r.Kind != KindVote:
		return fieldErr("kind", "must be answer or vote")
	case r.Round < 1:
		return fieldErr("round", "must be >= 1")
	case r.Kind == KindVote:
		if err := validPick("vote", r.Vote); err != nil {
			return err
		}
	}
	return validSeat("seat", r.Seat)
}

// ResponseFailed says a robot gave up on a command. Written by robots.
type ResponseFailed struct {
	CommandID string `json:"commandId"`
	Kind      string `json:"kind"`
	RobotID   string `json:"robotId"`
	Seat      string `json:"seat"`
	Round     int    `json:"round"`
	Error     string `json:"error"`
}

func (*ResponseFailed) EventType() string { return TypeResponseFailed }
func (r *ResponseFailed) Validate() error {
	if r.CommandID == "" {
		return fieldErr("commandId", "required")
	}
	return validSeat("seat", r.Seat)
}

// validPick accepts what a vote may name: a seat letter or NoOne.
func validPick(field, s string) error {
	if s == NoOne {
		return nil
	}
	return validSeat(field, s)
}

func validSeat(field, s string) error {
	if len(s) != 1 || s[0] < 'A' || s[0] > 'Z' {
		return fieldErr(field, "must be a seat letter A-Z")
	}
	return nil
}

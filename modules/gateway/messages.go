package gateway

import "github.com/arena-hq/arena/modules/game"

// Error codes of the WebSocket protocol besides the game's rejection codes
// (modules/game/rejection.go), which are passed on as they are.
const (
	codeBadJSON     = "bad_json"     // the frame is not a JSON object of the protocol
	codeUnknownType = "unknown_type" // "type" is not a frame of the protocol
	codeBadFrame    = "bad_frame"    // a binary frame
	codeTooLarge    = "too_large"    // a frame over maxFrame bytes
	codeBadUTF8     = "bad_utf8"     // a frame that is not valid UTF-8
	codeRateLimited = "rate_limited" // over the connection's rate; the frame was dropped
	codeBadRequest  = "bad_request"  // a field the event would not validate with
	codeUnavailable = "unavailable"  // the event could not be produced; retry
	codeTimeout     = "timeout"      // produced, but not judged in time: retry with the same id
	codeNotFound    = "not_found"    // the match is no longer live here
)

// messages are what a player is told for each code. They are written for
// people and never name a seat: a rule's own reason may ("only the host,
// seat C, ..."), and in the lobby a seat letter would tell who is human.
var messages = map[string]string{
	codeBadJSON:     "That message could not be read (it is not valid JSON for this game).",
	codeUnknownType: "Unknown message type: use answer, vote, typing, start, settings, kick or leave.",
	codeBadFrame:    "Binary messages are not accepted: send JSON text.",
	codeTooLarge:    "That message is too large.",
	codeBadUTF8:     "That message is not valid UTF-8 text.",
	codeRateLimited: "You're sending messages too fast. Slow down a little.",
	codeBadRequest:  "That message is missing something or has a bad value.",
	codeUnavailable: "The server could not save that right now. Please try again.",
	codeTimeout:     "The server is slow to confirm that. Please try again.",
	codeNotFound:    "This match doesn't exist.",

	game.CodeMalformed:        "That message is missing something or has a bad value.",
	game.CodeNoMatch:          "This match doesn't exist.",
	game.CodeWrongPhase:       "That's not possible at this point of the match.",
	game.CodeWrongRound:       "That round is not being played right now.",
	game.CodeLate:             "Too late: time is up for that.",
	game.CodeMatchFull:        "This match is full.",
	game.CodeDuplicatePlayer:  "You already have a seat in this match.",
	game.CodeNoPlayers:        "A match needs at least one player to start.",
	game.CodeNotHost:          "Only the host can do that.",
	game.CodeBadSettings:      "Those settings are out of bounds.",
	game.CodeSelfKick:         "You can't remove yourself: leave the lobby instead.",
	game.CodeKicked:           "The host removed you from this match.",
	game.CodeAlreadyPicked:    "You already picked in this round.",
	game.CodeUnknownSeat:      "Nobody sits in that seat.",
	game.CodeAlreadyAnswered:  "You already answered this round.",
	game.CodeEmpty:            "Your answer is empty.",
	game.CodeTooLong:          "Your answer is too long.",
	game.CodeSelfVote:         "You can't vote for yourself.",
	game.CodeAlreadyVoted:     "You already voted this round.",
	game.CodeAlreadyFinished:  "This match is over.",
	game.CodeDuplicateRematch: "Play again was already set up for this match.",
}

// msgQuickStart refuses "start" in a quick match: the reducer would let its
// first player start it, but a public queue waits its lobby time for others
// (DESIGN.md: quick matches start after a short wait, private ones by the host).
const msgQuickStart = "Quick matches start by themselves when the lobby wait is over."

// messageFor returns the player-facing message of a code.
func messageFor(code string) string {
	if m, ok := messages[code]; ok {
		return m
	}
	return "That didn't work (" + code + ")."
}

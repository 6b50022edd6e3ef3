package gateway

import (
	"fmt"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Host controls of a private lobby (frames "settings", "kick", "leave"):
// the gateway turns them into match.settings, player.kicked and
// player.left, and the reducer judges them like any other fact.

// settingsLimits are the bounds a host's settings are held to: the game's
// own (modules/game) narrowed to what a party plays, and never tighter than
// the server's configured values, so the defaults are always allowed.
type settingsLimits struct {
	MaxRounds     int `json:"maxRounds"`
	MinAnswerSecs int `json:"minAnswerSeconds"`
	MaxAnswerSecs int `json:"maxAnswerSeconds"`
	MinVoteSecs   int `json:"minVoteSeconds"`
	MaxVoteSecs   int `json:"maxVoteSeconds"`
	MaxHumans     int `json:"maxHumans"`
}

func (g *Gateway) settingsLimits() settingsLimits {
	gc := g.cfg.Game
	secs := func(d time.Duration) int { return int(d / time.Second) }
	clampSecs := func(lo, hi time.Duration, cfg time.Duration) (int, int) {
		return secs(min(lo, max(cfg, game.MinWindow))), secs(min(max(hi, cfg), game.MaxWindow))
	}
	l := settingsLimits{MaxRounds: min(game.MaxRounds, max(10, gc.Rounds)), MaxHumans: gc.Seats - 1}
	l.MinAnswerSecs, l.MaxAnswerSecs = clampSecs(10*time.Second, 3*time.Minute, gc.AnswerWindow)
	l.MinVoteSecs, l.MaxVoteSecs = clampSecs(10*time.Second, 2*time.Minute, gc.VoteWindow)
	return l
}

// settingsEvent builds the host's match.settings from frame f, or says why
// not. Rounds beyond the match's prompts get new ones from the pack,
// distinct from the match's while the pack lasts.
func (ss *session) settingsEvent(s *game.State, f clientFrame) (events.Payload, string, string) {
	l := ss.g.settingsLimits()
	switch {
	case f.Rounds < 1 || f.Rounds > l.MaxRounds:
		return nil, game.CodeBadSettings, fmt.Sprintf("Pick 1 to %d rounds.", l.MaxRounds)
	case f.AnswerSeconds < l.MinAnswerSecs || f.AnswerSeconds > l.MaxAnswerSecs:
		return nil, game.CodeBadSettings, fmt.Sprintf("The answer time is %d to %d seconds.", l.MinAnswerSecs, l.MaxAnswerSecs)
	case f.VoteSeconds < l.MinVoteSecs || f.VoteSeconds > l.MaxVoteSecs:
		return nil, game.CodeBadSettings, fmt.Sprintf("The voting time is %d to %d seconds.", l.MinVoteSecs, l.MaxVoteSecs)
	case f.Humans < 1 || f.Humans > l.MaxHumans:
		return nil, game.CodeBadSettings, fmt.Sprintf("A match takes 1 to %d players: robots need a seat too.", l.MaxHumans)
	}
	prompts := slices.Clone(s.Settings.Prompts[:min(f.Rounds, len(s.Settings.Prompts))])
	for len(prompts) < f.Rounds {
		var fresh []string
		for _, p := range ss.g.cfg.Prompts {
			if !slices.Contains(prompts, p) {
				fresh = append(fresh, p)
			}
		}
		if len(fresh) == 0 { // the pack is played out: repeats from here
			fresh = slices.Clone(ss.g.cfg.Prompts)
		}
		shuffleN(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
		prompts = append(prompts, fresh[:min(len(fresh), f.Rounds-len(prompts))]...)
	}
	return &events.MatchSettings{
		By:             ss.seat,
		Rounds:         f.Rounds,
		Prompts:        prompts,
		AnswerWindowMs: int64(f.AnswerSeconds) * 1000,
		VoteWindowMs:   int64(f.VoteSeconds) * 1000,
		Humans:         f.Humans,
	}, "", ""
}

// kickEvent builds the host's player.kicked for the player with the lobby
// handle f.Player (the lobby never shows letters).
func (ss *session) kickEvent(s *game.State, f clientFrame) (events.Payload, string, string) {
	letter := s.SeatOfHandle(f.Player)
	if letter == "" {
		return nil, game.CodeUnknownSeat, "That player is not in this lobby any more."
	}
	return &events.PlayerKicked{By: ss.seat, Seat: letter}, "", ""
}

// holds reports whether the session's token still holds its seat: a kick
// or a leave frees the letter, and the next human or robot may take it.
func (ss *session) holds(s *game.State) bool {
	seat := s.SeatOf(ss.seat)
	return seat != nil && seat.Human && seat.TokenHash == ss.tokenHash
}

// evicted closes the socket of a seat its token no longer holds, and
// reports so, instead of showing it whoever sits in that letter now. The
// close runs on its own goroutine: the fold never waits for a socket.
func (ss *session) evicted(s *game.State) bool {
	if ss.seat == "" || ss.holds(s) {
		return false
	}
	reason := "You left this match."
	if slices.Contains(s.Kicked, ss.playerID) {
		reason = "The host removed you from this match."
	}
	if ss.evicting.CompareAndSwap(false, true) {
		go ss.close(websocket.StatusPolicyViolation, reason)
	}
	return true
}

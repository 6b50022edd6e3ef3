package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// seatReply answers create, join and rematch: the player's seat and the
// secret token that resumes it.
type seatReply struct {
	MatchID string `json:"matchId"`
	Code    string `json:"code,omitempty"`
	Seat    string `json:"seat"`
	Token   string `json:"token"`
}

// newMatch decides everything random about a new match (seat letters,
// prompts, robot roster, invite code) and returns its match.created.
func (g *Gateway) newMatch(mode string, humans int, previous string) (events.Envelope, error) {
	gc := g.cfg.Game
	seats := gc.Seats
	order := make([]string, seats)
	for i := range order {
		order[i] = string(rune('A' + i))
	}
	shuffle(order)

	prompts := make([]string, 0, gc.Rounds)
	for len(prompts) < gc.Rounds { // distinct while the pack lasts
		pack := append([]string(nil), g.cfg.Prompts...)
		shuffle(pack)
		prompts = append(prompts, pack[:min(len(pack), gc.Rounds-len(prompts))]...)
	}

	roster := make([]events.RobotSeat, 0, seats-1)
	for len(roster) < seats-1 { // every personality once before any repeats
		stable := append([]config.Personality(nil), g.cfg.Robots...)
		shuffle(stable)
		for _, p := range stable[:min(len(stable), seats-1-len(roster))] {
			roster = append(roster, events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: g.robotModel(p)})
		}
	}

	c := &events.MatchCreated{
		Mode:           mode,
		Seats:          seats,
		Humans:         humans,
		Rounds:         gc.Rounds,
		Prompts:        prompts,
		SeatOrder:      order,
		Robots:         roster,
		AnswerWindowMs: gc.AnswerWindow.Milliseconds(),
		VoteWindowMs:   gc.VoteWindow.Milliseconds(),
		ResultsPauseMs: gc.ResultsPause.Milliseconds(),
		LobbyWaitMs:    gc.LobbyWait.Milliseconds(),
		IdleTimeoutMs:  gc.IdleTimeout.Milliseconds(),
		MaxAnswerChars: gc.MaxAnswerChars,
		Previous:       previous,
	}
	if mode == events.ModePrivate {
		c.Code = g.uniqueCode()
	}
	return events.New(newMatchID(), events.SourceGateway, time.Now(), c)
}

// robotModel is the model a personality plays on, as shown in the reveal
// and counted in the stats: "scripted" when robots run the offline model.
func (g *Gateway) robotModel(p config.Personality) string {
	if g.cfg.LLM.EffectiveProvider() == config.ProviderScripted {
		return config.ProviderScripted
	}
	if p.Model != "" {
		return p.Model
	}
	return g.cfg.LLM.Model
}

// uniqueCode returns an invite code no known match uses. Two instances could
// still pick the same code at the same moment; at 31^6 codes that is left
// to chance.
func (g *Gateway) uniqueCode() string {
	for {
		if c := newInviteCode(); !g.store.codeTaken(c) {
			return c
		}
	}
}

// ticket is a player about to take a seat.
type ticket struct {
	matchID  string
	playerID string
	token    string
	event    events.Envelope // the player.joined
}

func newTicket(matchID, playerID, name string) (ticket, error) {
	token, hash := newToken()
	e, err := events.New(matchID, events.SourceGateway, time.Now(), &events.PlayerJoined{PlayerID: playerID, Name: name, TokenHash: hash})
	if err != nil {
		return ticket{}, err
	}
	return ticket{matchID: matchID, playerID: playerID, token: token, event: e}, nil
}

// seat produces pre and the ticket's player.joined in one go (they share
// the match key, so they stay in order) and waits until match-state shows
// the seat, or the rules' refusal. current is the match's state if it
// exists already; the join is checked against it first.
func (g *Gateway) seat(ctx context.Context, current *game.State, t ticket, pre ...events.Envelope) (seatReply, *apiError) {
	log := g.logger.With("match_id", t.matchID, "event_id", t.event.ID)
	if current != nil {
		if err := game.Check(current, t.event); err != nil {
			return seatReply{}, joinRefused(game.RejectionCode(err), t.matchID)
		}
	}
	if err := g.publish(ctx, append(pre, t.event)...); err != nil {
		log.Error("producing a join failed", "err", err)
		return seatReply{}, errUnavailable
	}
	return g.awaitSeat(ctx, t)
}

// awaitSeat waits until match-state shows the ticket's seat, or the rules'
// refusal of its join.
func (g *Gateway) awaitSeat(ctx context.Context, t ticket) (seatReply, *apiError) {
	log := g.logger.With("match_id", t.matchID, "event_id", t.event.ID)
	var (
		letter, refused string
		wctx, cancel    = context.WithTimeout(ctx, g.seatWait)
	)
	defer cancel()
	want := tokenHash(t.token)
	s, err := g.store.wait(wctx, t.matchID, func(s *game.State) bool {
		if s == nil {
			return false
		}
		for _, seat := range s.Seats {
			if seat.PlayerID != t.playerID {
				continue
			}
			if seat.TokenHash == want {
				letter = seat.Letter
			} else {
				refused = game.CodeDuplicatePlayer
			}
			return true
		}
		if _, seen := s.Seen[t.event.ID]; seen {
			refused = "rejected"
			for _, r := range s.Rejections {
				if r.EventID == t.event.ID {
					refused = r.Code
				}
			}
			return true
		}
		return false
	})
	switch {
	case err != nil:
		log.Warn("join produced but its seat did not show in match-state in time", "err", err)
		return seatReply{}, errTimeout
	case refused != "":
		log.Info("join refused", "code", refused)
		return seatReply{}, joinRefused(refused, t.matchID)
	}
	log.Info("player seated", "seat", letter)
	return seatReply{MatchID: t.matchID, Code: s.Settings.Code, Seat: letter, Token: t.token}, nil
}

// joinRefused turns the rules' refusal of a join into an API error.
func joinRefused(code, matchID string) *apiError {
	switch code {
	case game.CodeWrongPhase, game.CodeAlreadyFinished:
		return &apiError{Status: http.StatusConflict, Code: "already_started", Message: "This match has already started."}
	case game.CodeMatchFull:
		return &apiError{Status: http.StatusConflict, Code: game.CodeMatchFull, Message: "This match is full."}
	case game.CodeDuplicatePlayer:
		return &apiError{Status: http.StatusConflict, Code: "already_joined", Message: "You already have a seat in this match.", MatchID: matchID}
	}
	return &apiError{Status: http.StatusConflict, Code: code, Message: messageFor(code)}
}

// create opens a new match with the player as its first human (and host).
func (g *Gateway) create(ctx context.Context, mode string, humans int, name string) (seatReply, *apiError) {
	created, err := g.newMatch(mode, humans, "")
	if err != nil {
		g.logger.Error("building match.created failed", "err", err)
		return seatReply{}, errInternal
	}
	t, err := newTicket(created.MatchID, newPlayerID(), name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	g.logger.Info("creating match", "match_id", created.MatchID, "event_id", created.ID, "mode", mode, "humans", humans)
	return g.seat(ctx, nil, t, created)
}

// quick seats the player in the oldest open quick match, or creates one.
func (g *Gateway) quick(ctx context.Context, name string) (seatReply, *apiError) {
	tried := map[string]bool{}
	for range 3 {
		var open *game.State
		for _, s := range g.store.openQuick(time.Now()) {
			if !tried[s.MatchID] {
				open = s
				break
			}
		}
		if open == nil {
			break
		}
		tried[open.MatchID] = true
		t, err := newTicket(open.MatchID, newPlayerID(), name)
		if err != nil {
			return seatReply{}, badRequest(err.Error())
		}
		reply, aerr := g.seat(ctx, open, t)
		if aerr == nil || (aerr.Code != game.CodeMatchFull && aerr.Code != "already_started") {
			return reply, aerr
		}
		// Someone else took the last seat, or the lobby wait ran out: next.
	}
	return g.create(ctx, events.ModeQuick, g.cfg.Game.Humans, name)
}

// joinByCode seats the player in the private match with the invite code.
func (g *Gateway) joinByCode(ctx context.Context, code, name string) (seatReply, *apiError) {
	s := g.store.byCode(code)
	if s == nil {
		return seatReply{}, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No match has that invite code. Check it and try again."}
	}
	t, err := newTicket(s.MatchID, newPlayerID(), name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	return g.seat(ctx, s, t)
}

// rematch is "play again" for a human of a finished match: it joins the
// rematch another player already set up, or sets one up. The player id in
// the rematch is derived from the old seat, so asking twice never yields
// two seats.
func (g *Gateway) rematch(ctx context.Context, old *game.State, me *game.Seat) (seatReply, *apiError) {
	playerID := events.DerivedID("rematch", old.MatchID, me.PlayerID)
	if old.Rematch != nil {
		return g.joinRematch(ctx, old.Rematch.MatchID, playerID, me.Name)
	}
	created, err := g.newMatch(events.ModePrivate, clamp(humans(old), 1, g.cfg.Game.Seats-1), old.MatchID)
	if err != nil {
		g.logger.Error("building match.created failed", "err", err)
		return seatReply{}, errInternal
	}
	var c events.MatchCreated
	if p, err := created.Payload(); err == nil {
		c = *p.(*events.MatchCreated)
	}
	t, err := newTicket(created.MatchID, playerID, me.Name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	claim, err := events.New(old.MatchID, events.SourceGateway, time.Now(), &events.RematchCreated{MatchID: created.MatchID, Code: c.Code})
	if err != nil {
		return seatReply{}, errInternal
	}
	log := g.logger.With("match_id", old.MatchID, "event_id", claim.ID, "rematch_id", created.MatchID)
	// The new match goes first, so that whoever follows the link finds it.
	if err := g.publish(ctx, created, t.event); err != nil {
		log.Error("producing a rematch failed", "err", err)
		return seatReply{}, errUnavailable
	}
	if err := g.publish(ctx, claim); err != nil {
		log.Error("producing rematch.created failed", "err", err)
		return seatReply{}, errUnavailable
	}
	wctx, cancel := context.WithTimeout(ctx, g.seatWait)
	defer cancel()
	s, err := g.store.wait(wctx, old.MatchID, func(s *game.State) bool { return s != nil && s.Rematch != nil })
	if err != nil {
		log.Warn("rematch.created did not show in match-state in time", "err", err)
		return seatReply{}, errTimeout
	}
	if s.Rematch.MatchID != created.MatchID {
		// Another player's rematch won the race: end ours, join theirs.
		log.Info("another rematch won the race", "winner", s.Rematch.MatchID)
		if end, err := events.New(created.MatchID, events.SourceGateway, time.Now(), &events.MatchEnded{Reason: events.EndAbandoned}); err == nil {
			if err := g.publish(ctx, end); err != nil {
				log.Warn("could not end the losing rematch; its lobby will idle out", "err", err)
			}
		}
		return g.joinRematch(ctx, s.Rematch.MatchID, playerID, me.Name)
	}
	log.Info("rematch created")
	return g.awaitSeat(ctx, t)
}

// joinRematch seats the player in the rematch, waiting a moment for its
// state if this instance has not seen it yet.
func (g *Gateway) joinRematch(ctx context.Context, matchID, playerID, name string) (seatReply, *apiError) {
	wctx, cancel := context.WithTimeout(ctx, g.seatWait)
	s, err := g.store.wait(wctx, matchID, func(s *game.State) bool { return s != nil })
	cancel()
	if err != nil {
		return seatReply{}, errTimeout
	}
	t, err := newTicket(matchID, playerID, name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	return g.seat(ctx, s, t)
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

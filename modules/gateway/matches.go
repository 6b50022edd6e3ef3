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

// newMatch decides everything random about a new match (game.NewMatch,
// with crypto/rand, and the invite code) and returns its match.created.
func (g *Gateway) newMatch(mode string, humans int, previous string, rt retry) (events.Envelope, error) {
	gc := g.cfg.Game
	stable := make([]events.RobotSeat, len(g.cfg.Robots))
	for i, p := range g.cfg.Robots {
		stable[i] = events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: g.robotModel(p)}
	}
	setup := game.Setup{
		Mode: mode, Seats: gc.Seats, Humans: humans, Rounds: gc.Rounds, Previous: previous,
		Prompts: g.cfg.Prompts, Stable: stable,
		AnswerWindow: gc.AnswerWindow, VoteWindow: gc.VoteWindow, ResultsPause: gc.ResultsPause,
		LobbyWait: gc.LobbyWait, IdleTimeout: gc.IdleTimeout, MaxAnswerChars: gc.MaxAnswerChars,
	}
	if mode == events.ModePrivate {
		setup.Code = g.uniqueCode()
	}
	c := game.NewMatch(shuffleN, setup)
	if rt.key != "" {
		id := derivedID(16, "match", rt.key)
		return events.NewWithID(events.DerivedID("create", rt.key), id, events.SourceGateway, time.Now(), c)
	}
	return events.New(newMatchID(), events.SourceGateway, time.Now(), c)
}

// robotModel is the model a personality is to play this match on, sent
// to the robot with each command: one of its A/B variants, drawn per
// match, or its model, or llm.model. The reveal names what the robot's
// answers report (the offline model says "scripted"), so this gateway's
// own LLM settings (its provider, its API key) do not decide it.
func (g *Gateway) robotModel(p config.Personality) string {
	return config.PickModel(p, g.cfg.DefaultModel, nil)
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

// newTicket makes the join of a new player with a fresh token.
func newTicket(matchID, playerID, name string) (ticket, error) {
	token, hash := newToken()
	return ticketWith(matchID, playerID, name, token, hash)
}

func ticketWith(matchID, playerID, name, token, hash string) (ticket, error) {
	e, err := events.New(matchID, events.SourceGateway, time.Now(), &events.PlayerJoined{PlayerID: playerID, Name: name, TokenHash: hash})
	if err != nil {
		return ticket{}, err
	}
	return ticket{matchID: matchID, playerID: playerID, token: token, event: e}, nil
}

// retry is what makes a create or join idempotent: a request with the same
// key (the Idempotency-Key header) yields the same player id and token, so a
// client that retries after a lost reply gets its seat back instead of a
// second one. The key is a secret like a token: the token derives from it.
type retry struct{ key string }

func (r retry) playerID() string {
	if r.key == "" {
		return newPlayerID()
	}
	return derivedID(20, "player", r.key)
}

func (r retry) ticket(matchID, name string) (ticket, error) {
	if r.key == "" {
		return newTicket(matchID, newPlayerID(), name)
	}
	token, hash := derivedToken("seat", r.key)
	return ticketWith(matchID, r.playerID(), name, token, hash)
}

// seat produces pre and the ticket's player.joined in one go (they share
// the match key, so they stay in order) and waits for the fold's verdict
// on the join. current is the match's entry if it exists already; the join
// is checked against it first.
func (g *Gateway) seat(ctx context.Context, current *entry, t ticket, pre ...events.Envelope) (seatReply, *apiError) {
	log := g.logger.With("match_id", t.matchID, "event_id", t.event.ID)
	if current != nil {
		var err error
		current.read(func(s *game.State) { err = game.Check(s, t.event) })
		if code := game.RejectionCode(err); code != "" && code != game.CodeDuplicatePlayer {
			return seatReply{}, joinRefused(code, t.matchID)
		}
		if err != nil { // this player sits there already: a retry
			return g.seated(t)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, g.seatWait)
	defer cancel()
	v := g.submit(wctx, true, append(pre, t.event)...)
	code := game.RejectionCode(v.err)
	switch {
	case !v.produced:
		log.Error("producing a join failed", "err", v.err)
		return seatReply{}, errUnavailable
	case code == game.CodeDuplicatePlayer:
		return g.seated(t)
	case code != "":
		log.Info("join refused", "code", code)
		return seatReply{}, joinRefused(code, t.matchID)
	case v.err != nil:
		log.Warn("join produced but not judged in time", "err", v.err)
		return seatReply{}, errTimeout
	}
	return g.seated(t)
}

// seated returns the ticket's seat once the fold shows it: the seat of its
// player, if the token is the ticket's (else someone else's retry holds it).
func (g *Gateway) seated(t ticket) (seatReply, *apiError) {
	e := g.store.entry(t.matchID)
	if e == nil {
		return seatReply{}, errTimeout
	}
	want := tokenHash(t.token)
	var reply seatReply
	refused := ""
	e.read(func(s *game.State) {
		for _, seat := range s.Seats {
			if seat.PlayerID != t.playerID {
				continue
			}
			if seat.TokenHash == want {
				reply = seatReply{MatchID: t.matchID, Code: s.Settings.Code, Seat: seat.Letter, Token: t.token}
			} else {
				refused = game.CodeDuplicatePlayer
			}
			return
		}
		refused = "rejected"
	})
	if refused != "" {
		return seatReply{}, joinRefused(refused, t.matchID)
	}
	g.logger.Info("player seated", "match_id", t.matchID, "seat", reply.Seat)
	return reply, nil
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
// With a retry key, the match id and the match.created event id derive
// from it, so a retried create is a duplicate of the first.
func (g *Gateway) create(ctx context.Context, mode string, humans int, name string, rt retry) (seatReply, *apiError) {
	created, err := g.newMatch(mode, humans, "", rt)
	if err != nil {
		g.logger.Error("building match.created failed", "err", err)
		return seatReply{}, errInternal
	}
	t, err := rt.ticket(created.MatchID, name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	g.logger.Info("creating match", "match_id", created.MatchID, "event_id", created.ID, "mode", mode, "humans", humans)
	return g.seat(ctx, g.store.entry(created.MatchID), t, created)
}

// quick seats the player in the oldest open quick match, or creates one.
func (g *Gateway) quick(ctx context.Context, name string, rt retry) (seatReply, *apiError) {
	if rt.key != "" { // a retry whose first try got a seat gets that seat
		if id := g.store.matchOf(rt.playerID()); id != "" {
			if t, err := rt.ticket(id, name); err == nil {
				if reply, aerr := g.seated(t); aerr == nil {
					return reply, nil
				}
			}
		}
	}
	tried := map[string]bool{}
	for range 3 {
		var open *entry
		for _, id := range g.store.openQuick(time.Now()) {
			if !tried[id] {
				open = g.store.entry(id)
				tried[id] = true
				break
			}
		}
		if open == nil {
			break
		}
		t, err := rt.ticket(open.match.State.MatchID, name)
		if err != nil {
			return seatReply{}, badRequest(err.Error())
		}
		reply, aerr := g.seat(ctx, open, t)
		if aerr == nil || (aerr.Code != game.CodeMatchFull && aerr.Code != "already_started") {
			return reply, aerr
		}
		// Someone else took the last seat, or the lobby wait ran out: next.
	}
	return g.create(ctx, events.ModeQuick, g.cfg.Game.Humans, name, rt)
}

// joinByCode seats the player in the private match with the invite code.
func (g *Gateway) joinByCode(ctx context.Context, code, name string, rt retry) (seatReply, *apiError) {
	e := g.store.byCode(code)
	if e == nil {
		return seatReply{}, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No match has that invite code. Check it and try again."}
	}
	t, err := rt.ticket(e.match.State.MatchID, name)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	return g.seat(ctx, e, t)
}

// rematch is "play again" for a human of a finished match: it joins the
// rematch another player already set up, or sets one up. The player id and
// the token in the rematch derive from the old seat and its token, so
// asking twice (a retry after a lost reply) returns the same seat.
func (g *Gateway) rematch(ctx context.Context, old *entry, me game.Seat, token string) (seatReply, *apiError) {
	var (
		oldID, existing, mode string
		humanCount            int
	)
	old.read(func(s *game.State) {
		oldID, humanCount, mode = s.MatchID, s.Humans(), s.Settings.Mode
		if s.Rematch != nil {
			existing = s.Rematch.MatchID
		}
	})
	playerID := events.DerivedID("rematch", oldID, me.PlayerID)
	newToken, hash := derivedToken("rematch", oldID, token)
	if existing != "" {
		return g.joinRematch(ctx, existing, playerID, me.Name, newToken, hash)
	}
	// Play again keeps the mode: a quick match's humans meet in a new quick
	// lobby (which starts on its own, open to others like any quick lobby,
	// and as big as every quick match); a private one's in a private match
	// sized for them.
	size := clamp(humanCount, 1, g.cfg.Game.Seats-1)
	if mode != events.ModePrivate {
		mode, size = events.ModeQuick, g.cfg.Game.Humans
	}
	created, err := g.newMatch(mode, size, oldID, retry{})
	if err != nil {
		g.logger.Error("building match.created failed", "err", err)
		return seatReply{}, errInternal
	}
	var c events.MatchCreated
	if p, err := created.Payload(); err == nil {
		c = *p.(*events.MatchCreated)
	}
	t, err := ticketWith(created.MatchID, playerID, me.Name, newToken, hash)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	claim, err := events.New(oldID, events.SourceGateway, time.Now(), &events.RematchCreated{MatchID: created.MatchID, Code: c.Code})
	if err != nil {
		return seatReply{}, errInternal
	}
	log := g.logger.With("match_id", oldID, "event_id", claim.ID, "rematch_id", created.MatchID)
	// The new match goes first, so that whoever follows the link finds it.
	reply, aerr := g.seat(ctx, nil, t, created)
	if aerr != nil {
		return seatReply{}, aerr
	}
	v := g.submit(ctx, true, claim)
	switch code := game.RejectionCode(v.err); {
	case !v.produced:
		log.Error("producing rematch.created failed", "err", v.err)
		return seatReply{}, errUnavailable
	case code == game.CodeDuplicateRematch:
		// Another player's rematch won the race: end ours, join theirs.
		var winner string
		old.read(func(s *game.State) {
			if s.Rematch != nil {
				winner = s.Rematch.MatchID
			}
		})
		log.Info("another rematch won the race", "winner", winner)
		if end, err := events.New(created.MatchID, events.SourceGateway, time.Now(), &events.MatchEnded{Reason: events.EndAbandoned}); err == nil {
			if v := g.submit(ctx, false, end); !v.produced {
				log.Warn("could not end the losing rematch; its lobby will idle out", "err", v.err)
			}
		}
		return g.joinRematch(ctx, winner, playerID, me.Name, newToken, hash)
	case code != "":
		return seatReply{}, &apiError{Status: http.StatusConflict, Code: code, Message: messageFor(code)}
	case v.err != nil:
		return seatReply{}, errTimeout
	}
	log.Info("rematch created")
	return reply, nil
}

// joinRematch seats the player in the rematch, waiting a moment for it if
// this instance's fold has not seen it yet.
func (g *Gateway) joinRematch(ctx context.Context, matchID, playerID, name, token, hash string) (seatReply, *apiError) {
	wctx, cancel := context.WithTimeout(ctx, g.seatWait)
	e, err := g.store.wait(wctx, matchID, func(*game.State) bool { return true })
	cancel()
	if err != nil {
		return seatReply{}, errTimeout
	}
	t, err := ticketWith(matchID, playerID, name, token, hash)
	if err != nil {
		return seatReply{}, badRequest(err.Error())
	}
	return g.seat(ctx, e, t)
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

package gateway

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Audience picks: a spectator (no seat, no token) picks who they think is
// human in each round. The reducer keeps one pick per spectator id per
// round, at most 1000 a round, and an audience vote is no new version of
// the players' views (their sockets send nothing for it); here each client
// address gets a small bucket, so one browser cannot stuff the box with
// fresh ids.

const (
	audienceRate    = 1.0 / 3 // picks a second per client address
	audienceBurst   = 5
	audienceClients = 10_000 // addresses remembered before the map starts over
)

type audienceLimits struct {
	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
}

func (a *audienceLimits) allow(addr netip.Prefix, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buckets == nil || len(a.buckets) >= audienceClients {
		a.buckets = map[netip.Prefix]*bucket{}
	}
	b := a.buckets[addr]
	if b == nil {
		b = newBucket(audienceRate, audienceBurst)
		a.buckets[addr] = b
	}
	return b.allow(now)
}

// POST /api/matches/{id}/audience {"round","seat","spectator"}: spectator
// is the browser's own random id (8..64 characters); the log gets an id
// derived from it and the match, never the id itself.
func (g *Gateway) handleAudience(w http.ResponseWriter, r *http.Request) (aerr *apiError) {
	defer func() { g.action("audience", aerr) }()
	var req struct {
		Round     int    `json:"round"`
		Seat      string `json:"seat"`
		Spectator string `json:"spectator"`
	}
	if e := decode(w, r, &req); e != nil {
		return e
	}
	if n := len(req.Spectator); n < 8 || n > 64 {
		return badRequest("spectator must be the browser's id of 8..64 characters.")
	}
	e := g.store.entry(r.PathValue("id"))
	if e == nil {
		return errNoMatch
	}
	if !g.audience.allow(g.limits.clientAddr(r), time.Now()) {
		return tooMany(w, 3*time.Second, codeRateLimited, "You're picking too fast. Slow down a little.")
	}
	matchID := e.match.State.MatchID
	p := &events.AudienceVote{Spectator: events.DerivedID("spectator", matchID, req.Spectator)[:16], Seat: req.Seat, Round: req.Round}
	env, err := events.NewWithID(events.DerivedID("audience", matchID, req.Spectator, req.Seat, strconv.Itoa(req.Round)), matchID, events.SourceGateway, time.Now(), p)
	if err != nil {
		return badRequest(err.Error())
	}
	refused, aerr := g.decide(r.Context(), e, env)
	if aerr != nil {
		return aerr
	}
	if refused != nil {
		code := game.RejectionCode(refused)
		return &apiError{Status: http.StatusConflict, Code: code, Message: messageFor(code)}
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

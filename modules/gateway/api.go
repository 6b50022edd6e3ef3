package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/materializer"
)

// apiError is the JSON error of every API call: {"code","message"}, plus
// the match id when the error points to a match (already_joined,
// already_started of a code).
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	MatchID string `json:"matchId,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

var (
	errUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "The server could not save that right now. Please try again."}
	errTimeout     = &apiError{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "The server is slow to answer right now. Please try again in a moment."}
	errInternal    = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on the server."}
	errStarting    = &apiError{Status: http.StatusServiceUnavailable, Code: "starting", Message: "The server is starting up. Please try again in a moment."}
	errNoMatch     = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "This match doesn't exist."}
	errNoToken     = &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "This needs your seat's token (Authorization: Bearer TOKEN)."}
	errBadToken    = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "Your token does not belong to a player of this match."}
)

func badRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"Something went wrong on the server."}`)
	}
	writeRaw(w, status, b)
}

// writeRaw writes b, which is JSON.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.Status, e) }

// maxBody bounds API request bodies.
const maxBody = 16 << 10

// decode reads a JSON body into v. Unknown fields are ignored, as
// everywhere in arena.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The request body is too large."}
		}
		return badRequest("The request body must be a JSON object: " + err.Error())
	}
	if dec.More() {
		return badRequest("The request body must be a single JSON object.")
	}
	return nil
}

// maxName is the longest display name, in characters.
const maxName = 40

// cleanName trims a display name and checks it: 1..40 characters of valid
// UTF-8, no control characters (which would only garble the pages), no
// bidirectional controls (U+202E would turn the rest of a scoreboard line
// around) and at least one visible character.
func cleanName(raw string) (string, *apiError) {
	name := strings.TrimSpace(raw)
	bad := func(msg string) (string, *apiError) {
		return "", &apiError{Status: http.StatusBadRequest, Code: "bad_name", Message: msg}
	}
	switch {
	case name == "":
		return bad("Pick a display name first.")
	// encoding/json turns invalid UTF-8 into U+FFFD before we see it, so
	// the replacement character is how invalid bytes show up here.
	case !utf8.ValidString(name) || strings.ContainsRune(name, utf8.RuneError):
		return bad("Your name must be valid UTF-8 text.")
	case utf8.RuneCountInString(name) > maxName:
		return bad(fmt.Sprintf("Keep your name to %d characters.", maxName))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("Your name cannot contain control characters.")
	case strings.IndexFunc(name, isBidiControl) >= 0:
		return bad("Your name cannot contain text-direction controls.")
	case strings.IndexFunc(name, isVisible) < 0:
		return bad("Your name needs at least one visible character.")
	}
	return name, nil
}

// isBidiControl reports the Unicode bidirectional formatting characters
// (embeddings, overrides, isolates and the implicit marks).
func isBidiControl(r rune) bool {
	return unicode.Is(unicode.Bidi_Control, r)
}

// isVisible reports a character that draws something: a letter, digit,
// punctuation or symbol, minus the few letters and symbols that are blank
// (Hangul fillers, the blank Braille pattern).
func isVisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// api wraps a handler that needs the followed state and the producer.
func (g *Gateway) api(h func(http.ResponseWriter, *http.Request) *apiError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.ready.Load() {
			writeError(w, errStarting)
			return
		}
		if e := h(w, r); e != nil {
			writeError(w, e)
		}
	}
}

// retryOf reads the Idempotency-Key header of a create or join: a client
// that retries with the same key gets the same seat and token.
func retryOf(r *http.Request) retry {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) > 200 {
		k = k[:200]
	}
	return retry{key: k}
}

// action counts an API action in the metrics by its outcome.
func (g *Gateway) action(kind string, e *apiError) {
	result := resultOK
	if e != nil {
		result = e.Code
	}
	g.metrics.actions.WithLabelValues(kind, result).Inc()
}

// POST /api/matches {"name","mode":"quick"|"private","humans"?}
func (g *Gateway) handleCreate(w http.ResponseWriter, r *http.Request) (aerr *apiError) {
	defer func() { g.action("create", aerr) }()
	var req struct {
		Name   string `json:"name"`
		Mode   string `json:"mode"`
		Humans *int   `json:"humans"`
	}
	if e := decode(w, r, &req); e != nil {
		return e
	}
	name, e := cleanName(req.Name)
	if e != nil {
		return e
	}
	if e := g.limits.admitCreate(w, r, req.Mode == events.ModePrivate, g.openLobby); e != nil {
		return e
	}
	var (
		reply seatReply
		seats = g.cfg.Game.Seats
	)
	switch req.Mode {
	case events.ModeQuick, "":
		reply, e = g.quick(r.Context(), name, retryOf(r))
	case events.ModePrivate:
		humans := g.cfg.Game.Humans
		if req.Humans != nil {
			humans = *req.Humans
			if humans < 1 || humans > seats-1 {
				return badRequest(fmt.Sprintf("humans must be within 1..%d: a match of %d seats needs at least one robot.", seats-1, seats))
			}
		}
		reply, e = g.create(r.Context(), events.ModePrivate, humans, name, retryOf(r))
		if e == nil {
			g.limits.created(r, reply.MatchID)
		}
	default:
		return badRequest(`mode must be "quick" or "private".`)
	}
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// POST /api/join {"code","name"}
func (g *Gateway) handleJoin(w http.ResponseWriter, r *http.Request) (aerr *apiError) {
	defer func() { g.action("join", aerr) }()
	var req struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if e := decode(w, r, &req); e != nil {
		return e
	}
	name, e := cleanName(req.Name)
	if e != nil {
		return e
	}
	code := strings.ToUpper(strings.TrimSpace(req.Code))
	if len(code) != codeLen {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_code", Message: fmt.Sprintf("Invite codes have %d letters or digits.", codeLen)}
	}
	if e := g.limits.admitJoin(w, r); e != nil {
		return e
	}
	reply, e := g.joinByCode(r.Context(), code, name, retryOf(r))
	g.limits.codeResult(r, e)
	if e != nil {
		return startedWithID(e, g.store.byCode(code))
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// startedWithID adds the match id to an already_started refusal of the
// match e, so the page can offer to watch it: whoever has the code may
// watch, as anyone may who has the match's URL.
func startedWithID(aerr *apiError, e *entry) *apiError {
	if aerr.Code != "already_started" || aerr.MatchID != "" || e == nil {
		return aerr
	}
	cp := *aerr // the refusals may be shared values
	e.read(func(s *game.State) { cp.MatchID = s.MatchID })
	return &cp
}

// playerOf resolves the match in the path and the seat of the bearer token.
// The seat is a copy: it may be used without the entry's lock.
func (g *Gateway) playerOf(r *http.Request) (*entry, game.Seat, *apiError) {
	e := g.store.entry(r.PathValue("id"))
	if e == nil {
		return nil, game.Seat{}, errNoMatch
	}
	token := bearer(r)
	if token == "" {
		return nil, game.Seat{}, errNoToken
	}
	var seat *game.Seat
	e.read(func(s *game.State) {
		if st := seatByToken(s, token); st != nil {
			cp := *st
			seat = &cp
		}
	})
	if seat == nil {
		return nil, game.Seat{}, errBadToken
	}
	return e, *seat, nil
}

// POST /api/matches/{id}/start (the host's token)
func (g *Gateway) handleStart(w http.ResponseWriter, r *http.Request) (aerr *apiError) {
	defer func() { g.action("start", aerr) }()
	e, seat, aerr := g.playerOf(r)
	if aerr != nil {
		return aerr
	}
	matchID := e.match.State.MatchID
	env, err := events.New(matchID, events.SourceGateway, time.Now(), &events.MatchStarted{By: seat.Letter})
	if err != nil {
		return errInternal
	}
	var quick bool
	e.read(func(s *game.State) { quick = s.Settings.Mode == events.ModeQuick })
	if quick {
		return &apiError{Status: http.StatusForbidden, Code: game.CodeNotHost, Message: msgQuickStart}
	}
	refused, aerr := g.decide(r.Context(), e, env)
	if aerr != nil {
		return aerr
	}
	if refused != nil {
		code := game.RejectionCode(refused)
		switch code {
		case game.CodeNotHost:
			return &apiError{Status: http.StatusForbidden, Code: code, Message: messageFor(code)}
		case game.CodeWrongPhase, game.CodeAlreadyFinished:
			return &apiError{Status: http.StatusConflict, Code: "already_started", Message: "This match has already started."}
		}
		return &apiError{Status: http.StatusConflict, Code: code, Message: messageFor(code)}
	}
	g.logger.Info("match started by host", "match_id", matchID, "event_id", env.ID, "seat", seat.Letter)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// POST /api/matches/{id}/rematch (the token of a human of that match)
func (g *Gateway) handleRematch(w http.ResponseWriter, r *http.Request) (aerr *apiError) {
	defer func() { g.action("rematch", aerr) }()
	e, seat, aerr := g.playerOf(r)
	if aerr != nil {
		if aerr == errNoMatch {
			if s, _ := g.finished(r.Context(), r.PathValue("id")); s != nil {
				return &apiError{Status: http.StatusConflict, Code: "too_old", Message: "This match ended too long ago to play again: start a new one."}
			}
		}
		return aerr
	}
	var phase string
	e.read(func(s *game.State) { phase = s.Phase })
	if phase != events.PhaseFinished {
		return &apiError{Status: http.StatusConflict, Code: "not_finished", Message: "Play again is possible once this match is over."}
	}
	reply, aerr := g.rematch(r.Context(), e, seat, bearer(r))
	if aerr != nil {
		return aerr
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// GET /api/matches/{id}: the spectator's view; the full reveal once
// finished. A finished match the fold has let go is read from its
// checkpoint.
func (g *Gateway) handleMatch(w http.ResponseWriter, r *http.Request) *apiError {
	id := r.PathValue("id")
	if e := g.store.entry(id); e != nil {
		var b []byte
		var err error
		e.read(func(s *game.State) { b, err = json.Marshal(game.ViewFor(s, "")) })
		if err != nil {
			return errInternal
		}
		writeRaw(w, http.StatusOK, b)
		return nil
	}
	s, err := g.finished(r.Context(), id)
	if err != nil {
		g.logger.Warn("fetching a finished match failed", "match_id", id, "err", err)
		return errTimeout
	}
	if s == nil {
		return errNoMatch
	}
	writeJSON(w, http.StatusOK, game.ViewFor(s, ""))
	return nil
}

// historyPage is the reply of GET /api/history.
type historyPage struct {
	Matches []materializer.HistoryItem `json:"matches"`
	Next    string                     `json:"next,omitempty"`
}

// GET /api/history?limit=&before=
func (g *Gateway) handleHistory(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("limit must be a positive number.")
		}
		limit = min(n, 100)
	}
	before := q.Get("before")
	if before != "" && !materializer.ValidCursor(before) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_cursor", Message: "before must be a cursor from an earlier page."}
	}
	items, next := g.views.History(limit, before)
	writeJSON(w, http.StatusOK, historyPage{Matches: items, Next: next})
	return nil
}

// GET /api/stats
func (g *Gateway) handleStats(w http.ResponseWriter, _ *http.Request) *apiError {
	writeJSON(w, http.StatusOK, g.views.Stats())
	return nil
}

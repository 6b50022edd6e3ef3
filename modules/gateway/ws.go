package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Frame limits: a frame over maxFrame gets a "too_large" error; one over
// readLimit makes the library close the socket (StatusMessageTooBig), since
// it would have to be read whole to be answered.
const (
	maxFrame  = 4 << 10
	readLimit = 64 << 10
)

// Client frame types.
const (
	frameAnswer = "answer"
	frameVote   = "vote"
	frameTyping = "typing"
	frameStart  = "start"
	// Host controls of a private lobby (lobby.go), and leaving a lobby.
	frameSettings = "settings"
	frameKick     = "kick"
	frameLeave    = "leave"
	frameOther    = "frame" // metrics label of frames whose type is not known
)

// clientFrame is every client frame's shape; which fields matter depends
// on Type. The frame never names the acting seat: that is the token's.
type clientFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Round int    `json:"round"`
	Text  string `json:"text"`
	Seat  string `json:"seat"`

	Player        string `json:"player,omitempty"`        // kick: the lobby handle
	Rounds        int    `json:"rounds,omitempty"`        // settings
	AnswerSeconds int    `json:"answerSeconds,omitempty"` // settings
	VoteSeconds   int    `json:"voteSeconds,omitempty"`   // settings
	Humans        int    `json:"humans,omitempty"`        // settings
}

type stateFrame struct {
	Type  string    `json:"type"`
	State game.View `json:"state"`
}

type ackFrame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type errorFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// session is one player's WebSocket. The HTTP handler's goroutine reads
// frames and acts on them; a writer goroutine runs while there are views or
// replies to push (kick); the gateway's pinger checks every socket now and
// then. The fold only ever drops the newest encoded view into the session's
// one-slot mailbox, so a slow or stuck client delays no one else: it gets
// the newest view when it catches up, or is dropped after writeTimeout.
type session struct {
	g       *Gateway
	conn    *websocket.Conn
	matchID string
	seat    string
	// The token's hash and player: a kick or a leave frees the letter, and
	// the socket must not go on as whoever takes it (lobby.go).
	tokenHash string
	playerID  string
	evicting  atomic.Bool // the close of an evicted seat's socket is under way
	log       *slog.Logger
	ctx       context.Context
	cancel    context.CancelFunc
	limiter   *bucket // the reader's

	mu      sync.Mutex
	latest  []byte // mailbox: the newest view frame not yet pushed
	version int    // State.Events of the newest view offered
	writing bool   // a writer goroutine runs (see kick)
	closed  bool   // the socket is done: no writer may start

	writers  sync.WaitGroup
	lastView []byte      // the writer's: the last view sent
	replies  chan []byte // acks and errors, in order
}

// serveWS is GET /ws?match={id}&token={token}.
//
// The Origin is checked by the library's handshake (403 before upgrading);
// allowed are the page's own host and http.allowed_origins. An unknown
// match or a token that is no seat's is refused after the upgrade, with a
// close frame (StatusPolicyViolation) whose reason the browser can show;
// a refusal before the upgrade would reach scripts only as an opaque
// failure.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	if !g.ready.Load() || g.draining.Load() {
		writeError(w, errStarting)
		return
	}
	release, refusal := g.limits.openSocket(w, r)
	if refusal != nil {
		writeError(w, refusal) // a flood gets no upgrade: a 429 is cheaper
		return
	}
	defer release()
	q := r.URL.Query()
	matchID, token := q.Get("match"), q.Get("token")
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: g.origins})
	if err != nil {
		g.logger.Info("websocket refused", "match_id", matchID, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(readLimit)
	// The request's context ends with the handler's upgrade: the session
	// has its own.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	seat, refused := g.authenticate(ctx, matchID, token)
	if refused == nil {
		releaseSeat, ok := g.limits.openSeat(matchID, seat)
		if ok {
			defer g.watchHostAway(matchID, seat) // runs after the release below
			defer releaseSeat()
		} else {
			refused = errSeatSockets
		}
	}
	if refused != nil {
		// An error frame with the code for the page, then the close.
		g.logger.Info("websocket refused", "match_id", matchID, "code", refused.Code)
		if b, err := json.Marshal(errorFrame{Type: "error", Code: refused.Code, Message: refused.Message}); err == nil {
			wctx, cancel := context.WithTimeout(ctx, g.writeTimeout)
			_ = c.Write(wctx, websocket.MessageText, b)
			cancel()
		}
		_ = c.Close(websocket.StatusPolicyViolation, refused.Message)
		return
	}
	ss := &session{
		g: g, conn: c, matchID: matchID, seat: seat,
		log:     g.logger.With("match_id", matchID, "seat", seat),
		ctx:     ctx,
		cancel:  cancel,
		limiter: newBucket(g.frameRate, g.frameBurst),
		replies: make(chan []byte, 32),
	}
	if !g.addSession(ss) {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer g.removeSession(ss)
	e := g.store.entry(matchID)
	if e == nil { // evicted since authenticate: a finished match long over
		_ = c.Close(websocket.StatusPolicyViolation, "This match is over.")
		return
	}
	ss.tokenHash = tokenHash(token)
	e.read(func(s *game.State) {
		if st := s.SeatOf(seat); st != nil {
			ss.playerID = st.PlayerID
		}
	})
	e.subscribe(ss)
	defer e.unsubscribe(ss)
	g.metrics.connections.Inc()
	defer g.metrics.connections.Dec()
	ss.log.Debug("player connected")
	var (
		first   []byte
		version int
		encErr  error
	)
	e.read(func(s *game.State) { first, encErr = encodeView(s, seat); version = s.Events })
	if encErr != nil {
		_ = c.Close(websocket.StatusInternalError, "encoding the view failed")
		return
	}
	ss.offer(version, first)

	ss.readLoop()
	cancel()
	ss.mu.Lock()
	ss.closed = true // no writer starts from here on
	ss.mu.Unlock()
	ss.writers.Wait()
	ss.log.Debug("player disconnected")
}

// watchHostAway hands a private lobby on (host.away) when seat, its host,
// still has no page open here hostAway after its last socket closed, and
// another human is seated: guests need not wait out the idle timeout for a
// host who closed the tab. A reload is back well within the time. A host
// whose page is open on another instance only is taken for away (rare:
// two tabs behind a balancer); a stopping gateway hands nothing on.
func (g *Gateway) watchHostAway(matchID, seat string) {
	away := func() (*entry, events.Envelope, bool) {
		e := g.store.entry(matchID)
		env, err := events.New(matchID, events.SourceGateway, time.Now(), &events.HostAway{Seat: seat})
		if e == nil || err != nil {
			return nil, env, false
		}
		var refused error
		e.read(func(s *game.State) { refused = game.Check(s, env) })
		return e, env, refused == nil
	}
	if _, _, ok := away(); !ok { // not the host of a lobby, or no one to hand it to
		return
	}
	time.AfterFunc(g.hostAway, func() {
		if g.draining.Load() || g.limits.seatOpen(matchID, seat) {
			return
		}
		e, env, ok := away()
		if !ok {
			return
		}
		refused, aerr := g.decide(context.Background(), e, env)
		switch {
		case aerr != nil:
			g.logger.Warn("handing an away host's lobby on failed", "match_id", matchID, "seat", seat, "err", aerr.Code)
		case refused == nil:
			g.logger.Info("host away: lobby handed on", "match_id", matchID, "seat", seat)
		}
	})
}

// authenticate returns the seat the token belongs to in the match, or why
// the socket is refused (the API's not_found, unauthorized or forbidden). It waits up to authWait for a match or seat this
// instance has not seen yet: a player may have joined through another
// instance a moment ago.
func (g *Gateway) authenticate(ctx context.Context, matchID, token string) (string, *apiError) {
	switch {
	case matchID == "":
		return "", &apiError{Code: errNoMatch.Code, Message: "No match id in the address."}
	case token == "":
		return "", &apiError{Code: errNoToken.Code, Message: "No seat token: join the match from the lobby first."}
	}
	wctx, cancel := context.WithTimeout(ctx, g.authWait)
	defer cancel()
	var letter string
	e, _ := g.store.wait(wctx, matchID, func(s *game.State) bool {
		if st := seatByToken(s, token); st != nil {
			letter = st.Letter
			return true
		}
		return false
	})
	switch {
	case letter != "":
		return letter, nil
	case e == nil:
		return "", errNoMatch
	}
	return "", &apiError{Code: errBadToken.Code, Message: "Your seat token is not valid for this match."}
}

// offer puts a view frame of the given version in the mailbox, unless the
// mailbox holds a newer one. It never blocks.
func (ss *session) offer(version int, frame []byte) {
	ss.mu.Lock()
	if ss.latest == nil || version >= ss.version {
		ss.latest, ss.version = frame, version
	}
	ss.mu.Unlock()
	ss.kick()
}

// close ends the session with a close frame.
func (ss *session) close(code websocket.StatusCode, reason string) {
	_ = ss.conn.Close(code, reason)
	ss.cancel()
}

// kick starts the writer unless it runs. A writer runs only while there is
// something to send, so an idle socket costs one goroutine (its reader),
// not three.
func (ss *session) kick() {
	ss.mu.Lock()
	if ss.writing || ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.writing = true
	ss.writers.Add(1)
	ss.mu.Unlock()
	go ss.drain()
}

// drain writes the newest view and the queued replies until there is
// nothing left. A view goes before the replies queued with it, so a
// player's ack never arrives before the view that shows the action.
func (ss *session) drain() {
	defer ss.writers.Done()
	for {
		ss.mu.Lock()
		b := ss.latest
		ss.latest = nil
		if b == nil && len(ss.replies) == 0 {
			ss.writing = false
			ss.mu.Unlock()
			return
		}
		ss.mu.Unlock()
		// A change that the seat cannot see (another seat typing in the
		// lobby, say) gives the same view: no need to send it.
		if b != nil && !bytes.Equal(b, ss.lastView) {
			if !ss.write(b) {
				ss.stopWriting()
				return
			}
			ss.lastView = b
		}
		select {
		case r := <-ss.replies:
			if !ss.write(r) {
				ss.stopWriting()
				return
			}
		default:
		}
	}
}

// stopWriting ends a writer whose socket failed: no writer starts again.
func (ss *session) stopWriting() {
	ss.mu.Lock()
	ss.writing, ss.closed = false, true
	ss.mu.Unlock()
}

// write sends one frame, dropping the client if it does not take it in
// time.
func (ss *session) write(b []byte) bool {
	ctx, cancel := context.WithTimeout(ss.ctx, ss.g.writeTimeout)
	defer cancel()
	if err := ss.conn.Write(ctx, websocket.MessageText, b); err != nil {
		// net.ErrClosed: the socket was closed on purpose (flood, shutdown).
		if ss.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
			ss.log.Info("dropping a client that does not read", "err", err)
		}
		ss.cancel()
		return false
	}
	return true
}

// ping checks the peer is alive, and drops it if it does not answer. The
// gateway pings every socket every pingInterval from one ticker (pingAll),
// so no socket keeps a goroutine for it.
func (ss *session) ping() {
	ctx, cancel := context.WithTimeout(ss.ctx, ss.g.writeTimeout)
	err := ss.conn.Ping(ctx)
	cancel()
	if err != nil {
		if ss.ctx.Err() == nil {
			ss.log.Info("dropping a client that does not answer pings", "err", err)
		}
		ss.cancel()
	}
}

func (ss *session) readLoop() {
	for {
		typ, data, err := ss.conn.Read(ss.ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s == -1 && ss.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				ss.log.Debug("socket read ended", "err", err)
			}
			return
		}
		if !ss.handle(typ, data) {
			return
		}
	}
}

// reply queues a frame for the writer. Must-deliver replies (acks, errors
// about an action) wait for room; best-effort ones (rate_limited) are
// dropped when the client is not reading anyway.
func (ss *session) reply(v any, bestEffort bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if bestEffort {
		select {
		case ss.replies <- b:
			ss.kick()
		default:
		}
		return
	}
	select {
	case ss.replies <- b:
		ss.kick()
	case <-ss.ctx.Done():
	}
}

func (ss *session) ack(id string) {
	if id != "" {
		ss.reply(ackFrame{Type: "ack", ID: id}, false)
	}
}

// fail sends an error frame and counts the refused action.
func (ss *session) fail(kind, id, code, message string) {
	if message == "" {
		message = messageFor(code)
	}
	ss.g.metrics.actions.WithLabelValues(kind, code).Inc()
	ss.reply(errorFrame{Type: "error", ID: id, Code: code, Message: message}, code == codeRateLimited)
}

// handle checks one client frame and acts on it. It returns false when the
// socket is to be closed.
func (ss *session) handle(typ websocket.MessageType, data []byte) bool {
	now := time.Now()
	if !ss.limiter.allow(now) {
		if ss.limiter.dropped(now) {
			ss.g.metrics.actions.WithLabelValues(frameOther, codeRateLimited).Inc()
			ss.log.Warn("closing a flooding client")
			ss.close(websocket.StatusPolicyViolation, "too many messages")
			return false
		}
		ss.fail(frameOther, "", codeRateLimited, "")
		return true
	}
	switch {
	case typ != websocket.MessageText:
		ss.fail(frameOther, "", codeBadFrame, "")
		return true
	case len(data) > maxFrame:
		ss.fail(frameOther, "", codeTooLarge, fmt.Sprintf("That message is too large (over %d bytes).", maxFrame))
		return true
	case !utf8.Valid(data):
		ss.fail(frameOther, "", codeBadUTF8, "")
		return true
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		ss.fail(frameOther, "", codeBadJSON, "")
		return true
	}
	switch f.Type {
	case frameAnswer, frameVote, frameTyping, frameStart, frameSettings, frameKick, frameLeave:
		ss.act(f)
	default:
		ss.fail(frameOther, f.ID, codeUnknownType, "")
	}
	return true
}

// act turns a frame into the event of the player's own seat, checks it
// against the fold's state, produces it and answers once this instance's
// fold has judged it in log order: an ack means the action counts, an error
// carries the reducer's code (a vote that a deadline overtook is "late").
// A frame's id makes the event id, so a client that retries with the same
// id and content after a lost reply produces a copy that gets the same
// answer. The reader waits for the verdict, so one socket's actions stay in
// order; no lock is held meanwhile, so other seats never wait for it.
func (ss *session) act(f clientFrame) {
	e := ss.g.store.entry(ss.matchID)
	if e == nil {
		ss.fail(f.Type, f.ID, codeNotFound, "This match is over.")
		return
	}
	var (
		env        events.Envelope
		code, text string
	)
	e.read(func(s *game.State) { env, code, text = ss.event(s, f) })
	if code != "" {
		if f.Type == frameTyping && f.ID == "" {
			// Presence is best effort: a typing signal racing the end of
			// the window is dropped without bothering the player.
			ss.g.metrics.actions.WithLabelValues(f.Type, code).Inc()
			return
		}
		ss.fail(f.Type, f.ID, code, text)
		return
	}
	if f.Type == frameTyping && !ss.g.typing.allow(ss.matchID, ss.seat, time.Now()) {
		ss.g.metrics.actions.WithLabelValues(f.Type, resultThrottled).Inc()
		ss.ack(f.ID)
		return
	}
	judge := f.Type != frameTyping || f.ID != ""
	v := ss.g.submit(ss.ctx, judge, env)
	switch {
	case !v.produced:
		if f.Type == frameTyping {
			ss.g.typing.forget(ss.matchID, ss.seat)
		}
		ss.log.Error("producing a player's action failed", "event_id", env.ID, "type", env.Type, "err", v.err)
		ss.fail(f.Type, f.ID, codeUnavailable, "")
	case errors.Is(v.err, errNoVerdict), errors.Is(v.err, context.DeadlineExceeded):
		ss.log.Warn("no verdict on a player's action in time", "event_id", env.ID, "type", env.Type)
		ss.fail(f.Type, f.ID, codeTimeout, "")
	case v.err != nil && game.RejectionCode(v.err) != "":
		ss.fail(f.Type, f.ID, game.RejectionCode(v.err), "")
	case v.err != nil: // the socket is closing
		return
	default:
		ss.g.metrics.actions.WithLabelValues(f.Type, resultOK).Inc()
		if f.Type != frameTyping {
			ss.log.Debug("action counted", "event_id", env.ID, "type", env.Type, "round", f.Round)
		}
		ss.ack(f.ID)
	}
}

// event builds the event of frame f and checks it against s; on refusal it
// returns the error code (and a message, or "" for the code's own).
func (ss *session) event(s *game.State, f clientFrame) (events.Envelope, string, string) {
	if !ss.holds(s) { // kicked or left a moment ago: the socket closes
		return events.Envelope{}, errBadToken.Code, "You no longer have a seat in this match."
	}
	var (
		p     events.Payload
		extra []string // content of the frame besides the common fields, for the event id
	)
	switch f.Type {
	case frameAnswer:
		if n, most := utf8.RuneCountInString(strings.TrimSpace(f.Text)), s.Settings.MaxAnswerChars; n > most {
			return events.Envelope{}, game.CodeTooLong, fmt.Sprintf("Your answer is too long: %d characters, at most %d.", n, most)
		}
		p = &events.AnswerSubmitted{Seat: ss.seat, Round: f.Round, Text: f.Text}
	case frameVote:
		if f.Seat != events.NoOne && (len(f.Seat) != 1 || f.Seat[0] < 'A' || f.Seat[0] > 'Z') {
			return events.Envelope{}, game.CodeUnknownSeat, ""
		}
		p = &events.VoteCast{Voter: ss.seat, Seat: f.Seat, Round: f.Round}
	case frameTyping:
		p = &events.Typing{Seat: ss.seat, Round: f.Round}
	case frameStart:
		if s.Settings.Mode == events.ModeQuick {
			return events.Envelope{}, game.CodeNotHost, msgQuickStart
		}
		p = &events.MatchStarted{By: ss.seat}
	case frameSettings, frameKick:
		var code, msg string
		if f.Type == frameSettings {
			p, code, msg = ss.settingsEvent(s, f)
			extra = []string{strconv.Itoa(f.Rounds), strconv.Itoa(f.AnswerSeconds), strconv.Itoa(f.VoteSeconds), strconv.Itoa(f.Humans)}
		} else {
			p, code, msg = ss.kickEvent(s, f)
			extra = []string{f.Player}
		}
		if code != "" {
			return events.Envelope{}, code, msg
		}
	case frameLeave:
		p = &events.PlayerLeft{Seat: ss.seat}
	}
	if lobbyFrame := f.Type == frameStart || f.Type == frameSettings || f.Type == frameKick || f.Type == frameLeave; !lobbyFrame && f.Round < 1 {
		return events.Envelope{}, game.CodeWrongRound, ""
	}
	id := events.NewID()
	if f.ID != "" {
		id = events.DerivedID(append([]string{"ws", ss.matchID, ss.seat, f.ID, f.Type, strconv.Itoa(f.Round), f.Text, f.Seat}, extra...)...)
	}
	env, err := events.NewWithID(id, ss.matchID, events.SourceGateway, time.Now(), p)
	if err != nil {
		return events.Envelope{}, codeBadRequest, ""
	}
	if err := game.Check(s, env); err != nil {
		return events.Envelope{}, game.RejectionCode(err), ""
	}
	return env, "", ""
}

package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	frameOther  = "frame" // metrics label of frames whose type is not known
)

// clientFrame is every client frame's shape; which fields matter depends
// on Type. The frame never names the acting seat: that is the token's.
type clientFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Round int    `json:"round"`
	Text  string `json:"text"`
	Seat  string `json:"seat"`
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

// session is one player's WebSocket. Three goroutines share it: the HTTP
// handler reads frames and acts on them, the writer pushes views and
// replies, and a pinger checks the peer is alive. The follower only ever
// drops the newest state into the session's one-slot mailbox, so a slow or
// stuck client delays no one else: it gets the newest view when it catches
// up, or is dropped after writeTimeout.
type session struct {
	g       *Gateway
	conn    *websocket.Conn
	matchID string
	seat    string
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	limiter *bucket // the reader's

	mu      sync.Mutex
	latest  *game.State   // mailbox: the newest state not yet pushed
	wake    chan struct{} // one slot: the mailbox has something
	replies chan []byte   // acks and errors, in order
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
		wake:    make(chan struct{}, 1),
		replies: make(chan []byte, 32),
	}
	if !g.addSession(ss) {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer g.removeSession(ss)
	state := g.store.subscribe(matchID, ss)
	defer g.store.unsubscribe(matchID, ss)
	if state == nil { // cannot happen: authenticate saw it
		_ = c.Close(websocket.StatusInternalError, "match vanished")
		return
	}
	g.metrics.connections.Inc()
	defer g.metrics.connections.Dec()
	ss.log.Debug("player connected")
	ss.offer(state)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ss.writeLoop() }()
	go func() { defer wg.Done(); ss.pingLoop() }()
	ss.readLoop()
	cancel()
	wg.Wait()
	ss.log.Debug("player disconnected")
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
	s, _ := g.store.wait(wctx, matchID, func(s *game.State) bool { return seatByToken(s, token) != nil })
	if s == nil {
		return "", errNoMatch
	}
	if st := seatByToken(s, token); st != nil {
		return st.Letter, nil
	}
	return "", &apiError{Code: errBadToken.Code, Message: "Your seat token is not valid for this match."}
}

// offer puts s in the mailbox, unless the mailbox holds a newer state. It
// never blocks.
func (ss *session) offer(s *game.State) {
	ss.mu.Lock()
	if ss.latest == nil || s.Events >= ss.latest.Events {
		ss.latest = s
	}
	ss.mu.Unlock()
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// close ends the session with a close frame.
func (ss *session) close(code websocket.StatusCode, reason string) {
	_ = ss.conn.Close(code, reason)
	ss.cancel()
}

func (ss *session) writeLoop() {
	var (
		lastView    []byte
		lastVersion = -1
	)
	for {
		select {
		case <-ss.ctx.Done():
			return
		case b := <-ss.replies:
			if !ss.write(b) {
				return
			}
		case <-ss.wake:
			ss.mu.Lock()
			s := ss.latest
			ss.latest = nil
			ss.mu.Unlock()
			if s == nil || s.Events < lastVersion {
				continue
			}
			b, err := json.Marshal(stateFrame{Type: "state", State: game.ViewFor(s, ss.seat)})
			if err != nil {
				ss.log.Error("encoding a view failed", "err", err)
				continue
			}
			// A change that the seat cannot see (say, a refused fact)
			// gives the same view: no need to send it again.
			if !bytes.Equal(b, lastView) {
				if !ss.write(b) {
					return
				}
				lastView, lastVersion = b, s.Events
			}
			for _, d := range ss.g.store.pushed(s, time.Now()) {
				ss.g.metrics.broadcast.Observe(d.Seconds())
			}
		}
	}
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

func (ss *session) pingLoop() {
	t := time.NewTicker(ss.g.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ss.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(ss.ctx, ss.g.writeTimeout)
			err := ss.conn.Ping(ctx)
			cancel()
			if err != nil {
				if ss.ctx.Err() == nil {
					ss.log.Info("dropping a client that does not answer pings", "err", err)
				}
				ss.cancel()
				return
			}
		}
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
		default:
		}
		return
	}
	select {
	case ss.replies <- b:
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
	case frameAnswer, frameVote, frameTyping, frameStart:
		ss.act(f)
	default:
		ss.fail(frameOther, f.ID, codeUnknownType, "")
	}
	return true
}

// act turns a frame into the event of the player's own seat, checks it
// against the newest state, produces it and acknowledges it once the
// broker has. A frame's id makes the event id, so a client that retries
// with the same id and content after a lost ack produces a copy that the
// reducer drops as a duplicate.
func (ss *session) act(f clientFrame) {
	// One action of a seat at a time on this instance (a player may have
	// two tabs open), each checked against the ones before it.
	defer ss.g.lockSeat(ss.matchID, ss.seat)()
	s := ss.g.store.current(ss.matchID)
	var p events.Payload
	switch f.Type {
	case frameAnswer:
		if n, most := utf8.RuneCountInString(strings.TrimSpace(f.Text)), s.Settings.MaxAnswerChars; n > most {
			ss.fail(f.Type, f.ID, game.CodeTooLong, fmt.Sprintf("Your answer is too long: %d characters, at most %d.", n, most))
			return
		}
		p = &events.AnswerSubmitted{Seat: ss.seat, Round: f.Round, Text: f.Text}
	case frameVote:
		if f.Seat != events.NoOne && (len(f.Seat) != 1 || f.Seat[0] < 'A' || f.Seat[0] > 'Z') {
			ss.fail(f.Type, f.ID, game.CodeUnknownSeat, "")
			return
		}
		p = &events.VoteCast{Voter: ss.seat, Seat: f.Seat, Round: f.Round}
	case frameTyping:
		p = &events.Typing{Seat: ss.seat, Round: f.Round}
	case frameStart:
		if s.Settings.Mode == events.ModeQuick {
			ss.fail(f.Type, f.ID, game.CodeNotHost, msgQuickStart)
			return
		}
		p = &events.MatchStarted{By: ss.seat}
	}
	if f.Type != frameStart && f.Round < 1 {
		ss.fail(f.Type, f.ID, game.CodeWrongRound, "")
		return
	}
	id := events.NewID()
	if f.ID != "" {
		id = events.DerivedID("ws", ss.matchID, ss.seat, f.ID, f.Type, strconv.Itoa(f.Round), f.Text, f.Seat)
	}
	e, err := events.NewWithID(id, ss.matchID, events.SourceGateway, time.Now(), p)
	if err != nil {
		ss.fail(f.Type, f.ID, codeBadRequest, "")
		return
	}
	if err := game.Check(s, e); err != nil {
		code := game.RejectionCode(err)
		if f.Type == frameTyping && f.ID == "" {
			// Presence is best effort: a typing signal racing the end of
			// the window is dropped without bothering the player.
			ss.g.metrics.actions.WithLabelValues(f.Type, code).Inc()
			return
		}
		ss.fail(f.Type, f.ID, code, "")
		return
	}
	if f.Type == frameTyping && !ss.g.typing.allow(ss.matchID, ss.seat, time.Now()) {
		ss.g.metrics.actions.WithLabelValues(f.Type, resultThrottled).Inc()
		ss.ack(f.ID)
		return
	}
	if err := ss.g.publishAction(ss.ctx, ss.matchID, e); err != nil {
		if f.Type == frameTyping {
			ss.g.typing.forget(ss.matchID, ss.seat)
		}
		ss.log.Error("producing a player's action failed", "event_id", e.ID, "type", e.Type, "err", err)
		ss.fail(f.Type, f.ID, codeUnavailable, "")
		return
	}
	ss.g.metrics.actions.WithLabelValues(f.Type, resultOK).Inc()
	if f.Type != frameTyping {
		ss.log.Debug("action produced", "event_id", e.ID, "type", e.Type, "round", f.Round)
	}
	ss.ack(f.ID)
}

// publishAction produces a player's event, noting when, so that the first
// view pushed with it can be timed, and so that the player's next action is
// checked against it before match-state shows it.
func (g *Gateway) publishAction(ctx context.Context, matchID string, e events.Envelope) error {
	now := time.Now()
	g.store.addPending(matchID, e.ID, now)
	g.store.addUnseen(matchID, e, now)
	if err := g.publish(ctx, e); err != nil {
		g.store.dropPending(matchID, e.ID)
		g.store.dropUnseen(matchID, e.ID)
		return err
	}
	return nil
}

// lockSeat serialises the actions of one seat on this instance and returns
// the unlock. Locks are striped: unrelated seats rarely share one, and
// when they do they only wait for one produce.
func (g *Gateway) lockSeat(match, seat string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(match + "/" + seat))
	mu := &g.seatLocks[h.Sum32()%uint32(len(g.seatLocks))]
	mu.Lock()
	return mu.Unlock
}

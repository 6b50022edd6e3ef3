package gateway

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// store holds the newest state of every match this gateway has seen on
// match-state, the sessions watching each match, and the callers waiting
// for a match to change. It is safe for concurrent use.
//
// States come from decoded snapshots and are never changed once stored, so
// a *game.State handed out by the store may be read without a lock by any
// number of goroutines (game.Check and game.ViewFor only read).
type store struct {
	mu      sync.Mutex
	matches map[string]*entry
	codes   map[string]string   // invite code -> match id
	lobbies map[string]struct{} // quick matches in the lobby, for quick play
}

type entry struct {
	state    *game.State // nil until the first snapshot (a caller may wait for it)
	offset   int64       // match-events offset of state
	changed  chan struct{}
	waiters  int
	sessions map[*session]struct{}
	pending  map[string]time.Time // player event id -> when it was produced
	unseen   []produced           // player actions produced here that state does not include yet
}

// produced is a player's action as this instance produced it.
type produced struct {
	event events.Envelope
	at    time.Time
}

func newStore() *store {
	return &store{matches: map[string]*entry{}, codes: map[string]string{}, lobbies: map[string]struct{}{}}
}

// entryLocked returns the entry of id, creating an empty one.
func (st *store) entryLocked(id string) *entry {
	e := st.matches[id]
	if e == nil {
		e = &entry{offset: -1, changed: make(chan struct{})}
		st.matches[id] = e
	}
	return e
}

// dropIfUnusedLocked forgets an entry that never got a state once nobody
// waits on it, so that waiting for unknown match ids leaks nothing.
func (st *store) dropIfUnusedLocked(id string, e *entry) {
	if e.state == nil && e.waiters == 0 && len(e.sessions) == 0 && len(e.pending) == 0 && len(e.unseen) == 0 {
		delete(st.matches, id)
	}
}

// put stores s if it is at least as new as the state held for its match.
// It returns the phase the match had before ("" if unknown), the sessions to
// notify, and whether s was stored.
func (st *store) put(s *game.State, offset int64) (oldPhase string, sessions []*session, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.entryLocked(s.MatchID)
	if e.state != nil {
		if offset < e.offset {
			return "", nil, false
		}
		oldPhase = e.state.Phase
	}
	e.state, e.offset = s, offset
	e.unseen = slices.DeleteFunc(e.unseen, func(p produced) bool {
		_, seen := s.Seen[p.event.ID]
		return seen
	})
	close(e.changed)
	e.changed = make(chan struct{})
	if code := s.Settings.Code; code != "" {
		// A code names the newest match that uses it; codes are checked
		// for uniqueness when made, so this only matters for old ones.
		if other, ok := st.codes[code]; !ok || other == s.MatchID || st.matches[other] == nil || st.matches[other].state == nil || st.matches[other].state.CreatedAt.Before(s.CreatedAt) {
			st.codes[code] = s.MatchID
		}
	}
	if s.Settings.Mode == events.ModeQuick && s.Phase == events.PhaseLobby {
		st.lobbies[s.MatchID] = struct{}{}
	} else {
		delete(st.lobbies, s.MatchID)
	}
	for ss := range e.sessions {
		sessions = append(sessions, ss)
	}
	return oldPhase, sessions, true
}

// get returns the newest state of match id, or nil.
func (st *store) get(id string) *game.State {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.matches[id]; e != nil {
		return e.state
	}
	return nil
}

// current returns the newest state of match id as this instance's players
// acted on it: the stored state plus the actions produced here that it does
// not include yet. The materializer folds an action a few milliseconds
// after the broker acknowledged it; checking a second vote against the
// stored state alone would let it through in that window, and the player
// would get an ack for a vote the rules then refuse.
func (st *store) current(id string) *game.State {
	st.mu.Lock()
	e := st.matches[id]
	if e == nil || e.state == nil {
		st.mu.Unlock()
		return nil
	}
	s := e.state
	now := time.Now()
	e.unseen = slices.DeleteFunc(e.unseen, func(p produced) bool { return now.Sub(p.at) > pendingTTL })
	unseen := slices.Clone(e.unseen)
	st.mu.Unlock()
	if len(unseen) == 0 {
		return s
	}
	b, err := json.Marshal(s) // a deep copy: stored states are never changed
	if err != nil {
		return s
	}
	cp := new(game.State)
	if err := json.Unmarshal(b, cp); err != nil {
		return s
	}
	for _, p := range unseen {
		_ = game.Apply(cp, p.event)
	}
	return cp
}

// addUnseen notes a player's action of match as produced at t.
func (st *store) addUnseen(match string, e events.Envelope, t time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	en := st.entryLocked(match)
	en.unseen = append(en.unseen, produced{event: e, at: t})
}

// dropUnseen forgets an action that was not produced after all.
func (st *store) dropUnseen(match, id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.matches[match]; e != nil {
		e.unseen = slices.DeleteFunc(e.unseen, func(p produced) bool { return p.event.ID == id })
		st.dropIfUnusedLocked(match, e)
	}
}

// byCode returns the state of the match with invite code (any case), or nil.
func (st *store) byCode(code string) *game.State {
	st.mu.Lock()
	defer st.mu.Unlock()
	id, ok := st.codes[strings.ToUpper(code)]
	if !ok {
		return nil
	}
	if e := st.matches[id]; e != nil {
		return e.state
	}
	return nil
}

// codeTaken reports whether any known match uses code.
func (st *store) codeTaken(code string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.codes[code]
	return ok
}

// openQuick lists the quick matches in the lobby with a free human seat
// whose wait has not run out at now, oldest first, so that players gather
// in one match instead of spreading over several.
func (st *store) openQuick(now time.Time) []*game.State {
	st.mu.Lock()
	var out []*game.State
	for id := range st.lobbies {
		s := st.matches[id].state
		if s.Phase != events.PhaseLobby || humans(s) >= s.Settings.Humans || len(s.Seats) >= s.Settings.Seats {
			continue
		}
		if !s.Deadline.IsZero() && !now.Before(s.Deadline) {
			continue // about to start: joining would race the orchestrator
		}
		out = append(out, s)
	}
	st.mu.Unlock()
	slices.SortFunc(out, func(a, b *game.State) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.MatchID, b.MatchID)
	})
	return out
}

// wait calls done with the newest state of match id (nil while unknown)
// now and after every change, until done returns true or ctx ends.
func (st *store) wait(ctx context.Context, id string, done func(*game.State) bool) (*game.State, error) {
	st.mu.Lock()
	e := st.entryLocked(id)
	e.waiters++
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		e.waiters--
		st.dropIfUnusedLocked(id, e)
		st.mu.Unlock()
	}()
	for {
		st.mu.Lock()
		s, changed := e.state, e.changed
		st.mu.Unlock()
		if done(s) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-changed:
		}
	}
}

// subscribe adds a session to the watchers of match id and returns the
// match's newest state, or nil (and does not subscribe) if it is unknown.
func (st *store) subscribe(id string, ss *session) *game.State {
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.matches[id]
	if e == nil || e.state == nil {
		return nil
	}
	if e.sessions == nil {
		e.sessions = map[*session]struct{}{}
	}
	e.sessions[ss] = struct{}{}
	return e.state
}

func (st *store) unsubscribe(id string, ss *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.matches[id]; e != nil {
		delete(e.sessions, ss)
	}
}

// pendingTTL bounds how long a produced event waits to be seen in a pushed
// view; after that it is forgotten (no one may be watching its match).
const pendingTTL = time.Minute

// addPending notes that event id of match was produced at t.
func (st *store) addPending(match, id string, t time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.entryLocked(match)
	if e.pending == nil {
		e.pending = map[string]time.Time{}
	}
	e.pending[id] = t
}

// dropPending forgets an event that was not produced after all.
func (st *store) dropPending(match, id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.matches[match]; e != nil {
		delete(e.pending, id)
		st.dropIfUnusedLocked(match, e)
	}
}

// pushed is called when a view of s was pushed to a client: it returns how
// long ago each pending event that s includes was produced, and forgets them.
func (st *store) pushed(s *game.State, now time.Time) []time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.matches[s.MatchID]
	if e == nil || len(e.pending) == 0 {
		return nil
	}
	var out []time.Duration
	for id, at := range e.pending {
		if _, seen := s.Seen[id]; seen {
			out = append(out, now.Sub(at))
			delete(e.pending, id)
		} else if now.Sub(at) > pendingTTL {
			delete(e.pending, id)
		}
	}
	return out
}

// humans counts the seats of s taken by humans.
func humans(s *game.State) int {
	n := 0
	for _, seat := range s.Seats {
		if seat.Human {
			n++
		}
	}
	return n
}

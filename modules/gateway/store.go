package gateway

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
)

// store indexes the matches this gateway's fold holds (live ones, and
// finished ones for fold.FinishedTTL), the sessions watching each, the
// invite codes and the open quick lobbies. It is safe for concurrent use.
//
// A match's state is written only by the fold goroutine of its partition,
// under the entry's write lock; every other reader (API handlers, the
// checks of a player's action) holds the read lock while it looks. Nobody
// holds an entry lock across a broker round trip.
type store struct {
	mu      sync.Mutex
	matches map[string]*entry
	codes   map[string]string   // invite code -> match id
	lobbies map[string]struct{} // quick matches in the lobby, for quick play
	players map[string]string   // player id -> match id, for retried joins
	changed chan struct{}       // closed (and replaced) when any match changed
}

type entry struct {
	mu    sync.RWMutex // guards match.State
	match *fold.Match

	smu      sync.Mutex
	sessions map[*session]struct{}
}

func newStore() *store {
	return &store{
		matches: map[string]*entry{},
		codes:   map[string]string{},
		lobbies: map[string]struct{}{},
		players: map[string]string{},
		changed: make(chan struct{}),
	}
}

// entry returns the entry of match id, or nil if the fold does not hold it.
func (st *store) entry(id string) *entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.matches[id]
}

// add indexes a match the fold took on (created, or loaded from a
// checkpoint).
func (st *store) add(m *fold.Match) *entry {
	e := &entry{match: m}
	st.mu.Lock()
	st.matches[m.State.MatchID] = e
	st.mu.Unlock()
	return e
}

// remove forgets an evicted match. Its sockets stay open; they get nothing
// new, as nothing changes in a finished match.
func (st *store) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.matches[id]; e != nil {
		s := e.match.State
		if code := s.Settings.Code; code != "" && st.codes[code] == id {
			delete(st.codes, code)
		}
		for _, seat := range s.Seats {
			if st.players[seat.PlayerID] == id {
				delete(st.players, seat.PlayerID)
			}
		}
	}
	delete(st.matches, id)
	delete(st.lobbies, id)
}

// index updates the code and quick-lobby indexes after s changed, and wakes
// whoever waits for a change. The caller is the fold goroutine of s's
// partition, so s may be read without the entry lock.
func (st *store) index(s *game.State) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if code := s.Settings.Code; code != "" {
		// A code names the newest match that uses it; codes are checked
		// for uniqueness when made, so this only matters for old ones.
		if other, ok := st.codes[code]; !ok || other == s.MatchID || st.matches[other] == nil {
			st.codes[code] = s.MatchID
		}
	}
	if s.Phase == events.PhaseLobby {
		for _, seat := range s.Seats {
			if seat.Human {
				st.players[seat.PlayerID] = s.MatchID
			}
		}
	}
	if s.Settings.Mode == events.ModeQuick && s.Phase == events.PhaseLobby {
		st.lobbies[s.MatchID] = struct{}{}
	} else {
		delete(st.lobbies, s.MatchID)
	}
}

// notify wakes every wait.
func (st *store) notify() {
	st.mu.Lock()
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()
}

// read calls fn with the match's state under the read lock; fn must not
// keep the state.
func (e *entry) read(fn func(s *game.State)) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	fn(e.match.State)
}

// byCode returns the entry of the match with invite code (any case), or nil.
func (st *store) byCode(code string) *entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	id, ok := st.codes[strings.ToUpper(code)]
	if !ok {
		return nil
	}
	return st.matches[id]
}

// matchOf returns the match a player joined, or "".
func (st *store) matchOf(playerID string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.players[playerID]
}

// codeTaken reports whether any match held uses code.
func (st *store) codeTaken(code string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.codes[code]
	return ok
}

// openQuick lists the ids of quick matches in the lobby with a free human
// seat whose wait has not run out at now, oldest first, so that players
// gather in one match instead of spreading over several.
func (st *store) openQuick(now time.Time) []string {
	st.mu.Lock()
	var es []*entry
	for id := range st.lobbies {
		es = append(es, st.matches[id])
	}
	st.mu.Unlock()
	type open struct {
		id      string
		created time.Time
	}
	var out []open
	for _, e := range es {
		e.read(func(s *game.State) {
			if s.Phase != events.PhaseLobby || s.Humans() >= s.Settings.Humans || len(s.Seats) >= s.Settings.Seats {
				return
			}
			if !s.Deadline.IsZero() && !now.Before(s.Deadline) {
				return // about to start: joining would race the orchestrator
			}
			out = append(out, open{s.MatchID, s.CreatedAt})
		})
	}
	slices.SortFunc(out, func(a, b open) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, len(out))
	for i, o := range out {
		ids[i] = o.id
	}
	return ids
}

// wait returns the entry of match id once done(its state) holds, calling
// done under the entry's read lock now and after every change the fold
// makes, until ctx ends. For a match the fold does not hold yet, done is not
// called until it does.
func (st *store) wait(ctx context.Context, id string, done func(*game.State) bool) (*entry, error) {
	for {
		st.mu.Lock()
		e, changed := st.matches[id], st.changed
		st.mu.Unlock()
		ok := false
		if e != nil {
			e.read(func(s *game.State) { ok = done(s) })
		}
		if ok {
			return e, nil
		}
		select {
		case <-ctx.Done():
			return e, ctx.Err()
		case <-changed:
		}
	}
}

// subscribe adds a session to the watchers of e.
func (e *entry) subscribe(ss *session) {
	e.smu.Lock()
	defer e.smu.Unlock()
	if e.sessions == nil {
		e.sessions = map[*session]struct{}{}
	}
	e.sessions[ss] = struct{}{}
}

func (e *entry) unsubscribe(ss *session) {
	e.smu.Lock()
	defer e.smu.Unlock()
	delete(e.sessions, ss)
}

// watchers returns the sessions watching e.
func (e *entry) watchers() []*session {
	e.smu.Lock()
	defer e.smu.Unlock()
	out := make([]*session, 0, len(e.sessions))
	for ss := range e.sessions {
		out = append(out, ss)
	}
	return out
}

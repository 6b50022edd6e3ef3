package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Helpers that play a match the way players, robots and the orchestrator
// would: players through the API and sockets, the rest by publishing facts.

var frameIDs atomic.Int64

// act sends an action frame with a fresh id and waits for its ack.
func (c *client) act(typ string, fields map[string]any) {
	c.t.Helper()
	id := fmt.Sprintf("t%d", frameIDs.Add(1))
	f := map[string]any{"type": typ, "id": id}
	for k, v := range fields {
		f[k] = v
	}
	c.send(f)
	c.expectAck(id)
}

func (c *client) answer(round int, text string) {
	c.t.Helper()
	c.act("answer", map[string]any{"round": round, "text": text})
}

func (c *client) vote(round int, seat string) {
	c.t.Helper()
	c.act("vote", map[string]any{"round": round, "seat": seat})
}

// robotsAnswer answers round for every robot seat, as the orchestrator
// folds robot answers into the log.
func (h *harness) robotsAnswer(matchID string, round int) {
	h.t.Helper()
	s := h.state(matchID, func(s *game.State) bool { return s.Round == round })
	for _, seat := range robotSeats(s) {
		h.publish(matchID, &events.AnswerSubmitted{Seat: seat, Round: round, Text: "robot " + seat + " says hi", ProcessingMs: 100})
	}
}

// robotsVote casts every robot's vote in round, for the seat pick names.
func (h *harness) robotsVote(matchID string, round int, pick func(voter string) string) {
	h.t.Helper()
	s := h.state(matchID, func(s *game.State) bool { return s.Round == round && s.Phase == events.PhaseVoting })
	for _, seat := range robotSeats(s) {
		h.publish(matchID, &events.VoteCast{Voter: seat, Seat: pick(seat), Round: round})
	}
}

// privateMatch creates a private match for two humans, seats a guest and
// starts it: round 1 is being answered when it returns.
func (h *harness) privateMatch() (host, guest seatReply) {
	h.t.Helper()
	host = h.create("Ann Host", "private", 2)
	guest = h.join(host.Code, "Bob Guest")
	h.start(host)
	h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering })
	return host, guest
}

// other returns a seat of s that is not me, not in not.
func other(s *game.State, me string, not ...string) string {
	for _, seat := range s.Seats {
		if seat.Letter != me && !slices.Contains(not, seat.Letter) {
			return seat.Letter
		}
	}
	return ""
}

// secrets lists what no one may see before the reveal: every seat's name,
// player id, token hash, robot id and model.
func secrets(s *game.State) []string {
	var out []string
	for _, seat := range s.Seats {
		for _, v := range []string{seat.Name, seat.PlayerID, seat.TokenHash, seat.RobotID, seat.Model} {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// hiddenKeys may not appear anywhere in a view before the reveal.
var hiddenKeys = []string{"human", "name", "personality", "model", "reveal", "playerId", "tokenHash", "robotId", "timeline", "winners"}

// assertHidden fails if the JSON of an unfinished match's view says who is
// human: a hidden key, a secret value or a score.
func assertHidden(t *testing.T, what string, raw []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("%s gives away %q before the reveal: %s", what, s, raw)
		}
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if slices.Contains(hiddenKeys, k) {
					t.Errorf("%s has %s.%s before the reveal: %s", what, path, k, raw)
				}
				if k == "scores" {
					if m, _ := val.(map[string]any); len(m) > 0 {
						t.Errorf("%s shows scores before the reveal: %s", what, raw)
					}
				}
				walk(path+"."+k, val)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	walk("", v)
}

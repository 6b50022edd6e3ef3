package e2e

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// playMatch answers and votes every round as a human would, and waits for
// the reveal. Every action must be acknowledged.
func playMatch(p *player, rounds int) {
	for round := 1; round <= rounds; round++ {
		p.await(20*time.Second, fmt.Sprintf("round %d answering", round), func(v game.View) bool {
			return v.Round == round && v.Phase == events.PhaseAnswering
		})
		p.act(map[string]any{"type": "answer", "id": fmt.Sprintf("a%d", round), "round": round, "text": fmt.Sprintf("%s in round %d", p.name, round)})
		v := p.await(20*time.Second, fmt.Sprintf("round %d voting", round), func(v game.View) bool {
			return v.Round == round && v.Phase == events.PhaseVoting
		})
		var pick string
		for _, s := range v.Seats {
			if s.Seat != p.seat.Seat {
				pick = s.Seat
				break
			}
		}
		p.act(map[string]any{"type": "vote", "id": fmt.Sprintf("v%d", round), "round": round, "seat": pick})
	}
	p.await(30*time.Second, "the reveal", func(v game.View) bool { return v.Phase == events.PhaseFinished })
}

// hostileFrames are frames no client of the protocol sends. None of them
// is a valid action, so none may reach the log.
func hostileFrames() [][]byte {
	return [][]byte{
		[]byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)), // deeply nested (over 4 KiB: too_large)
		[]byte(strings.Repeat("[", 2000) + strings.Repeat("]", 2000)),             // nested, under 4 KiB
		[]byte("{\"type\":\"answer\",\"round\":1,\"text\":\"\xff\xfe\xfd\"}"),     // invalid UTF-8
		[]byte(`{"type":"answer","round":1,"text":"` + strings.Repeat("x", 3000) + `"}`),
		[]byte(`{"type":"answer","round":99,"text":"from the future"}`),
		[]byte(`{"type":"vote","round":1,"seat":"Z"}`),
		[]byte(`{"type":"start"}`),
		[]byte(`{"type":"answer","round":"1","text":{"$ne":null}}`),
		[]byte(`{"type":"__proto__","constructor":{"prototype":{}}}`),
		[]byte(`not json at all`),
		[]byte(`{"type":"answer","round":1e400}`),
		[]byte(strings.Repeat(" ", 4000)),
	}
}

// TestHostileClientsDoNotDisturbOthers runs `arena serve --all` with four
// hostile sockets that send a table of malformed, oversized, deeply nested,
// invalid-UTF-8 and binary frames at about 2,000 frames a second (reconnecting when
// the gateway closes them for flooding or a huge frame), while another
// player plays a whole match on the same server. Every one of that
// player's actions is acknowledged and the match completes; none of the
// hostile frames reaches the log.
func TestHostileClientsDoNotDisturbOthers(t *testing.T) {
	dir := t.TempDir()
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	configFile := writeConfig(t, dir, fmt.Sprintf(crashConfig, brokerAddr))
	srv := startServeAll(t, "serve", configFile, filepath.Join(dir, "data"), httpAddr)

	// The attackers hold real seats: a token gets them past the handshake.
	attacker := quickMatch(t, srv.base, "Mallory")
	attacker.close()
	u := strings.Replace(srv.base, "http://", "ws://", 1) + "/ws?match=" + url.QueryEscape(attacker.seat.MatchID) + "&token=" + url.QueryEscape(attacker.seat.Token)

	ctx, stop := context.WithCancel(context.Background())
	var sent, closed atomic.Int64
	var wg sync.WaitGroup
	frames := hostileFrames()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, _, err := websocket.Dial(ctx, u, nil)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				c.SetReadLimit(1 << 20)
				go func() { // drain replies so the server never waits on us
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
					}
				}()
				for n := i; ctx.Err() == nil; n++ {
					typ, f := websocket.MessageText, frames[n%len(frames)]
					if n%7 == 0 {
						typ = websocket.MessageBinary
					}
					if n%500 == 499 {
						f = []byte(`{"type":"answer","round":1,"text":"` + strings.Repeat("h", 100<<10) + `"}`) // over 64 KiB: closes the socket
					}
					if c.Write(ctx, typ, f) != nil {
						break
					}
					sent.Add(1)
					// ~500 frames/s per socket, 2,000/s in all: thousands per
					// second without starving a 2-core CI machine.
					time.Sleep(2 * time.Millisecond)
				}
				closed.Add(1)
				c.CloseNow()
			}
		}()
	}

	victim := quickMatch(t, srv.base, "Victor")
	playMatch(victim, 2)
	stop()
	wg.Wait()
	t.Logf("%d hostile frames on 4 sockets (%d sockets closed by the gateway or the test) during a whole match of another player",
		sent.Load(), closed.Load())
	if sent.Load() < 1000 {
		t.Errorf("only %d hostile frames were sent", sent.Load())
	}

	// Nothing hostile reached the attackers' match log.
	replayed := replayJSON(t, configFile, filepath.Join(dir, "data"), attacker.seat.MatchID)
	for _, e := range replayed.Events {
		if e.Source == events.SourceGateway && e.Type != events.TypeMatchCreated && e.Type != events.TypePlayerJoined {
			t.Errorf("a hostile frame reached the log: %s %s", e.Type, e.Data)
		}
	}
	if code, _ := httpGet(srv.base + "/readyz"); code != 200 {
		t.Errorf("/readyz = %d after the attack", code)
	}
}

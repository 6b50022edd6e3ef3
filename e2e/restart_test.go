package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// The crash config with robots on their human-like schedule (the default)
// and an answer window the restart below outlasts.
func restartConfig(brokerAddr string) string {
	c := fmt.Sprintf(crashConfig, brokerAddr)
	c = strings.Replace(c, "answer_window: 6s", "answer_window: 10s", 1)
	return strings.Replace(c, "robot: {human_timing: false} # every robot answers (docs/robots.md)", "robot: {human_timing: true}", 1)
}

// TestRestartInAnsweringExtendsTheWindow stops `arena serve --all` as a
// deploy would, just after round 1 opened, and keeps it down past the end
// of the answer window. Restarted, the orchestrator finds the window ran
// while the log was silent: it writes window.extended (so a replay gives
// the same deadline), the human's answer, sent after the old deadline, is
// acknowledged and counted, and every robot is asked again under the new
// deadline and answers (unless its new schedule is one of the rounds
// people leave blank).
func TestRestartInAnsweringExtendsTheWindow(t *testing.T) {
	dir := t.TempDir()
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	configFile := writeConfig(t, dir, restartConfig(brokerAddr))
	dataDir := filepath.Join(dir, "data")
	first := startServeAll(t, "serve-1", configFile, dataDir, httpAddr)

	p := quickMatch(t, first.base, "Ann")
	v := p.await(20*time.Second, "round 1 answering", func(v game.View) bool {
		return v.Round == 1 && v.Phase == events.PhaseAnswering && v.Deadline != nil
	})
	oldDeadline := *v.Deadline
	if code := first.Stop(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	time.Sleep(time.Until(oldDeadline.Add(time.Second))) // the whole window runs out while arena is down

	second := startServeAll(t, "serve-2", configFile, dataDir, httpAddr)
	p.base = second.base
	p.close()
	p.connect()
	v = p.await(30*time.Second, "the answer window extended", func(v game.View) bool {
		return v.Round == 1 && v.Phase == events.PhaseAnswering && v.Deadline != nil && v.Deadline.After(oldDeadline)
	})
	newDeadline := *v.Deadline
	if time.Now().Before(oldDeadline) {
		t.Fatal("arena came back before the old deadline: the test proves nothing")
	}
	const late = "sent after the old deadline"
	p.act(map[string]any{"type": "answer", "id": "late-1", "round": 1, "text": late})

	v = p.await(40*time.Second, "round 1 voting", func(v game.View) bool {
		return v.Round == 1 && v.Phase == events.PhaseVoting || v.Round > 1 || v.Phase == events.PhaseFinished
	})
	// The extension is a fact in the log, and so are the robots' new
	// commands: read them back from the broker.
	f := readRestartFacts(t, brokerAddr, p.seat.MatchID, newDeadline)
	ext := f.extension
	if ext == nil || ext.Phase != events.PhaseAnswering || ext.Round != 1 || ext.ByMs < 1 || ext.ByMs > 10_000 {
		t.Fatalf("window.extended in the log: %+v, want answering round 1 by at most the 10 s window", ext)
	}
	var end game.View
	waitFor(t, 90*time.Second, "the match to finish", func() bool {
		return getJSON(t, second.base+"/api/matches/"+p.seat.MatchID, &end) && end.Phase == events.PhaseFinished
	})
	answers := map[string]game.AnswerView{}
	for _, a := range end.Answers {
		if a.Round == 1 {
			answers[a.Seat] = a
		}
	}
	if a := answers[p.seat.Seat]; a.Text != late || a.NoAnswer {
		t.Fatalf("the human's acknowledged late answer: %+v", a)
	}
	// A robot that answered before the extension (while arena drained, say)
	// is done; every other one is asked again, and answers unless its new
	// schedule is a blank round.
	answered, before := 0, 0
	for _, seat := range f.robots {
		if f.answeredBefore[seat] {
			before++
		}
		silent, asked := f.asked[seat]
		a, ok := answers[seat]
		switch {
		case f.answeredBefore[seat] && asked:
			t.Errorf("robot seat %s answered before the extension and was asked again", seat)
		case f.answeredBefore[seat]:
		case !asked:
			t.Fatalf("robot seat %s had not answered and was not asked again under the new deadline (asked: %v)", seat, f.asked)
		case !ok:
			t.Fatalf("robot seat %s has no round-1 answer at all: %+v", seat, end.Answers)
		case a.NoAnswer && !silent:
			t.Fatalf("robot seat %s was asked again but gave no answer", seat)
		case !a.NoAnswer:
			answered++
		}
	}
	if len(f.robots) != 3 {
		t.Fatalf("robot seats %v, want 3", f.robots)
	}
	t.Logf("window extended by %d ms (at most the 10 s window); %d robots had answered before it, %d answered after the restart (the rest drew a blank round)",
		ext.ByMs, before, answered)
	if code := second.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// restartFacts is what the log says of round 1 around the extension.
type restartFacts struct {
	extension      *events.WindowExtended
	robots         []string        // robot seats, from the commands
	asked          map[string]bool // robot seats asked to answer under the new deadline, and whether to stay silent
	answeredBefore map[string]bool // seats whose round-1 answer is in match-events before the extension
}

// readRestartFacts reads match-events and robot-commands of matchID from
// the start.
func readRestartFacts(t *testing.T, brokerAddr, matchID string, deadline time.Time) restartFacts {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr),
		kgo.ConsumeTopics("match-events", "robot-commands"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	f := restartFacts{asked: map[string]bool{}, answeredBefore: map[string]bool{}}
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != matchID {
				return
			}
			e, err := events.Decode(r.Value)
			if err != nil {
				return
			}
			switch pl, _ := e.Payload(); pl := pl.(type) {
			case *events.WindowExtended:
				f.extension = pl
			case *events.AnswerSubmitted:
				if pl.Round == 1 && f.extension == nil { // one partition: log order
					f.answeredBefore[pl.Seat] = true
				}
			case *events.RobotCommand:
				if !slices.Contains(f.robots, pl.Seat) {
					f.robots = append(f.robots, pl.Seat)
				}
				if pl.Kind == events.KindAnswer && pl.Round == 1 && pl.DeadlineMs == deadline.UnixMilli() {
					f.asked[pl.Seat] = pl.Silent
				}
			}
		})
	}
	return f
}

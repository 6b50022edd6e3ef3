package robot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/orchestrator"
)

var tStart = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// roundOne is match id's round 1, just begun: one human and three robots
// of the default stable (a different three per match).
func roundOne(t *testing.T, id string, windowMs int64, stable []config.Personality, i int) *game.State {
	t.Helper()
	var roster []events.RobotSeat
	for k := range 3 {
		p := stable[(i+k)%len(stable)]
		roster = append(roster, events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: "m"})
	}
	s := game.New(id)
	for _, p := range []events.Payload{
		&events.MatchCreated{Mode: events.ModeQuick, Seats: 4, Humans: 1, Rounds: 1, Prompts: []string{"What's your favorite memory?"},
			SeatOrder: []string{"B", "D", "A", "C"}, Robots: roster, AnswerWindowMs: windowMs, VoteWindowMs: 30_000,
			LobbyWaitMs: 1000, MaxAnswerChars: 280},
		&events.PlayerJoined{PlayerID: "p" + id, Name: "Ann", TokenHash: strings.Repeat("ab", 32)},
		&events.MatchStarted{By: "lobby"},
	} {
		if err := game.Apply(s, events.MustNew(id, events.SourceGateway, tStart, p)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ks is the two-sample Kolmogorov-Smirnov statistic: the largest gap
// between the two empirical distribution functions.
func ks(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	d, i, j := 0.0, 0, 0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// ksCritical is the statistic two samples of the same distribution stay
// under 99% of the time.
func ksCritical(n, m int) float64 {
	return 1.63 * math.Sqrt(float64(n+m)/float64(n*m))
}

type timings struct {
	typing, answer []float64 // seconds from the round's start
	rounds, silent int
}

func (x *timings) add(typing, answer time.Duration, typed, answered bool) {
	x.rounds++
	if typed {
		x.typing = append(x.typing, typing.Seconds())
	}
	if answered {
		x.answer = append(x.answer, answer.Seconds())
	} else {
		x.silent++
	}
}

// Over many simulated rounds, when the robots of the default stable show
// "typing" and answer (the orchestrator's plan carried out by each
// personality's schedule) cannot be told from the human prior by a
// two-sample KS test, per window length; nor can how often they give no
// answer. The robots' old timing (asked at 30% of the window, then the
// personality's delay and typing time) is told apart at once.
func TestRobotTimingIsHumanLike(t *testing.T) {
	stable := config.Default().Robots
	byID := map[string]config.Personality{}
	for _, p := range stable {
		byID[p.ID] = p
	}
	for _, windowMs := range []int64{20_000, 45_000} {
		var robots, humans, old timings
		rng := rand.New(rand.NewPCG(11, uint64(windowMs)))
		for i := range 3000 {
			s := roundOne(t, fmt.Sprintf("m%d-%d", windowMs, i), windowMs, stable, i)
			for _, c := range orchestrator.RobotCommands(s, nil) {
				latest := Latest(c)
				sch := ScheduleFor(byID[c.RobotID], c, latest)
				robots.add(sch.TypingAt.Sub(tStart), sch.ReplyAt.Sub(tStart), !sch.TypingAt.IsZero(), !sch.Silent)

				p := byID[c.RobotID]
				think, typing := humanTime(p, rng, 60, time.Duration(windowMs)*time.Millisecond*7/10-margin, 0)
				lead := time.Duration(windowMs) * time.Millisecond * 3 / 10
				old.add(lead+think, lead+think+typing, true, true)

				h := orchestrator.PriorRound(windowMs, rng)
				humans.add(time.Duration(h.TypingMs)*time.Millisecond, time.Duration(h.AnswerMs)*time.Millisecond, h.TypingMs >= 0, h.AnswerMs >= 0)
			}
		}
		for _, c := range []struct {
			what       string
			robot, hum []float64
			oldRobot   []float64
		}{
			{"typing start", robots.typing, humans.typing, old.typing},
			{"answer time", robots.answer, humans.answer, old.answer},
		} {
			d, crit := ks(c.robot, c.hum), ksCritical(len(c.robot), len(c.hum))
			t.Logf("%d s window, %s: KS D = %.4f (critical %.4f, n = %d, %d)", windowMs/1000, c.what, d, crit, len(c.robot), len(c.hum))
			if d >= crit {
				t.Errorf("%d s window: robots' %s tells them from humans: KS D = %.4f >= %.4f", windowMs/1000, c.what, d, crit)
			}
			if dOld := ks(c.oldRobot, c.hum); dOld < 3*crit {
				t.Errorf("%d s window: the test cannot tell the old %s from humans (D = %.4f): it has no power", windowMs/1000, c.what, dOld)
			}
		}
		rs, hs := float64(robots.silent)/float64(robots.rounds), float64(humans.silent)/float64(humans.rounds)
		t.Logf("%d s window: no answer in %.1f%% of robot rounds, %.1f%% of human ones", windowMs/1000, 100*rs, 100*hs)
		// Two proportions of ~2100 rounds: 3 standard errors is about 2.4 points.
		if se := math.Sqrt(hs * (1 - hs) * 2 / float64(humans.rounds)); math.Abs(rs-hs) > 3*se || robots.silent == 0 {
			t.Errorf("%d s window: robots give no answer in %.1f%% of rounds, humans in %.1f%%", windowMs/1000, 100*rs, 100*hs)
		}
	}
}

// A personality's speed moves its schedule, but never past the deadline.
func TestScheduleKeepsThePersonalitysPaceInsideTheWindow(t *testing.T) {
	start := tStart
	latest := start.Add(40 * time.Second)
	cmd := &events.RobotCommand{StartedMs: start.UnixMilli(), TypingAfterMs: 8000, ReplyAfterMs: 39_000}
	fast, slow := config.Personality{TypingCPS: 9}, config.Personality{TypingCPS: 4}
	f, s := ScheduleFor(fast, cmd, latest), ScheduleFor(slow, cmd, latest)
	if !f.TypingAt.Before(start.Add(8*time.Second)) || !s.TypingAt.After(start.Add(8*time.Second)) {
		t.Errorf("typing at %s (fast) and %s (slow), want either side of 8 s", f.TypingAt.Sub(start), s.TypingAt.Sub(start))
	}
	if s.ReplyAt.After(latest) || !s.ReplyAt.After(start.Add(39*time.Second)) {
		t.Errorf("slow reply at %s, want after 39 s and before %s", s.ReplyAt.Sub(start), latest.Sub(start))
	}
	if silent := ScheduleFor(fast, &events.RobotCommand{StartedMs: start.UnixMilli(), TypingAfterMs: 5000, Silent: true}, latest); !silent.Silent || silent.TypingAt.IsZero() {
		t.Errorf("a silent command that types: %+v", silent)
	}
}

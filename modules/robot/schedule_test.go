package robot

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/llm"
)

// A robot carries out the schedule of its commands on the embedded broker:
// "typing" at typingAfterMs and the answer held until replyAfterMs; a
// silent command types and stops, with no reply at all.
func TestRobotCarriesOutTheSchedule(t *testing.T) {
	logger := arenatest.Logger()
	cfg := config.Default()
	cfg.LLM.Provider = config.ProviderScripted
	clients := kafkatest.StartLog(t, cfg.Kafka, 1, logger).Clients
	cl, err := clients.New("test", kgo.ConsumeTopics(clients.Topics.RobotEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	robots, err := New(ConfigFrom(cfg), clients, llm.NewScripted(cfg.LLM), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := robots.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = robots.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; _ = robots.Stop(context.Background()) })

	p := cfg.Robots[0]
	start := time.Now()
	cmd := func(seat string, typing, reply int64, silent bool) events.Envelope {
		c := &events.RobotCommand{
			CommandID: "cmd-" + seat, Kind: events.KindAnswer, RobotID: p.ID, Seat: seat, Round: 1,
			Prompt: "What's your favorite memory?", DeadlineMs: start.Add(20 * time.Second).UnixMilli(), MaxChars: 280,
			StartedMs: start.UnixMilli(), TypingAfterMs: typing, ReplyAfterMs: reply, Silent: silent, Slots: 2,
		}
		e, err := events.NewWithID(c.CommandID, "m1", events.SourceOrchestrator, start, c)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := kafka.Publish(ctx, cl, clients.Topics.RobotCommands, "m1", cmd("B", 1500, 3000, false), cmd("C", 1000, 0, true)); err != nil {
		t.Fatal(err)
	}

	got := map[string]time.Duration{}       // seat/type -> when it arrived
	waitUntil := start.Add(5 * time.Second) // well past every scheduled time
	for time.Now().Before(waitUntil) {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			e, err := events.Decode(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			pl, _ := e.Payload()
			switch v := pl.(type) {
			case *events.RobotTyping:
				got[v.Seat+"/typing"] = time.Since(start)
			case *events.ResponseGenerated:
				got[v.Seat+"/reply"] = time.Since(start)
				if v.Text == "" {
					t.Errorf("empty answer from %s", v.Seat)
				}
			case *events.ResponseFailed:
				t.Errorf("robot failed: %s", v.Error)
			}
		})
	}
	speed := time.Duration(float64(time.Second) * 0.2) // the warp moves a time by a few percent at most
	for key, want := range map[string]time.Duration{"B/typing": 1500 * time.Millisecond, "B/reply": 3 * time.Second, "C/typing": time.Second} {
		at, ok := got[key]
		if !ok {
			t.Errorf("no %s", key)
			continue
		}
		if at < want-speed || at > want+time.Second {
			t.Errorf("%s at %s, scheduled at %s", key, at.Round(time.Millisecond), want)
		}
	}
	if at, ok := got["C/reply"]; ok {
		t.Errorf("a silent command replied at %s", at)
	}
}

// TestCommandModelReachesTheRequest: the model drawn for the seat when the
// match was created (an A/B variant) is the model the robot asks for;
// "scripted" (the offline model) leaves the request's model alone.
func TestCommandModelReachesTheRequest(t *testing.T) {
	cfg := config.Default()
	p := cfg.Robots[0]
	cmd := &events.RobotCommand{CommandID: "c1", Kind: events.KindAnswer, RobotID: p.ID, Seat: "B", Round: 1, Prompt: "Hi?", MaxChars: 100, Model: "model-b"}
	if got := AnswerRequest(ConfigFrom(cfg), p, "m1", cmd).Model; got != "model-b" {
		t.Fatalf("answer request model %q, want the match's model-b", got)
	}
	cmd.Model = config.ProviderScripted
	want := AnswerRequest(ConfigFrom(cfg), p, "m1", &events.RobotCommand{CommandID: "c1", Kind: events.KindAnswer, RobotID: p.ID, Seat: "B", Round: 1, Prompt: "Hi?", MaxChars: 100}).Model
	if got := AnswerRequest(ConfigFrom(cfg), p, "m1", cmd).Model; got != want || got == config.ProviderScripted {
		t.Fatalf("with the offline model the request model is %q, want the personality's %q", got, want)
	}
}

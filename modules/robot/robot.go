// Package robot plays the robot seats. Each personality is its own consumer
// group (robot-<id>) on robot-commands, so every personality sees every
// command, acts only on its own, and can be scaled or moved on its own.
// A command becomes a model call, a human-like wait with typing signals, and
// a response.generated (or response.failed) on robot-events.
package robot

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/llm"
)

// margin is kept free before a command's deadline for the reply to travel
// through robot-events and the bridge into match-events.
const margin = 1500 * time.Millisecond

// concurrency is how many commands of one partition a personality works on
// at once; robots mostly wait (on the model, or pretending to type).
const concurrency = 64

// Group timeouts of the robot groups. A robot killed without leaving its
// group keeps its partitions until the coordinator misses its heartbeats for
// sessionTimeout; the survivors learn of the rebalance at their next
// heartbeat and redo the commands the dead member had not committed. So a
// command is redone about sessionTimeout+heartbeatInterval (7 s) after a
// crash, well inside the default 45 s answer window. 6 s is the lowest
// session timeout Apache Kafka and MSK accept by default
// (group.min.session.timeout.ms). rebalanceTimeout bounds how long a live
// member may take to give up a revoked partition (in-flight commands drain
// for up to the runner's 5 s DrainTimeout, then are cancelled and redone).
const (
	sessionTimeout    = 6 * time.Second
	heartbeatInterval = time.Second
	rebalanceTimeout  = 15 * time.Second
)

// GroupFor is the consumer group of personality id.
func GroupFor(id string) string { return "robot-" + id }

// Config is the robot module's part of the configuration.
type Config struct {
	Robot         config.Robot
	Personalities []config.Personality // the ones this instance plays
	DefaultModel  string               // llm.model: for a personality and command that name none
}

// ConfigFrom picks the robot module's part of c.
func ConfigFrom(c config.Config) Config {
	return Config{Robot: c.Robot, Personalities: c.ActivePersonalities(), DefaultModel: c.LLM.Model}
}

// Robots is the robot module: one consumer group per active personality.
type Robots struct {
	cfg     Config
	clients *kafka.Clients
	model   llm.Model
	logger  *slog.Logger
	metrics *metrics
	sleep   func(ctx context.Context, d time.Duration) bool

	groups []*kafka.Group
}

// New builds the module for cfg's personalities; it starts nothing.
// reg may be nil.
func New(cfg Config, clients *kafka.Clients, model llm.Model, reg prometheus.Registerer, logger *slog.Logger) (*Robots, error) {
	if len(cfg.Personalities) == 0 {
		return nil, errors.New("robot: no personality to run (robot.personalities names none of robots)")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Robots{cfg: cfg, clients: clients, model: model, logger: logger.With("module", "robot"), metrics: m, sleep: kafka.Sleep}, nil
}

func (r *Robots) Name() string { return "robot" }

func (r *Robots) Start(context.Context) error {
	var ids []string
	for _, pers := range r.cfg.Personalities {
		g, err := kafka.NewGroup(r.clients, kafka.GroupConfig{
			Name: GroupFor(pers.ID), Group: GroupFor(pers.ID), Topics: []string{r.clients.Topics.RobotCommands},
			HandleEvent: r.handler(pers), Concurrency: concurrency,
			// Others' commands are skipped by their robot-id header, undecoded.
			Middleware:     []kafka.Middleware{kafka.SkipUnlessHeader(events.HeaderRobotID, pers.ID)},
			SessionTimeout: sessionTimeout, HeartbeatInterval: heartbeatInterval, RebalanceTimeout: rebalanceTimeout,
		}, r.logger.With("robot", pers.ID))
		if err != nil {
			return err
		}
		r.groups = append(r.groups, g)
		ids = append(ids, pers.ID)
	}
	r.logger.Info("robots ready", "personalities", ids, "model", r.model.Name())
	return nil
}

// Run runs every personality's group until ctx ends or one fails.
func (r *Robots) Run(ctx context.Context) error {
	return kafka.RunGroups(ctx, r.groups...)
}

func (r *Robots) Stop(context.Context) error {
	return nil
}

// handler plays personality p's commands. Its outputs are spaced in time
// (typing, then the answer), so it publishes them through the message as
// it goes rather than returning them; the runner's timeout and correlation
// id apply all the same.
func (r *Robots) handler(p config.Personality) kafka.EventHandler {
	return func(ctx context.Context, m kafka.Message) ([]kafka.Out, error) {
		e := m.Event
		cmd, ok := m.Payload.(*events.RobotCommand)
		if !ok || cmd.RobotID != p.ID { // a command of an orchestrator that wrote no robot-id header
			return nil, nil
		}
		// Replies are planned to leave by deadline; the context allows the
		// margin on top, so a wait that ends on time is not cut short.
		deadline := Latest(cmd)
		if time.Until(deadline) <= 0 {
			r.metrics.skipped.WithLabelValues(p.ID).Inc()
			r.logger.Debug("command expired; skipped", "match_id", e.MatchID, "command_id", cmd.CommandID)
			return nil, nil
		}
		ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(cmd.DeadlineMs))
		defer cancel()
		act := r.answer
		if cmd.Kind == events.KindVote {
			act = r.vote
		}
		err := act(ctx, p, m, cmd, deadline)
		if err == nil && ctx.Err() == nil { // replied, rather than given up at the deadline
			r.metrics.replies.WithLabelValues(p.ID, cmd.Kind).Observe(time.Since(e.Time).Seconds())
		}
		return nil, err
	}
}

// answer carries out a scheduled answer command (see answerOnSchedule). A
// command of an older orchestrator, without a schedule, or any command with
// robot.human_timing off, is answered on the personality's own pace: ask
// the model, then take its delay to "think" and its typing speed to "type".
func (r *Robots) answer(ctx context.Context, p config.Personality, m kafka.Message, cmd *events.RobotCommand, deadline time.Time) error {
	matchID := m.Event.MatchID
	if cmd.StartedMs > 0 && r.cfg.Robot.HumanTiming {
		return r.answerOnSchedule(ctx, p, m, cmd, deadline)
	}
	start := time.Now()
	req := r.answerRequest(p, matchID, cmd)
	resp, err := r.model.Complete(ctx, req)
	took := time.Since(start)
	r.metrics.observe(p.ID, resp, err, took)
	text := ""
	if err == nil {
		text = llm.CleanAnswer(resp.Text, cmd.MaxChars)
		if text == "" {
			err = llm.ErrEmptyReply
		}
	}
	if err != nil {
		if stopping(ctx, deadline) {
			return ctx.Err() // revoked or stopping: the command is redone elsewhere
		}
		return r.fail(m, p, cmd, err)
	}

	rng := rngFor(cmd.CommandID)
	think, typing := humanTime(p, rng, utf8.RuneCountInString(text), time.Until(deadline)+took, took)
	if !r.sleep(ctx, think) {
		return r.cancelled(ctx, deadline)
	}
	if err := r.publish(ctx, m, cmd.CommandID, &events.RobotTyping{CommandID: cmd.CommandID, Seat: cmd.Seat, Round: cmd.Round}); err != nil {
		return err
	}
	if !r.sleep(ctx, typing) {
		return r.cancelled(ctx, deadline)
	}
	r.logger.Debug("robot answered", "match_id", matchID, "robot", p.ID, "seat", cmd.Seat, "round", cmd.Round,
		"think", think, "typing", typing, "model_time", took, "left", time.Until(deadline))
	return r.publish(ctx, m, cmd.CommandID, &events.ResponseGenerated{
		CommandID: cmd.CommandID, Kind: cmd.Kind, RobotID: p.ID, Seat: cmd.Seat, Round: cmd.Round,
		Text: text, Model: resp.Model, ProcessingMs: took.Milliseconds(),
	})
}

// answerOnSchedule asks the model at once and holds the answer: "typing"
// shows and the answer lands at the times the orchestrator drew from how
// humans play, scaled by the personality's speed. A silent command types
// (maybe) and stops, as people do. A model slower than the schedule makes
// the answer late, never early.
func (r *Robots) answerOnSchedule(ctx context.Context, p config.Personality, m kafka.Message, cmd *events.RobotCommand, deadline time.Time) error {
	matchID := m.Event.MatchID
	plan := ScheduleFor(p, cmd, deadline)
	type reply struct {
		resp llm.Response
		err  error
		took time.Duration
	}
	var replied chan reply
	if !plan.Silent {
		replied = make(chan reply, 1)
		go func() {
			start := time.Now()
			resp, err := r.model.Complete(ctx, r.answerRequest(p, matchID, cmd))
			replied <- reply{resp, err, time.Since(start)}
		}()
	}
	if !plan.TypingAt.IsZero() {
		if !r.sleep(ctx, time.Until(plan.TypingAt)) {
			return r.cancelled(ctx, deadline)
		}
		if err := r.publish(ctx, m, cmd.CommandID, &events.RobotTyping{CommandID: cmd.CommandID, Seat: cmd.Seat, Round: cmd.Round}); err != nil {
			return err
		}
	}
	if plan.Silent {
		r.logger.Debug("robot gives no answer, as people sometimes do", "match_id", matchID, "robot", p.ID, "seat", cmd.Seat, "round", cmd.Round)
		return nil
	}
	var got reply
	select {
	case got = <-replied:
	case <-ctx.Done():
		return r.cancelled(ctx, deadline)
	}
	r.metrics.observe(p.ID, got.resp, got.err, got.took)
	text, err := "", got.err
	if err == nil {
		text = llm.CleanAnswer(got.resp.Text, cmd.MaxChars)
		if text == "" {
			err = llm.ErrEmptyReply
		}
	}
	if err != nil {
		if stopping(ctx, deadline) {
			return ctx.Err()
		}
		return r.fail(m, p, cmd, err)
	}
	if !r.sleep(ctx, time.Until(plan.ReplyAt)) {
		return r.cancelled(ctx, deadline)
	}
	r.logger.Debug("robot answered", "match_id", matchID, "robot", p.ID, "seat", cmd.Seat, "round", cmd.Round,
		"typing_at", plan.TypingAt, "reply_at", plan.ReplyAt, "model_time", got.took)
	return r.publish(ctx, m, cmd.CommandID, &events.ResponseGenerated{
		CommandID: cmd.CommandID, Kind: cmd.Kind, RobotID: p.ID, Seat: cmd.Seat, Round: cmd.Round,
		Text: text, Model: got.resp.Model, ProcessingMs: got.took.Milliseconds(),
	})
}

func (r *Robots) answerRequest(p config.Personality, matchID string, cmd *events.RobotCommand) llm.Request {
	return AnswerRequest(r.cfg, p, matchID, cmd)
}

// AnswerRequest is the model request personality p makes for an answer
// command of match matchID. The turing measure uses it too.
func AnswerRequest(cfg Config, p config.Personality, matchID string, cmd *events.RobotCommand) llm.Request {
	return matchModel(cmd, llm.BuildAnswerRequestFor(p, cfg.DefaultModel, llm.AnswerContext{
		MatchID: matchID, Prompt: cmd.Prompt, Others: cmd.Answers, MaxChars: cmd.MaxChars, Seed: cmd.CommandID,
		Slot: cmd.Slot, Slots: cmd.Slots, Earlier: cmd.Earlier, Style: cmd.Style,
		Learned: learned(cfg, cmd.Learned), Avoid: cmd.Avoid,
	}))
}

// matchModel puts the model the seat plays on in this match (drawn from the
// personality's variants when the match was created, and shown in the
// reveal) into req. "scripted" names the offline model, which needs none.
func matchModel(cmd *events.RobotCommand, req llm.Request) llm.Request {
	if cmd.Model != "" && cmd.Model != config.ProviderScripted {
		req.Model = cmd.Model
	}
	return req
}

// Latest is when a robot's reply to cmd must leave at the latest: its
// deadline less the margin the reply needs to reach the match log.
func Latest(cmd *events.RobotCommand) time.Time {
	return time.UnixMilli(cmd.DeadlineMs).Add(-margin)
}

// learned is what a robot may reword from other matches: nothing when
// robot.learn is off.
func learned(cfg Config, from []string) []string {
	if !cfg.Robot.Learn {
		return nil
	}
	return from
}

// Schedule is when a robot shows "typing" (zero: never) and replies.
type Schedule struct {
	TypingAt time.Time
	ReplyAt  time.Time
	Silent   bool // no reply at all
}

// ScheduleFor turns a command's drawn schedule into times for personality
// p, with replies kept before latest (the deadline less the margin the
// reply needs to travel). Offsets are warped by the personality's speed
// within the time there is: t -> L*(t/L)^(1/f) over the L ms before
// latest, so a slow typist (f > 1) comes a little later and a fast one a
// little earlier, without piling up at the deadline. It is pure, and what
// the turing measure runs.
func ScheduleFor(p config.Personality, cmd *events.RobotCommand, latest time.Time) Schedule {
	f := speed(p)
	start := time.UnixMilli(cmd.StartedMs)
	span := float64(latest.Sub(start).Milliseconds())
	at := func(ms int64) time.Time {
		if span <= 0 || float64(ms) >= span {
			return latest
		}
		warped := span * math.Pow(max(float64(ms), 0)/span, 1/f)
		return start.Add(time.Duration(warped) * time.Millisecond)
	}
	var s Schedule
	if cmd.TypingAfterMs > 0 {
		s.TypingAt = at(cmd.TypingAfterMs)
	}
	if cmd.Silent {
		s.Silent = true
		return s
	}
	s.ReplyAt = at(cmd.ReplyAfterMs)
	if !s.TypingAt.IsZero() && s.TypingAt.After(s.ReplyAt) {
		s.TypingAt = s.ReplyAt
	}
	return s
}

// speed scales a schedule by how fast a personality types, relative to a
// 6 characters a second typist, gently (the tenth root, within ±10%), so
// each robot has its own pace while the stable as a whole keeps the
// humans' distribution (TestRobotTimingIsHumanLike checks the stable).
func speed(p config.Personality) float64 {
	if p.TypingCPS <= 0 {
		return 1
	}
	return min(max(math.Pow(6/p.TypingCPS, 0.1), 0.9), 1.1)
}

// vote asks the model which seat is human; a reply that names no candidate
// (or a failed call) falls back to a random candidate, so robots always vote.
func (r *Robots) vote(ctx context.Context, p config.Personality, m kafka.Message, cmd *events.RobotCommand, deadline time.Time) error {
	matchID := m.Event.MatchID
	if len(cmd.Candidates) == 0 {
		return kafka.Permanent(errors.New("vote command without candidates"))
	}
	start := time.Now()
	req := matchModel(cmd, llm.BuildVoteRequest(p, r.cfg.DefaultModel, cmd.Prompt, cmd.Answers, cmd.Candidates, cmd.CommandID))
	resp, err := r.model.Complete(ctx, req)
	took := time.Since(start)
	r.metrics.observe(p.ID, resp, err, took)
	rng := rngFor(cmd.CommandID)
	seat, ok := "", false
	if err == nil {
		seat, ok = llm.ParseVote(resp.Text, cmd.Candidates)
	} else if stopping(ctx, deadline) {
		return ctx.Err()
	}
	model := resp.Model
	if !ok {
		seat = cmd.Candidates[rng.IntN(len(cmd.Candidates))]
		model = "fallback"
		r.metrics.fallbacks.WithLabelValues(p.ID).Inc()
		r.logger.Info("vote fell back to a random seat", "match_id", matchID, "robot", p.ID, "err", err)
	}
	// People read the answers before they vote: at the drawn human-like
	// time, or (an older command) the personality's thinking time, at most
	// half of what is left of the window.
	wait, _ := humanTime(p, rng, 0, time.Until(deadline)/2+took, took)
	if cmd.StartedMs > 0 && r.cfg.Robot.HumanTiming {
		wait = time.Until(ScheduleFor(p, cmd, deadline).ReplyAt)
	}
	if !r.sleep(ctx, wait) {
		return r.cancelled(ctx, deadline)
	}
	return r.publish(ctx, m, cmd.CommandID, &events.ResponseGenerated{
		CommandID: cmd.CommandID, Kind: cmd.Kind, RobotID: p.ID, Seat: cmd.Seat, Round: cmd.Round,
		Vote: seat, Model: model, ProcessingMs: took.Milliseconds(),
	})
}

func (r *Robots) fail(m kafka.Message, p config.Personality, cmd *events.RobotCommand, cause error) error {
	r.logger.Warn("robot could not answer", "match_id", m.Event.MatchID, "robot", p.ID, "round", cmd.Round, "err", cause)
	return r.publish(context.Background(), m, cmd.CommandID, &events.ResponseFailed{
		CommandID: cmd.CommandID, Kind: cmd.Kind, RobotID: p.ID, Seat: cmd.Seat, Round: cmd.Round, Error: cause.Error(),
	})
}

// cancelled decides what an interrupted wait means: past the deadline the
// command is simply over; otherwise the group is stopping or was revoked,
// and the unacknowledged command is redone by the partition's next owner.
func (r *Robots) cancelled(ctx context.Context, deadline time.Time) error {
	if !time.Now().Before(deadline.Add(margin)) {
		return nil
	}
	return ctx.Err()
}

// publish writes p to robot-events with an id derived from the command, so
// a command redone after a crash yields the same event ids.
// It is not cut short by ctx (the command's deadline): a reply that is
// due goes out; the runner's timeout still bounds it.
func (r *Robots) publish(ctx context.Context, m kafka.Message, commandID string, p events.Payload) error {
	e, err := events.NewWithID(events.DerivedID(commandID, p.EventType()), m.Event.MatchID, events.SourceRobot, time.Now(), p)
	if err != nil {
		return kafka.Permanent(err)
	}
	return m.Publish(context.WithoutCancel(ctx), kafka.Out{Topic: r.clients.Topics.RobotEvents, Event: e})
}

// stopping reports whether ctx ended for a reason other than the deadline.
func stopping(ctx context.Context, deadline time.Time) bool {
	return ctx.Err() != nil && time.Now().Before(deadline.Add(margin))
}

// humanTime splits the wait before a reply into thinking and typing: a
// thinking delay drawn from the personality's range (the model's own time
// counts towards it) and typing at its speed, scaled down together when
// they would not fit in budget.
func humanTime(p config.Personality, rng *rand.Rand, chars int, budget, took time.Duration) (think, typing time.Duration) {
	think = p.Delay.Min
	if span := p.Delay.Max - p.Delay.Min; span > 0 {
		think += time.Duration(rng.Int64N(int64(span)))
	}
	if p.TypingCPS > 0 {
		typing = time.Duration(float64(chars) / p.TypingCPS * float64(time.Second))
	}
	if total := think + typing; total > budget && total > 0 {
		scale := float64(max(budget, 0)) / float64(total)
		think = time.Duration(float64(think) * scale)
		typing = time.Duration(float64(typing) * scale)
	}
	return max(think-took, 0), typing
}

func rngFor(seed string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(seed))
	return rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
}

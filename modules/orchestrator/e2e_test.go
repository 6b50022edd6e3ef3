package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/llm"
	"github.com/arena-hq/arena/modules/materializer"
	"github.com/arena-hq/arena/modules/orchestrator"
	"github.com/arena-hq/arena/modules/robot"
)

// These tests play whole matches through Kafka: an embedded broker on
// loopback, the materializer, the orchestrator and the robots, with the
// human simulated by writing facts to match-events as the gateway would.

func testLogger() *slog.Logger { return arenatest.Logger() }

type service interface {
	Start(context.Context) error
	Run(context.Context) error
	Stop(context.Context) error
}

type stack struct {
	t       *testing.T
	cfg     config.Config
	clients *kafka.Clients
	cl      *kgo.Client
	logger  *slog.Logger
}

func testConfig() config.Config {
	cfg := config.Default()
	cfg.Game.Seats = 4
	cfg.Game.Rounds = 5
	cfg.Game.AnswerWindow = 5 * time.Second
	cfg.Game.VoteWindow = 4 * time.Second
	cfg.Game.ResultsPause = 300 * time.Millisecond
	cfg.LLM.Provider = config.ProviderScripted
	return cfg
}

// startStack runs broker, materializer, orchestrator and robots (with model)
// until the test ends.
func startStack(t *testing.T, cfg config.Config, model llm.Model) *stack {
	t.Helper()
	s := startStackWithout(t, cfg, model)
	s.runOrchestrator()
	return s
}

// runOrchestrator starts an orchestrator instance; stop ends it as a crash
// or a deploy would (it leaves the group, its timers die with it).
func (s *stack) runOrchestrator() (stop func()) {
	s.t.Helper()
	orch, err := orchestrator.New(s.clients, nil, s.logger)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.run(orch)
}

func (s *stack) run(svc service) (stop func()) {
	s.t.Helper()
	if err := svc.Start(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			s.t.Errorf("module stopped: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			_ = svc.Stop(context.Background())
		})
	}
	s.t.Cleanup(stop)
	return stop
}

// startStackWithout runs everything but the orchestrator.
func startStackWithout(t *testing.T, cfg config.Config, model llm.Model) *stack {
	t.Helper()
	logger := testLogger()
	clients := kafkatest.StartLog(t, cfg.Kafka, 3, logger).Clients
	cl, err := clients.New("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)

	robots, err := robot.New(robot.ConfigFrom(cfg), clients, model, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{t: t, cfg: cfg, clients: clients, cl: cl, logger: logger}
	st.run(materializer.New(clients, logger))
	st.run(robots)
	return st
}

// createMatch writes a private match with one human (seat order A..) and the
// first seats-1 personalities, joins and starts it; it returns the match id
// and the human's seat.
func (s *stack) createMatch() (string, string) {
	s.t.Helper()
	gc := s.cfg.Game
	var robots []events.RobotSeat
	for _, p := range s.cfg.Robots[:gc.Seats-1] {
		robots = append(robots, events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: "test-model"})
	}
	order := []string{"C", "A", "D", "B", "E", "F", "G", "H"}[:gc.Seats]
	id := events.NewID()
	s.publish(id, &events.MatchCreated{
		Mode: events.ModePrivate, Code: "ABCDEF", Seats: gc.Seats, Humans: 1, Rounds: gc.Rounds,
		Prompts: s.cfg.Prompts[:gc.Rounds], SeatOrder: order, Robots: robots,
		AnswerWindowMs: gc.AnswerWindow.Milliseconds(), VoteWindowMs: gc.VoteWindow.Milliseconds(),
		ResultsPauseMs: gc.ResultsPause.Milliseconds(), LobbyWaitMs: gc.LobbyWait.Milliseconds(),
		IdleTimeoutMs: gc.IdleTimeout.Milliseconds(), MaxAnswerChars: gc.MaxAnswerChars,
	})
	s.publish(id, &events.PlayerJoined{PlayerID: "p1", Name: "Ann", TokenHash: strings.Repeat("ab", 32)})
	s.publish(id, &events.MatchStarted{By: order[0]})
	return id, order[0]
}

// publish appends a fact to a match's log as the gateway would.
func (s *stack) publish(matchID string, p events.Payload) {
	s.t.Helper()
	kafkatest.Publish(s.t, s.cl, s.clients.Topics.MatchEvents, events.SourceGateway, matchID, time.Now(), p)
}

// follow calls fn with every snapshot of matchID the materializer publishes
// until fn returns true or the timeout passes; it returns the last state.
func (s *stack) follow(matchID string, timeout time.Duration, fn func(*game.State) bool) *game.State {
	s.t.Helper()
	cl, err := s.clients.New("follow", kgo.ConsumeTopics(s.clients.Topics.MatchState),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *game.State
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			s.t.Fatalf("match %s did not get there within %s; last state: phase=%v", matchID, timeout, phaseOf(last))
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || string(r.Key) != matchID {
				return
			}
			cp, err := fold.DecodeCheckpoint(r.Value)
			if err != nil {
				s.t.Fatalf("bad checkpoint: %v", err)
			}
			if last, err = cp.DecodeState(); err != nil {
				s.t.Fatalf("bad checkpoint: %v", err)
			}
			done = fn(last)
		})
		if done {
			return last
		}
	}
}

func phaseOf(s *game.State) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%s round %d", s.Phase, s.Round)
}

// playHuman answers and votes for the human at seat every round, voting
// for the first other seat in letter order, until the match ends.
func (s *stack) playHuman(matchID, seat string, timeout time.Duration) *game.State {
	answered, voted := map[int]bool{}, map[int]bool{}
	return s.follow(matchID, timeout, func(st *game.State) bool {
		switch {
		case st.Phase == events.PhaseAnswering && !answered[st.Round]:
			answered[st.Round] = true
			s.publish(matchID, &events.AnswerSubmitted{Seat: seat, Round: st.Round, Text: fmt.Sprintf("honestly, round %d made me think of my grandma", st.Round)})
		case st.Phase == events.PhaseVoting && !voted[st.Round]:
			voted[st.Round] = true
			for _, other := range []string{"A", "B", "C", "D"} {
				if other != seat {
					s.publish(matchID, &events.VoteCast{Voter: seat, Seat: other, Round: st.Round})
					break
				}
			}
		}
		return st.Phase == events.PhaseFinished
	})
}

// expectedScores recomputes the scores from the votes by the rules of
// DESIGN.md, independently of the reducer: +100 to a voter whose pick is
// human (or "none" when no other human plays), +50 to each human who
// answered the round for every robot voter that did not pick them.
func expectedScores(s *game.State) map[string]int {
	human := map[string]bool{}
	humans := 0
	out := map[string]int{}
	for _, seat := range s.Seats {
		human[seat.Letter] = seat.Human
		out[seat.Letter] = 0
		if seat.Human {
			humans++
		}
	}
	for _, r := range s.Rounds {
		answered := map[string]bool{}
		for _, a := range r.Answers {
			answered[a.Seat] = !a.NoAnswer
		}
		for _, v := range r.Votes {
			if human[v.Seat] || (v.Seat == events.NoOne && humans == 1 && human[v.Voter]) {
				out[v.Voter] += 100
			}
			if !human[v.Voter] {
				for h := range human {
					if human[h] && h != v.Seat && answered[h] {
						out[h] += 50
					}
				}
			}
		}
	}
	return out
}

func checkFinished(t *testing.T, st *game.State, rounds int) {
	t.Helper()
	if st.Phase != events.PhaseFinished || st.EndReason != events.EndCompleted {
		t.Fatalf("match not completed: phase %s, reason %q", st.Phase, st.EndReason)
	}
	if len(st.Rounds) != rounds {
		t.Fatalf("played %d rounds, want %d", len(st.Rounds), rounds)
	}
	want := expectedScores(st)
	for seat, pts := range want {
		if st.Scores[seat] != pts {
			t.Fatalf("score of %s = %d, want %d (scores %v)", seat, st.Scores[seat], pts, st.Scores)
		}
	}
	for _, r := range st.Rounds {
		if len(r.Answers) != len(st.Seats) {
			t.Fatalf("round %d has %d answers for %d seats", r.Number, len(r.Answers), len(st.Seats))
		}
	}
}

// robotPlay checks that every robot voted in every round, never for
// itself, and answered most rounds: like people, robots sometimes give no
// answer (a few percent of rounds; a third would be a fault).
func robotPlay(t *testing.T, st *game.State) {
	t.Helper()
	silent, plays := 0, 0
	defer func() {
		if silent*3 > plays {
			t.Fatalf("robots gave no answer in %d of %d rounds", silent, plays)
		}
	}()
	for _, r := range st.Rounds {
		for _, seat := range st.Seats {
			if seat.Human {
				continue
			}
			var answer *game.Answer
			for i := range r.Answers {
				if r.Answers[i].Seat == seat.Letter {
					answer = &r.Answers[i]
				}
			}
			plays++
			switch {
			case answer == nil || answer.Text == "":
				t.Fatalf("robot %s (%s) has no answer in round %d: %+v", seat.Letter, seat.RobotID, r.Number, answer)
			case answer.NoAnswer:
				silent++
			case len([]rune(answer.Text)) > st.Settings.MaxAnswerChars:
				t.Fatalf("robot answer over the limit: %q", answer.Text)
			}
			votes := 0
			for _, v := range r.Votes {
				if v.Voter == seat.Letter {
					votes++
					if v.Seat == seat.Letter {
						t.Fatalf("robot %s voted for itself", seat.Letter)
					}
				}
			}
			if votes != 1 {
				t.Fatalf("robot %s cast %d votes in round %d", seat.Letter, votes, r.Number)
			}
		}
	}
}

// A 5-round match with one human and three scripted robots reaches the
// reveal with every robot playing every round and the scores the rules give.
func TestMatchWithScriptedRobots(t *testing.T) {
	cfg := testConfig()
	// Robots answer as soon as the model did: on a loaded machine a
	// human-like late answer can miss the 5 s window, and this is about
	// whole matches, not timing (robot's timing tests and
	// e2e.TestRestartInAnsweringExtendsTheWindow play the schedule).
	cfg.Robot.HumanTiming = false
	s := startStack(t, cfg, llm.NewScripted(cfg.LLM))
	id, seat := s.createMatch()
	st := s.playHuman(id, seat, 2*time.Minute)
	checkFinished(t, st, 5)
	robotPlay(t, st)
	human := st.SeatOf(seat)
	if human == nil || !human.Human {
		t.Fatalf("seat %s is not the human", seat)
	}
	for _, r := range st.Rounds {
		if a := r.Answers; len(a) == 0 {
			t.Fatalf("round %d without answers", r.Number)
		}
	}
	// match.created expected "test-model"; the offline model's replies
	// say what played.
	for _, seat := range st.Seats {
		if !seat.Human && seat.ModelShown() != config.ProviderScripted {
			t.Errorf("robot seat %s shows %q, want %q as its answers report", seat.Letter, seat.ModelShown(), config.ProviderScripted)
		}
	}
	// The human always voted for a robot here, so never scored +100.
	if got := st.Scores[seat]; got%50 != 0 || got > 5*3*50 {
		t.Fatalf("human score %d is not a sum of blend-in awards", got)
	}
}

// A human who never answers or votes still gets a finished match: the
// deadlines move it on and fill in "(no answer)".
func TestIdleHumanStillFinishes(t *testing.T) {
	cfg := testConfig()
	cfg.Game.Rounds = 3
	cfg.Game.AnswerWindow = 3 * time.Second
	cfg.Game.VoteWindow = 3 * time.Second
	s := startStack(t, cfg, llm.NewScripted(cfg.LLM))
	id, seat := s.createMatch()
	st := s.follow(id, 2*time.Minute, func(st *game.State) bool { return st.Phase == events.PhaseFinished })
	checkFinished(t, st, 3)
	for _, r := range st.Rounds {
		for _, a := range r.Answers {
			if a.Seat == seat && (!a.NoAnswer || a.Text != "(no answer)") {
				t.Fatalf("idle human got answer %+v in round %d", a, r.Number)
			}
		}
		for _, v := range r.Votes {
			if v.Voter == seat {
				t.Fatalf("idle human voted in round %d", r.Number)
			}
		}
	}
}

// fakeOpenAI speaks the chat-completions wire format. It is slow, answers
// some calls with 429 (with Retry-After) or 500 first, and replies with a
// recognisable answer or, for vote prompts, a seat letter.
func fakeOpenAI(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-fake" {
			http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch n % 7 {
		case 3:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
			return
		case 5:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"message":"The server had an error","type":"server_error"}}`)
			return
		}
		time.Sleep(150 * time.Millisecond)
		all := ""
		for _, m := range req.Messages {
			all += m.Content
		}
		text := fmt.Sprintf("fake model says: probably pizza, call %d", n)
		// A vote prompt lists the seats it may pick; vote for the first.
		if _, seats, ok := strings.Cut(all, "You may vote for one of these seats: "); ok {
			text = "Seat " + seats[:1]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model + "-2024-07-18", // a dated snapshot, as OpenAI names it
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": text}}},
			"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// The same match with robots on an OpenAI-compatible server that is slow
// and sometimes answers 429 or 500: robots retry within the window and the
// answers are the server's.
func TestMatchWithOpenAICompatibleServer(t *testing.T) {
	srv, calls := fakeOpenAI(t)
	cfg := testConfig()
	cfg.Game.Rounds = 3
	// This is about the model path (retries inside the window), not timing:
	// robots answer as soon as the model did, so a loaded machine cannot
	// push a human-like late answer past the 5 s window.
	cfg.Robot.HumanTiming = false
	cfg.LLM = config.LLM{Provider: config.ProviderOpenAI, BaseURL: srv.URL + "/v1", APIKey: "sk-fake", Model: "fake-model",
		Timeout: 3 * time.Second, MaxRetries: 3}
	model, err := llm.New(cfg.LLM, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if model.Name() != config.ProviderOpenAI {
		t.Fatalf("model provider %s", model.Name())
	}
	s := startStack(t, cfg, model)
	id, seat := s.createMatch()
	st := s.playHuman(id, seat, 2*time.Minute)
	checkFinished(t, st, 3)
	robotPlay(t, st)
	for _, r := range st.Rounds {
		for _, a := range r.Answers {
			if seat := st.SeatOf(a.Seat); !seat.Human && !a.NoAnswer && !strings.HasPrefix(a.Text, "fake model says") {
				t.Fatalf("robot answer %q did not come from the model server", a.Text)
			}
		}
	}
	// Every robot vote is the model's pick (the first candidate), not a
	// random fallback.
	for _, r := range st.Rounds {
		for _, v := range r.Votes {
			if v.Voter == seat {
				continue
			}
			first := "A"
			if v.Voter == "A" {
				first = "B"
			}
			if v.Seat != first {
				t.Fatalf("robot %s voted %s in round %d, the model said %s", v.Voter, v.Seat, r.Number, first)
			}
		}
	}
	// The reveal names the model the server said answered (the command
	// asked for match.created's "test-model"), from the robots' replies.
	for _, seat := range st.Seats {
		if !seat.Human && (seat.ModelShown() != "test-model-2024-07-18" || seat.Model != "test-model") {
			t.Errorf("robot seat %s shows %q and asks for %q, want the server's name test-model-2024-07-18 shown and test-model asked for",
				seat.Letter, seat.ModelShown(), seat.Model)
		}
	}
	// 3 robots x 3 rounds x (answer + vote), plus the retried 429s and 500s.
	if n := calls.Load(); n < 18 {
		t.Fatalf("model server saw %d calls, want at least 18", n)
	}
}

// The orchestrator dies in the middle of round 2 and a new instance takes
// over: it rebuilds the match from match-state and the log, and the match
// still plays to the end with every round complete.
func TestOrchestratorTakeoverMidMatch(t *testing.T) {
	cfg := testConfig()
	cfg.Game.Rounds = 3
	s := startStackWithout(t, cfg, llm.NewScripted(cfg.LLM))
	stop := s.runOrchestrator()
	id, seat := s.createMatch()
	s.follow(id, time.Minute, func(st *game.State) bool { return st.Round == 2 && st.Phase == events.PhaseAnswering })
	stop()
	s.runOrchestrator()
	st := s.playHuman(id, seat, 2*time.Minute)
	checkFinished(t, st, 3)
	robotPlay(t, st)
}

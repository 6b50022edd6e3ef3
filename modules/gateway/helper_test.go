package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/materializer"
)

// The tests share one embedded broker and one materializer (started on
// first use, stopped by TestMain); each test runs its own gateway on an
// httptest server. Matches have random ids, so tests do not interfere.

func testLogger() *slog.Logger { return arenatest.Logger() }

type backend struct {
	broker  *kafka.Broker
	clients *kafka.Clients
	cancel  context.CancelFunc
	done    chan struct{}
	mat     *materializer.Materializer
	err     error
}

var (
	shared     *backend
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.err == nil {
		shared.cancel()
		<-shared.done
		_ = shared.mat.Stop(context.Background())
		shared.broker.Close()
	}
	os.Exit(code)
}

// kafkaBackend returns the shared broker, topics and running materializer.
func kafkaBackend(t *testing.T) *backend {
	t.Helper()
	sharedOnce.Do(func() {
		shared = &backend{}
		shared.err = func() error {
			logger := testLogger()
			l, err := kafkatest.NewLog(config.Kafka{}, 3, "", logger)
			if err != nil {
				return err
			}
			shared.broker, shared.clients = l.Broker, l.Clients
			c := l.Clients
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			mat := materializer.New(c, logger)
			if err := mat.Start(ctx); err != nil {
				return err
			}
			shared.mat = mat
			rctx, rcancel := context.WithCancel(context.Background())
			shared.cancel, shared.done = rcancel, make(chan struct{})
			go func() {
				defer close(shared.done)
				_ = mat.Run(rctx)
			}()
			return nil
		}()
	})
	if shared.err != nil {
		t.Fatalf("kafka backend: %v", shared.err)
	}
	return shared
}

// testPrompts say nothing of humans, so a view's text can be scanned for
// the word.
var testPrompts = []string{"Favorite color?", "Best breakfast?", "Worst gift?", "First phone?"}

// testConfig is the default configuration with a two-round game and robots
// that run on named models (as with an API key), so the models can be
// looked for in views.
func testConfig() config.Config {
	cfg := config.Default()
	cfg.LLM.Provider = config.ProviderOpenAI
	cfg.LLM.APIKey = "test-key"
	cfg.Game.Rounds = 2
	cfg.Prompts = testPrompts
	cfg.HTTP.AllowedOrigins = []string{"good.example"}
	return cfg
}

// harness is one gateway under test.
type harness struct {
	t   *testing.T
	g   *Gateway
	srv *httptest.Server
	reg *prometheus.Registry
	cfg config.Config
	be  *backend
	pub *kgo.Client
}

// newHarness starts a gateway with cfg (testConfig if nil) and stops it at
// the end of the test.
func newHarness(t *testing.T, edit func(*config.Config)) *harness {
	t.Helper()
	be := kafkaBackend(t)
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	g, err := New(Deps{Config: ConfigFrom(cfg), Clients: be.clients, Mux: mux, Registry: reg, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	g.authWait = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- g.Run(runCtx) }()
	srv := httptest.NewServer(mux)
	pub, err := be.clients.New("test-publisher")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, g: g, srv: srv, reg: reg, cfg: cfg, be: be, pub: pub}
	t.Cleanup(func() {
		stopRun()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Stop(sctx); err != nil && !strings.Contains(err.Error(), "client closed") {
			t.Errorf("Stop: %v", err)
		}
		srv.Close()
		pub.Close()
	})
	return h
}

// call does an API request and decodes the JSON reply into out (if not
// nil). It returns the status and the raw body.
func (h *harness) call(method, path string, body any, token string, out any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode < 400 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		h.t.Errorf("%s %s: error reply of type %q", method, path, res.Header.Get("Content-Type"))
	}
	return res.StatusCode, raw
}

// apiErr is the JSON error body.
type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// expectError checks an API call fails with status and code.
func (h *harness) expectError(method, path string, body any, token string, status int, code string) {
	h.t.Helper()
	got, raw := h.call(method, path, body, token, nil)
	var e apiErr
	_ = json.Unmarshal(raw, &e)
	if got != status || e.Code != code || e.Message == "" {
		h.t.Errorf("%s %s: got %d %s, want %d %q with a message", method, path, got, raw, status, code)
	}
}

func (h *harness) create(name, mode string, humans int) seatReply {
	h.t.Helper()
	body := map[string]any{"name": name, "mode": mode}
	if humans > 0 {
		body["humans"] = humans
	}
	var r seatReply
	if st, raw := h.call("POST", "/api/matches", body, "", &r); st != 200 {
		h.t.Fatalf("create: %d %s", st, raw)
	}
	if r.MatchID == "" || r.Seat == "" || r.Token == "" {
		h.t.Fatalf("create reply incomplete: %+v", r)
	}
	return r
}

func (h *harness) join(code, name string) seatReply {
	h.t.Helper()
	var r seatReply
	if st, raw := h.call("POST", "/api/join", map[string]string{"code": code, "name": name}, "", &r); st != 200 {
		h.t.Fatalf("join: %d %s", st, raw)
	}
	return r
}

func (h *harness) start(r seatReply) {
	h.t.Helper()
	if st, raw := h.call("POST", "/api/matches/"+r.MatchID+"/start", nil, r.Token, nil); st != 200 || strings.TrimSpace(string(raw)) != "{}" {
		h.t.Fatalf("start: %d %s", st, raw)
	}
}

// state waits until the gateway's copy of the match satisfies ok.
func (h *harness) state(matchID string, ok func(*game.State) bool) *game.State {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := h.g.store.get(matchID)
		if s != nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("match %s never reached the wanted state; last: %+v", matchID, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publish appends a fact to a match's log as the orchestrator would.
func (h *harness) publish(matchID string, p events.Payload) {
	h.t.Helper()
	h.publishAt(matchID, time.Now(), p)
}

// publishAt appends a fact with envelope time at: the log's clock.
func (h *harness) publishAt(matchID string, at time.Time, p events.Payload) {
	h.t.Helper()
	kafkatest.Publish(h.t, h.pub, h.be.clients.Topics.MatchEvents, events.SourceOrchestrator, matchID, at, p)
}

// closeQuickLobbies ends every open quick lobby, as the orchestrator would
// once its wait ran out: quick play joins any open quick lobby, and the
// tests share a broker, so a test of quick play starts and ends with none.
func (h *harness) closeQuickLobbies() {
	h.t.Helper()
	for _, id := range h.g.store.openQuick(time.Now()) {
		h.publish(id, &events.MatchEnded{Reason: events.EndAbandoned})
	}
	eventually(h.t, "no quick lobby is open", func() bool { return len(h.g.store.openQuick(time.Now())) == 0 })
}

// robotSeats lists the robot seats of a started match.
func robotSeats(s *game.State) []string {
	var out []string
	for _, seat := range s.Seats {
		if !seat.Human {
			out = append(out, seat.Letter)
		}
	}
	return out
}

// frame is any server frame.
type frame struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	State   *game.View      `json:"state"`
	Raw     json.RawMessage `json:"-"`
}

// client is a test WebSocket client. A reader goroutine keeps every frame;
// next and waitState read them with separate cursors, so waiting for a
// reply never loses a state that arrived before it, and the other way round.
type client struct {
	t    *testing.T
	c    *websocket.Conn
	done chan struct{}
	err  error // why reading ended, once done is closed

	mu      sync.Mutex
	all     []frame       // every frame received
	arrived chan struct{} // closed and replaced when a frame arrives
	replyAt int           // all[:replyAt] were looked at by next
	stateAt int           // all[:stateAt] were looked at by waitState
}

func (h *harness) wsURL(matchID, token string) string {
	return "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ws?match=" + matchID + "&token=" + token
}

// dial opens a socket; origin "" sends none (as non-browser clients do).
func (h *harness) dial(matchID, token, origin string) (*client, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if origin != "" {
		opts.HTTPHeader.Set("Origin", origin)
	}
	c, res, err := websocket.Dial(ctx, h.wsURL(matchID, token), opts)
	if err != nil {
		return nil, res, err
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: h.t, c: c, done: make(chan struct{}), arrived: make(chan struct{})}
	go cl.read()
	h.t.Cleanup(func() { _ = c.CloseNow() })
	return cl, res, nil
}

// connect dials as a player and returns the client once its first view came.
func (h *harness) connect(r seatReply) *client {
	h.t.Helper()
	c, _, err := h.dial(r.MatchID, r.Token, "")
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	v := c.waitState(func(v *game.View) bool { return true })
	if v.You != r.Seat || v.MatchID != r.MatchID {
		h.t.Fatalf("first view is for seat %q of %s, want %q of %s", v.You, v.MatchID, r.Seat, r.MatchID)
	}
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		typ, b, err := c.c.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		if typ != websocket.MessageText {
			c.err = fmt.Errorf("server sent a %v frame", typ)
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.err = fmt.Errorf("server sent bad JSON %q: %v", b, err)
			return
		}
		f.Raw = append(json.RawMessage(nil), b...)
		c.mu.Lock()
		c.all = append(c.all, f)
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		b, _ = json.Marshal(x)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// await scans the frames after *cursor, moving it on, until one satisfies
// ok, and returns it. It fails the test after 10 s or if the socket ends.
func (c *client) await(what string, cursor *int, ok func(frame) bool) frame {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for *cursor < len(c.all) {
			f := c.all[*cursor]
			*cursor++
			if ok(f) {
				c.mu.Unlock()
				return f
			}
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
		case <-c.done:
			// Frames that came before the end are still to be scanned.
			c.mu.Lock()
			more := *cursor < len(c.all)
			c.mu.Unlock()
			if !more {
				c.t.Fatalf("socket ended while waiting for %s: %v", what, c.err)
			}
		case <-timeout:
			c.t.Fatalf("no %s within 10s", what)
		}
	}
}

// next returns the next frame that is not a state.
func (c *client) next() frame {
	c.t.Helper()
	return c.await("reply", &c.replyAt, func(f frame) bool { return f.Type != "state" })
}

// expectError reads the next reply and checks it is an error with code
// (and id, if given).
func (c *client) expectError(code, id string) {
	c.t.Helper()
	f := c.next()
	if f.Type != "error" || f.Code != code || f.ID != id || f.Message == "" {
		c.t.Errorf("got %s, want an error %q with id %q and a message", f.Raw, code, id)
	}
}

func (c *client) expectAck(id string) {
	c.t.Helper()
	if f := c.next(); f.Type != "ack" || f.ID != id {
		c.t.Fatalf("got %s, want ack %q", f.Raw, id)
	}
}

// waitState returns the first state frame not yet looked at whose view
// satisfies ok.
func (c *client) waitState(ok func(*game.View) bool) *game.View {
	c.t.Helper()
	return c.await("matching state", &c.stateAt, func(f frame) bool {
		return f.Type == "state" && f.State != nil && ok(f.State)
	}).State
}

// closed waits for the socket to end and returns the close status and reason.
func (c *client) closed() (websocket.StatusCode, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.t.Fatal("socket still open after 10s")
	}
	var ce websocket.CloseError
	if ok := asCloseError(c.err, &ce); ok {
		return ce.Code, ce.Reason
	}
	return -1, fmt.Sprint(c.err)
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return false
	}
	ce.Code = code
	for e := err; e != nil; {
		if x, ok := e.(websocket.CloseError); ok {
			ce.Reason = x.Reason
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return true
}

// frames returns every frame received so far.
func (c *client) received() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frame(nil), c.all...)
}

// lastState returns the newest view received so far, or nil.
func (c *client) lastState() *game.View {
	all := c.received()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].State != nil {
			return all[i].State
		}
	}
	return nil
}

// metricValue returns the value of a gauge or counter (or a histogram's
// sample count) with the given labels from the harness's registry.
func (h *harness) metricValue(name string, labels map[string]string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	arenatest.WaitFor(t, 10*time.Second, 10*time.Millisecond, what, cond)
}

// readLog returns every event of a match in match-events.
func (h *harness) readLog(matchID string) []events.Envelope {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []events.Envelope
	err := h.be.clients.ReadToEnd(ctx, h.be.clients.Topics.MatchEvents, []int32{0, 1, 2}, nil, func(r *kgo.Record) error {
		if string(r.Key) != matchID {
			return nil
		}
		e, err := events.Decode(r.Value)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// get returns a copy of the fold's state of match id, or nil: tests read
// it at leisure while the fold goes on.
func (st *store) get(id string) *game.State {
	e := st.entry(id)
	if e == nil {
		return nil
	}
	var cp *game.State
	e.read(func(s *game.State) {
		b, err := json.Marshal(s)
		if err != nil {
			panic(err)
		}
		cp = new(game.State)
		if err := json.Unmarshal(b, cp); err != nil {
			panic(err)
		}
	})
	return cp
}

// humans counts the seats of s taken by humans.
func humans(s *game.State) int { return s.Humans() }

package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
)

// readTopic returns every record of topic (all partitions) as it is now.
func readTopic(t *testing.T, c *Clients, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	if err := c.ReadToEnd(ctx, topic, []int32{0, 1, 2}, nil, func(r *kgo.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRetryMiddleware(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name      string
		failFirst int   // calls that fail before one succeeds (-1: all)
		fail      error // what they fail with
		max       int
		cancelIn  time.Duration // cancel the context this long after the start (0: never)
		wantCalls int
		wantErr   error
	}{
		{"success at once", 0, errBoom, 3, 0, 1, nil},
		{"succeeds on the third try", 2, errBoom, 3, 0, 3, nil},
		{"gives up after max retries", -1, errBoom, 2, 0, 3, errBoom},
		{"permanent is not retried", -1, Permanent(errBoom), 3, 0, 1, errBoom},
		{"gives way to shutdown during the backoff", -1, errBoom, 3, 50 * time.Millisecond, 1, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelIn > 0 {
				time.AfterFunc(tc.cancelIn, cancel)
			}
			backoff := 10 * time.Millisecond
			if tc.cancelIn > 0 {
				backoff = time.Hour // only the cancel can end this wait
			}
			calls := 0
			h := Retry(tc.max, backoff, testLogger())(func(context.Context, *kgo.Record) error {
				calls++
				if tc.failFirst < 0 || calls <= tc.failFirst {
					return tc.fail
				}
				return nil
			})
			start := time.Now()
			err := h(ctx, &kgo.Record{Topic: "t"})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tc.wantCalls)
			}
			if backoff == time.Hour && time.Since(start) > 5*time.Second {
				t.Fatalf("shutdown waited %s for the backoff", time.Since(start))
			}
		})
	}
}

func TestDeadLetterMiddleware(t *testing.T) {
	b := startBroker(t, t.TempDir())
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 3)
	cl := newClient(t, c)
	in := &kgo.Record{
		Topic: c.Topics.MatchEvents, Partition: 2, Offset: 41, Key: []byte("m1"), Value: []byte(`{"not":"an envelope"}`),
		Headers: []kgo.RecordHeader{{Key: events.HeaderCorrelationID, Value: []byte("c-7")}},
	}
	cases := []struct {
		name    string
		handler error
		cancel  bool
		wantErr bool
		wantDLQ bool
	}{
		{"handled: nothing dead-lettered", nil, false, false, false},
		{"failed: dead-lettered with its headers, and done", Permanent(errors.New("poison")), false, false, true},
		{"failed while stopping: left for redelivery", errors.New("poison"), true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(readTopic(t, c, c.Topics.DeadLetters))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			h := DeadLetter(cl, c.Topics.DeadLetters, "g-test", 10*time.Millisecond, testLogger())(func(context.Context, *kgo.Record) error { return tc.handler })
			if err := h(ctx, in); (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			recs := readTopic(t, c, c.Topics.DeadLetters)
			if got := len(recs) - before; got != map[bool]int{false: 0, true: 1}[tc.wantDLQ] {
				t.Fatalf("%d dead letters written, want dead letter %v", got, tc.wantDLQ)
			}
			if !tc.wantDLQ {
				return
			}
			r := recs[len(recs)-1]
			want := map[string]string{
				HeaderDLQError: "poison", HeaderDLQTopic: c.Topics.MatchEvents, HeaderDLQPartition: "2",
				HeaderDLQOffset: "41", HeaderDLQGroup: "g-test", events.HeaderCorrelationID: "c-7",
			}
			for k, v := range want {
				if got := Header(r, k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if string(r.Key) != "m1" || string(r.Value) != string(in.Value) {
				t.Errorf("dead letter %q=%q, want the original record", r.Key, r.Value)
			}
		})
	}
}

func TestEventsDecodesPublishesAndPropagatesCorrelationID(t *testing.T) {
	b := startBroker(t, t.TempDir())
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 3)
	cl := newClient(t, c)
	cmd := envelope(t, "m-corr", 1)
	withHeader, err := Record(c.Topics.RobotCommands, cmd, "c-origin")
	if err != nil {
		t.Fatal(err)
	}
	withoutHeader, err := Record(c.Topics.RobotCommands, cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	withoutHeader.Headers = nil // as a record from an older writer
	cases := []struct {
		name     string
		in       *kgo.Record
		wantCorr string
	}{
		{"the incoming correlation id is carried on", withHeader, "c-origin"},
		{"a record without one began the work: its event id", withoutHeader, cmd.ID},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			match := "m-out-" + string(rune('a'+i))
			mk := func(round int) Out {
				return Out{Topic: c.Topics.RobotEvents, Event: envelope(t, match, round)}
			}
			h := Events(cl, time.Second, func(ctx context.Context, m Message) ([]Out, error) {
				if m.Event.ID != cmd.ID || m.Payload.(*events.RoundStarted).Round != 1 {
					t.Errorf("handler got %+v", m.Event)
				}
				if err := m.Publish(ctx, mk(1)); err != nil { // mid-flight
					return nil, err
				}
				return []Out{mk(2)}, nil
			})
			if err := h(context.Background(), tc.in); err != nil {
				t.Fatal(err)
			}
			var got []*kgo.Record
			for _, r := range readTopic(t, c, c.Topics.RobotEvents) {
				if string(r.Key) == match {
					got = append(got, r)
				}
			}
			if len(got) != 2 {
				t.Fatalf("%d records published, want 2 (one mid-flight, one returned)", len(got))
			}
			for _, r := range got {
				if corr := Header(r, events.HeaderCorrelationID); corr != tc.wantCorr {
					t.Errorf("published correlation id %q, want %q", corr, tc.wantCorr)
				}
			}
		})
	}

	t.Run("a record that does not decode is permanent, the handler not called", func(t *testing.T) {
		called := false
		h := Events(cl, time.Second, func(context.Context, Message) ([]Out, error) { called = true; return nil, nil })
		err := h(context.Background(), &kgo.Record{Value: []byte("{broken")})
		if err == nil || !IsPermanent(err) || called {
			t.Fatalf("err %v (permanent %v), handler called %v", err, IsPermanent(err), called)
		}
	})
	t.Run("a handler error is returned and nothing is published", func(t *testing.T) {
		errBoom := errors.New("boom")
		h := Events(cl, time.Second, func(context.Context, Message) ([]Out, error) {
			return []Out{{Topic: c.Topics.RobotEvents, Event: envelope(t, "m-never", 1)}}, errBoom
		})
		if err := h(context.Background(), withHeader); !errors.Is(err, errBoom) {
			t.Fatalf("err %v, want boom", err)
		}
		for _, r := range readTopic(t, c, c.Topics.RobotEvents) {
			if string(r.Key) == "m-never" {
				t.Fatal("a failed handler's outputs were published")
			}
		}
	})
}

func TestSkipUnlessHeader(t *testing.T) {
	cases := []struct {
		name    string
		headers []kgo.RecordHeader
		called  bool
	}{
		{"no header: decoded by the handler", nil, true},
		{"its own", []kgo.RecordHeader{{Key: events.HeaderRobotID, Value: []byte("ada")}}, true},
		{"another's: skipped", []kgo.RecordHeader{{Key: events.HeaderType, Value: []byte("robot.command")}, {Key: events.HeaderRobotID, Value: []byte("bob")}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			h := SkipUnlessHeader(events.HeaderRobotID, "ada")(func(context.Context, *kgo.Record) error { called = true; return nil })
			if err := h(context.Background(), &kgo.Record{Headers: tc.headers}); err != nil || called != tc.called {
				t.Fatalf("err %v, called %v, want called %v", err, called, tc.called)
			}
		})
	}
}

// Record writes a robot command's robot id as a header, for SkipUnlessHeader.
func TestRecordWritesRobotIDOnCommands(t *testing.T) {
	e, err := events.New("m1", events.SourceOrchestrator, time.Now(), &events.RobotCommand{
		CommandID: "c1", Kind: events.KindAnswer, RobotID: "ada", Seat: "B", Round: 1, Prompt: "p", DeadlineMs: time.Now().Add(time.Minute).UnixMilli(), MaxChars: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Record("robot-commands", e, "")
	if err != nil {
		t.Fatal(err)
	}
	if Header(r, events.HeaderRobotID) != "ada" || Header(r, events.HeaderCorrelationID) != e.ID {
		t.Fatalf("headers %+v", r.Headers)
	}
	other, _ := Record("match-events", envelope(t, "m1", 1), "")
	if Header(other, events.HeaderRobotID) != "" {
		t.Fatalf("robot-id on a %s", envelope(t, "m1", 1).Type)
	}
}

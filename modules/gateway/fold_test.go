package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// Tests of the one-hop live path: every gateway folds match-events itself.

// viewJSON is the view a client last got, re-encoded without its deadline's
// monotonic noise, for comparing two clients.
func viewJSON(t *testing.T, v *game.View) string {
	t.Helper()
	return arenatest.JSON(t, v)
}

// sameView waits until both clients' newest views have the same version,
// and checks they are the same view.
func sameView(t *testing.T, what string, a, b *client) {
	t.Helper()
	var va, vb *game.View
	eventually(t, what+": both clients at one version", func() bool {
		va, vb = a.lastState(), b.lastState()
		return va != nil && vb != nil && va.Version == vb.Version
	})
	if ja, jb := viewJSON(t, va), viewJSON(t, vb); ja != jb {
		t.Fatalf("%s: the two gateways push different views:\n%s\n%s", what, ja, jb)
	}
}

// TestTwoInstancesPushSameViews: a player with a tab on each of two gateway
// instances gets the same view from both after every change.
func TestTwoInstancesPushSameViews(t *testing.T) {
	h1, h2 := newHarness(t, nil), newHarness(t, nil)
	host, guest := h1.privateMatch()
	h2.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseAnswering })
	a, b := h1.connect(host), h2.connect(host)
	gc := h2.connect(guest)
	sameView(t, "answering", a, b)
	a.answer(1, "first tab")
	gc.answer(1, "other player")
	sameView(t, "two answers in", a, b)
	h1.robotsAnswer(host.MatchID, 1)
	b.waitState(func(v *game.View) bool { return v.Phase == events.PhaseVoting })
	sameView(t, "voting", a, b)
	s := h1.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseVoting })
	b.vote(1, other(s, host.Seat))
	sameView(t, "after a vote", a, b)
}

// TestGatewayStartedMidMatch: a gateway that starts in round 2 from the
// checkpoints plus the tail of the log pushes the same view as one that
// saw every event, and it did not fold the whole log to get there.
func TestGatewayStartedMidMatch(t *testing.T) {
	h1 := newHarness(t, nil)
	host, guest := h1.privateMatch()
	id := host.MatchID
	hc, gc, s := h1.answerRound1(host, guest, "one", "two")
	for _, seat := range s.Seats {
		h1.publish(id, &events.VoteCast{Voter: seat.Letter, Seat: other(s, seat.Letter), Round: 1})
	}
	h1.state(id, func(s *game.State) bool { return s.Phase == events.PhaseResults })
	h1.publish(id, &events.DeadlineReached{Phase: events.PhaseResults, Round: 1})
	hc.waitState(func(v *game.View) bool { return v.Round == 2 })
	hc.answer(2, "round two")

	// The materializer checkpointed the match and its watermark moved past
	// the match's creation, so the new gateway starts after it.
	part := fold.Home([]byte(id), 3)
	created := firstOffset(t, h1, id)
	eventually(t, "the watermark to pass the match's creation", func() bool {
		w, err := fold.Watermarks(context.Background(), h1.be.clients, []int32{part})
		return err == nil && w[part] > created
	})
	h2 := newHarness(t, nil)
	if n := h2.g.bootFolded.Load(); n >= totalRecords(t, h1) {
		t.Errorf("the new gateway folded %d records at start, the whole log (%d): it did not start from the checkpoints", n, totalRecords(t, h1))
	}
	late := h2.connect(host)
	sameView(t, "round 2 from checkpoints", hc, late)
	gc.answer(2, "and the guest")
	sameView(t, "after one more answer", hc, late)
}

// firstOffset is the offset of match id's first record in match-events.
func firstOffset(t *testing.T, h *harness, id string) int64 {
	t.Helper()
	part := fold.Home([]byte(id), 3)
	return awaitRecord(t, h, 10*time.Second, fmt.Sprintf("a record of %s in partition %d", id, part),
		func(r *kgo.Record) bool { return string(r.Key) == id },
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{h.be.clients.Topics.MatchEvents: {part: kgo.NewOffset().AtStart()}})).Offset
}

// awaitRecord reads the log with a client of opts until a record satisfies
// match, and returns the first that does; it fails the test after limit.
func awaitRecord(t *testing.T, h *harness, limit time.Duration, what string, match func(*kgo.Record) bool, opts ...kgo.Opt) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(h.be.broker.Addr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		var found *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if found == nil && match(r) {
				found = r
			}
		})
		if found != nil {
			return found
		}
	}
}

// totalRecords is the number of records in match-events.
func totalRecords(t *testing.T, h *harness) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.be.broker.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), h.be.clients.Topics.MatchEvents)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// TestFinishedMatchLeavesLiveSet: once the log's clock is past a finished
// match's end plus fold.FinishedTTL, the gateway lets it go; its full
// record is then read from its checkpoint when someone opens it, and it is
// the same reveal as before.
func TestFinishedMatchLeavesLiveSet(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	id := host.MatchID
	h.playToEnd(host, guest)
	var before map[string]any
	if st, raw := h.call("GET", "/api/matches/"+id, nil, "", &before); st != 200 {
		t.Fatalf("GET finished match: %d %s", st, raw)
	}
	ended := h.state(id, func(s *game.State) bool { return s.Phase == events.PhaseFinished }).EndedAt
	// A record of another match on the same partition, written after the
	// TTL by the log's clock, moves that clock on.
	later := ended.Add(fold.FinishedTTL + time.Minute)
	other := sameHome(id)
	h.publishAt(other, later, &events.MatchEnded{Reason: events.EndAbandoned})
	eventually(t, "the finished match to leave the live set", func() bool { return h.g.store.entry(id) == nil })
	eventually(t, "its checkpoint's location to be known", func() bool { _, ok := h.g.views.Location(id); return ok })
	var after map[string]any
	if st, raw := h.call("GET", "/api/matches/"+id, nil, "", &after); st != 200 {
		t.Fatalf("GET evicted match: %d %s", st, raw)
	}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) {
		t.Fatalf("the evicted match reads differently from its checkpoint:\nbefore %s\nafter  %s", b1, b2)
	}
	if after["reveal"] == nil {
		t.Fatalf("no reveal in the evicted match: %s", b2)
	}
	h.expectError("POST", "/api/matches/"+id+"/rematch", nil, host.Token, 409, "too_old")
}

// sameHome returns a fresh match id in the partition of id.
func sameHome(id string) string {
	home := fold.Home([]byte(id), 3)
	for {
		if c := newMatchID(); fold.Home([]byte(c), 3) == home {
			return c
		}
	}
}

// TestMisplacedRecord: a record of a live match written to another
// partition than its key's (as kcat's default partitioner would) goes to
// dead-letters with the reason, and the match's view is untouched; a
// checkpoint written to the wrong match-state partition is ignored by a
// gateway that starts later.
func TestMisplacedRecord(t *testing.T) {
	h := newHarness(t, nil)
	host, guest := h.privateMatch()
	id := host.MatchID
	hc := h.connect(host)
	home := fold.Home([]byte(id), 3)
	wrong := (home + 1) % 3
	manual, err := kgo.NewClient(kgo.SeedBrokers(h.be.broker.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer manual.Close()
	e, err := events.New(id, events.SourceGateway, time.Now(), &events.AnswerSubmitted{Seat: guest.Seat, Round: 1, Text: "smuggled"})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := kafka.Record(h.be.clients.Topics.MatchEvents, e, "")
	rec.Partition = wrong
	bogus := fold.Checkpoint{MatchID: id, Partition: wrong, Offset: 1 << 40, Phase: events.PhaseFinished, State: json.RawMessage(`{"matchId":"` + id + `","phase":"finished"}`)}
	bv, _ := json.Marshal(bogus)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := manual.ProduceSync(ctx, rec, &kgo.Record{Topic: h.be.clients.Topics.MatchState, Partition: wrong, Key: []byte(id), Value: bv}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	dl := awaitDeadLetter(t, h, e.ID)
	if reason := kafka.Header(dl, kafka.HeaderDLQError); !strings.Contains(reason, "misplaced") || !strings.Contains(reason, fmt.Sprint(home)) {
		t.Errorf("dead-letter reason %q does not say the record is misplaced and where it belongs", reason)
	}
	// The host's next answer counts; the smuggled one never did.
	hc.answer(1, "the real one")
	s := h.state(id, func(s *game.State) bool { return len(s.CurrentRound().Answers) == 1 })
	if a := s.CurrentRound().Answers[0]; a.Seat != host.Seat {
		t.Fatalf("answers %+v: the misplaced record was folded", s.CurrentRound().Answers)
	}
	// A gateway started now ignores the misplaced checkpoint.
	h2 := newHarness(t, nil)
	v := h2.connect(host).lastState()
	if v.Phase != events.PhaseAnswering || !seatView(v, host.Seat).Answered {
		t.Fatalf("a gateway started after a misplaced checkpoint sees %s", viewJSON(t, v))
	}
}

// awaitDeadLetter returns the dead-letter record whose value is the event
// with id.
func awaitDeadLetter(t *testing.T, h *harness, id string) *kgo.Record {
	t.Helper()
	return awaitRecord(t, h, 15*time.Second, "event "+id+" in "+h.be.clients.Topics.DeadLetters,
		func(r *kgo.Record) bool {
			e, err := events.Decode(r.Value)
			return err == nil && e.ID == id
		},
		kgo.ConsumeTopics(h.be.clients.Topics.DeadLetters), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
}

// TestTwoTabsOneSeat: the same seat's quick actions from two tabs get one
// ack and one clear error, never two acks.
func TestTwoTabsOneSeat(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 5 {
		host, _ := h.privateMatch()
		a, b := h.connect(host), h.connect(host)
		var wg sync.WaitGroup
		var fa, fb frame
		wg.Add(2)
		go func() {
			defer wg.Done()
			a.send(map[string]any{"type": "answer", "id": "a", "round": 1, "text": "tab one"})
		}()
		go func() {
			defer wg.Done()
			b.send(map[string]any{"type": "answer", "id": "b", "round": 1, "text": "tab two"})
		}()
		wg.Wait()
		fa, fb = a.next(), b.next()
		acks := 0
		for _, f := range []frame{fa, fb} {
			switch {
			case f.Type == "ack":
				acks++
			case f.Type == "error" && f.Code == game.CodeAlreadyAnswered:
			default:
				t.Fatalf("try %d: got %s", i, f.Raw)
			}
		}
		if acks != 1 {
			t.Fatalf("try %d: %d acks for two answers of one seat: %s %s", i, acks, fa.Raw, fb.Raw)
		}
		s := h.state(host.MatchID, func(s *game.State) bool { return len(s.CurrentRound().Answers) == 1 })
		want := map[bool]string{true: "tab one", false: "tab two"}[fa.Type == "ack"]
		if got := s.CurrentRound().Answers[0].Text; got != want {
			t.Fatalf("try %d: the acked answer was %q, the log kept %q", i, want, got)
		}
	}
}

// TestDeadlineRace: answers sent a few milliseconds either side of the
// answering deadline: every acked answer counts, every other one is
// refused with a code.
func TestDeadlineRace(t *testing.T) {
	h := newHarness(t, nil)
	counted, refused := 0, 0
	for i := range 8 {
		host, guest := h.privateMatch()
		hc, gc := h.connect(host), h.connect(guest)
		var wg sync.WaitGroup
		wg.Add(3)
		go func() {
			defer wg.Done()
			hc.send(map[string]any{"type": "answer", "id": "h", "round": 1, "text": "host"})
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%4) * time.Millisecond)
			h.publish(host.MatchID, &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1})
		}()
		go func() {
			defer wg.Done()
			gc.send(map[string]any{"type": "answer", "id": "g", "round": 1, "text": "guest"})
		}()
		wg.Wait()
		s := h.state(host.MatchID, func(s *game.State) bool { return s.Phase == events.PhaseVoting })
		for _, c := range []struct {
			cl   *client
			seat string
		}{{hc, host.Seat}, {gc, guest.Seat}} {
			f := c.cl.next()
			var a *game.Answer
			for j := range s.CurrentRound().Answers {
				if s.CurrentRound().Answers[j].Seat == c.seat {
					a = &s.CurrentRound().Answers[j]
				}
			}
			switch {
			case f.Type == "ack" && a != nil && !a.NoAnswer:
				counted++
			case f.Type == "error" && f.Code != "" && a != nil && a.NoAnswer:
				refused++
			default:
				t.Fatalf("try %d seat %s: reply %s, answer in the log %+v", i, c.seat, f.Raw, a)
			}
		}
	}
	t.Logf("%d answers counted, %d refused with a code", counted, refused)
}

// TestRetriedCreateAndJoin: a create or join retried with the same
// Idempotency-Key (after a lost reply or a 503) gets the same seat and
// token back, never a second seat.
func TestRetriedCreateAndJoin(t *testing.T) {
	h := newHarness(t, nil)
	call := func(path, key string, body any) seatReply {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", h.srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r seatReply
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || json.Unmarshal(raw, &r) != nil {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, raw)
		}
		return r
	}
	hostKey, guestKey := events.NewID(), events.NewID()
	host := call("/api/matches", hostKey, map[string]any{"name": "Ann", "mode": "private", "humans": 2})
	if again := call("/api/matches", hostKey, map[string]any{"name": "Ann", "mode": "private", "humans": 2}); again != host {
		t.Fatalf("retried create: %+v, first %+v", again, host)
	}
	guest := call("/api/join", guestKey, map[string]string{"code": host.Code, "name": "Bob"})
	if again := call("/api/join", guestKey, map[string]string{"code": host.Code, "name": "Bob"}); again != guest {
		t.Fatalf("retried join: %+v, first %+v", again, guest)
	}
	s := h.state(host.MatchID, func(s *game.State) bool { return humans(s) == 2 })
	if len(s.Seats) != 2 || s.Seats[0].Letter != host.Seat || s.Seats[1].Letter != guest.Seat {
		t.Fatalf("seats after retries: %+v", s.Seats)
	}
	// Without a key, a second create is a second match.
	other := h.create("Ann", "private", 2)
	if other.MatchID == host.MatchID {
		t.Fatal("a create without a key reused a match")
	}
	// A quick play retried after its seat was given gets that seat.
	qk := events.NewID()
	q := call("/api/matches", qk, map[string]any{"name": "Cy", "mode": "quick"})
	if again := call("/api/matches", qk, map[string]any{"name": "Cy", "mode": "quick"}); again != q {
		t.Fatalf("retried quick play: %+v, first %+v", again, q)
	}
}

// TestModelVariantsDrawnPerMatch: a personality with weighted A/B variants
// plays each match on one of them, drawn when the match is created and
// recorded in its roster (which the reveal and the stats read).
func TestModelVariantsDrawnPerMatch(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		for i := range c.Robots {
			c.Robots[i].Model = ""
			c.Robots[i].Variants = []config.Variant{{Model: "model-a", Weight: 1}, {Model: "model-b", Weight: 1}}
		}
		c.HTTP.Limits.LobbiesPerAddress, c.HTTP.Limits.CreatesPerMinute = 0, 0 // a dozen lobbies from one address
	})
	seen := map[string]int{}
	for range 12 {
		host := h.create("Ann", "private", 1)
		s := h.state(host.MatchID, func(*game.State) bool { return true })
		for _, r := range s.Settings.Robots {
			seen[r.Model]++
		}
	}
	if seen["model-a"] == 0 || seen["model-b"] == 0 || len(seen) != 2 {
		t.Fatalf("models drawn over 12 matches: %v, want both variants and nothing else", seen)
	}
}

package fold

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

const parts = 3

// idIn returns a match id whose home is partition p, other than not.
func idIn(t *testing.T, p int32, not ...string) string {
	t.Helper()
	for i := range 1000 {
		id := "m" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if Home([]byte(id), parts) == p && !slices.Contains(not, id) {
			return id
		}
	}
	t.Fatal("no id found")
	return ""
}

// rec is a record of e at offset in partition p.
func rec(t *testing.T, p int32, offset int64, e events.Envelope) *kgo.Record {
	t.Helper()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Key: []byte(e.MatchID), Value: b, Partition: p, Offset: offset}
}

func ev(t *testing.T, id string, at time.Time, p events.Payload) events.Envelope {
	t.Helper()
	e, err := events.New(id, events.SourceGateway, at, p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func created(t *testing.T, id string, at time.Time) events.Envelope {
	return ev(t, id, at, &events.MatchCreated{
		Mode: events.ModePrivate, Code: "ABCDEF", Seats: 2, Humans: 1, Rounds: 1, Prompts: []string{"Hi?"},
		SeatOrder: []string{"A", "B"}, Robots: []events.RobotSeat{{RobotID: "r", Name: "R", Model: "m"}},
		AnswerWindowMs: 1000, VoteWindowMs: 1000, ResultsPauseMs: 1000, LobbyWaitMs: 1000, IdleTimeoutMs: 60000, MaxAnswerChars: 100,
	})
}

func TestFoldSkipsWhatItHoldsAndRefusesMisplaced(t *testing.T) {
	p := NewPartition(1, parts)
	id := idIn(t, 1)
	c := created(t, id, t0)
	o, err := p.Fold(rec(t, 1, 10, c))
	if err != nil || !o.Created || !o.Applied() || p.Matches[id] == nil {
		t.Fatalf("match.created: %+v %v", o, err)
	}
	// Delivered again: skipped by offset.
	if o, err := p.Fold(rec(t, 1, 10, c)); err != nil || o.Match != nil {
		t.Fatalf("redelivered record: %+v %v", o, err)
	}
	// A copy at a later offset: a duplicate by id, nothing changes.
	events0 := p.Matches[id].State.Events
	if o, err := p.Fold(rec(t, 1, 11, c)); err != nil || !o.Duplicate || o.Verdict != nil || p.Matches[id].State.Events != events0 {
		t.Fatalf("duplicate: %+v %v", o, err)
	}
	// A refused fact: the verdict says why, the offset moves on.
	start := ev(t, id, t0.Add(time.Second), &events.MatchStarted{By: "A"})
	o, err = p.Fold(rec(t, 1, 12, start))
	if err != nil || game.RejectionCode(o.Verdict) != game.CodeNoPlayers || p.Matches[id].Offset != 12 {
		t.Fatalf("refused start: %+v %v", o, err)
	}
	// A fact of a match this partition does not hold.
	stray := ev(t, idIn(t, 1, id), t0, &events.MatchStarted{By: "A"})
	if o, err := p.Fold(rec(t, 1, 13, stray)); err != nil || o.Match != nil || p.Matches[stray.MatchID] != nil {
		t.Fatalf("stray fact: %+v %v", o, err)
	}
	// Misplaced: a key of another partition, or a key that is not the
	// event's match id.
	other := idIn(t, 2)
	if _, err := p.Fold(rec(t, 1, 14, created(t, other, t0))); !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "partition 2") {
		t.Fatalf("misplaced record: %v", err)
	}
	r := rec(t, 1, 15, ev(t, id, t0, &events.MatchStarted{By: "A"}))
	r.Key = []byte(idIn(t, 1, id))
	if _, err := p.Fold(r); !errors.Is(err, ErrMisplaced) || !strings.Contains(err.Error(), "not the event's match id") {
		t.Fatalf("key not the match id: %v", err)
	}
	if _, err := p.Fold(&kgo.Record{Key: []byte(id), Value: []byte("{"), Partition: 1, Offset: 16}); !errors.Is(err, events.ErrMalformed) {
		t.Fatalf("malformed record: %v", err)
	}
}

func TestEvictFinishedByTheLogsClock(t *testing.T) {
	p := NewPartition(0, parts)
	id := idIn(t, 0)
	if _, err := p.Fold(rec(t, 0, 0, created(t, id, t0))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Fold(rec(t, 0, 1, ev(t, id, t0.Add(time.Second), &events.MatchEnded{Reason: events.EndAbandoned}))); err != nil {
		t.Fatal(err)
	}
	if gone := p.EvictFinished(FinishedTTL); len(gone) != 0 {
		t.Fatalf("evicted at once: %v", gone)
	}
	// Another match's record, later than the TTL by the log's clock.
	later := idIn(t, 0, id)
	if _, err := p.Fold(rec(t, 0, 2, created(t, later, t0.Add(FinishedTTL+time.Minute)))); err != nil {
		t.Fatal(err)
	}
	gone := p.EvictFinished(FinishedTTL)
	if len(gone) != 1 || gone[0].State.MatchID != id || p.Matches[id] != nil || p.Matches[later] == nil {
		t.Fatalf("evicted %v; held %v", gone, p.Matches)
	}
}

func TestCheckpointRoundTripAndOrder(t *testing.T) {
	id := idIn(t, 2)
	p := NewPartition(2, parts)
	if _, err := p.Fold(rec(t, 2, 41, created(t, id, t0))); err != nil {
		t.Fatal(err)
	}
	m := p.Matches[id]
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := DecodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cp.Match()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m.State)
	got, _ := json.Marshal(back.State)
	if string(want) != string(got) || back.Offset != 41 || back.Partition != 2 || cp.Phase != events.PhaseLobby {
		t.Fatalf("round trip: %s\n%s\n%+v", want, got, cp)
	}
	if !cp.Valid(2, parts) || cp.Valid(1, parts) {
		t.Fatal("a checkpoint is valid only in its match's own partition")
	}
	moved := cp
	moved.Partition = 1
	if moved.Valid(1, parts) {
		t.Fatal("a checkpoint of a match of partition 2 written to partition 1 must not be trusted")
	}
	older := cp
	older.Offset = 7
	if older.Newer(cp) || !cp.Newer(older) {
		t.Fatal("offsets order the checkpoints of one match")
	}
	// Finished checkpoints carry the summary the history needs.
	if _, err := p.Fold(rec(t, 2, 42, ev(t, id, t0.Add(time.Second), &events.MatchEnded{Reason: events.EndCompleted}))); err != nil {
		t.Fatal(err)
	}
	b, _ = Encode(m)
	if cp, err = DecodeCheckpoint(b); err != nil || cp.Summary == nil || cp.Summary.MatchID != id || cp.EndedAt.IsZero() {
		t.Fatalf("finished checkpoint: %+v %v", cp, err)
	}
	// The header alone has the same fields, without reading the state.
	h, err := decodeHeader(b)
	if err != nil || h.State != nil || h.MatchID != id || h.Offset != cp.Offset || h.Phase != cp.Phase ||
		!h.EndedAt.Equal(cp.EndedAt) || h.Summary == nil || h.Summary.Humans != cp.Summary.Humans {
		t.Fatalf("header %+v (%v), want the fields of %+v", h, err, cp)
	}
	// A checkpoint of the older shape (state first) has no phase in its
	// header: Load then reads it whole.
	old, _ := json.Marshal(map[string]any{"matchId": id, "partition": 2, "offset": 42, "state": json.RawMessage(cp.State)})
	if h, err := decodeHeader(old); err != nil || h.Phase != "" {
		t.Fatalf("old-shape header: %+v %v", h, err)
	}
	if full, err := DecodeCheckpoint(old); err != nil || full.Phase != events.PhaseFinished || full.Summary == nil {
		t.Fatalf("old-shape checkpoint: %+v %v", full, err)
	}
}

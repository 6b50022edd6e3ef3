package fold

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// TestBootstrapDistrustsWhatTheLogNoLongerHas: after the log was cut under
// its checkpoints (arena broker repair, a restore onto older data), a
// checkpoint that covers offsets past the log's end is ignored, so the
// history never lists a match the log lost, and a watermark past the end
// makes the partition fold from its start.
func TestBootstrapDistrustsWhatTheLogNoLongerHas(t *testing.T) {
	c := kafkatest.StartLog(t, config.Kafka{}, parts, arenatest.Logger()).Clients
	cl, err := c.NewUnmetered("test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kept := idIn(t, 1)
	lost := idIn(t, 1, kept)
	// The log holds kept's creation (offset 0); lost's checkpoint claims
	// offset 41, which the log does not have.
	e := created(t, kept, t0)
	if err := kafka.Publish(ctx, cl, c.Topics.MatchEvents, "", e); err != nil {
		t.Fatal(err)
	}
	p := NewPartition(1, parts)
	if _, err := p.Fold(rec(t, 1, 0, e)); err != nil {
		t.Fatal(err)
	}
	good, err := Encode(p.Matches[kept])
	if err != nil {
		t.Fatal(err)
	}
	ghost := game.Replay(lost, []events.Envelope{created(t, lost, t0), ev(t, lost, t0.Add(time.Second), &events.MatchEnded{Reason: events.EndCompleted})})
	bad, err := Encode(&Match{State: ghost, Partition: 1, Offset: 41})
	if err != nil {
		t.Fatal(err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(bad, &cp); err != nil || cp.Summary == nil {
		t.Fatalf("the lost match's checkpoint has no summary: %v", err)
	}
	if err := cl.ProduceSync(ctx,
		&kgo.Record{Topic: c.Topics.MatchState, Key: []byte(kept), Value: good},
		&kgo.Record{Topic: c.Topics.MatchState, Key: []byte(lost), Value: bad}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The materializer's committed offset past the end too.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: c.Topics.MatchEvents, Partition: 1, At: 42})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, CheckpointGroup, offs); err != nil {
		t.Fatal(err)
	}
	got, loaded, from, err := Bootstrap(ctx, c, []int32{0, 1, 2}, func(Checkpoint) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loaded[lost]; ok {
		t.Fatalf("a checkpoint past the log's end was trusted: %+v", loaded[lost].Checkpoint)
	}
	if _, ok := loaded[kept]; !ok || got[1].Matches[kept] == nil {
		t.Fatalf("the good checkpoint was not loaded: %v", loaded)
	}
	if from[1] != 0 {
		t.Fatalf("a watermark past the end: fold from %d, want 0", from[1])
	}
}

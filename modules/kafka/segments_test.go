package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// writeLog fills a fresh data dir with 120 single-record batches on
// match-events/0, kept forever, in segments of about 2 KB, and stops the
// broker cleanly (so kfake writes its snapshot).
func writeLog(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kafka")
	b, err := NewBroker(BrokerConfig{Addr: "127.0.0.1:0", DataDir: dir, Partitions: 1}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c := newClients(t, b.Addr(), "")
	cl := newClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{
		"retention.ms": ptr("-1"), "retention.bytes": ptr("-1"), "cleanup.policy": ptr("delete"), "segment.bytes": ptr("2048"),
	}, c.Topics.MatchEvents); err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		v := fmt.Sprintf("record %03d %s", i, strings.Repeat("x", 60))
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: c.Topics.MatchEvents, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	b.Close()
	return dir
}

func ptr(s string) *string { return &s }

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	pdir := filepath.Join(dir, "partitions", "match-events-0")
	bases, err := segmentBases(pdir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bases {
		p := filepath.Join(pdir, strconv.FormatInt(b, 10)+".dat")
		if info, err := os.Stat(p); err == nil && info.Size() > 0 {
			out = append(out, p)
		}
	}
	if len(out) < 4 {
		t.Fatalf("want several segments, got %v", out)
	}
	return out
}

// readAll starts a broker on dir and returns match-events/0's values.
func readAll(t *testing.T, dir string) []string {
	t.Helper()
	b := startBrokerAt(t, "127.0.0.1:0", dir)
	c := newClients(t, b.Addr(), "")
	cl := newClient(t, c, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.Topics.MatchEvents: {0: kgo.NewOffset().AtStart()}}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, c.Topics.MatchEvents)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(c.Topics.MatchEvents, 0)
	var out []string
	for int64(len(out)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
	}
	b.Close()
	return out
}

func startErr(dir string) error {
	b, err := NewBroker(BrokerConfig{Addr: "127.0.0.1:0", DataDir: dir}, testLogger())
	if err != nil {
		return err
	}
	err = b.Start()
	b.Close()
	return err
}

func TestCleanLogPassesTheCheck(t *testing.T) {
	dir := writeLog(t)
	rep, err := CheckSegments(dir)
	if err != nil || len(rep.Damage)+len(rep.Torn) != 0 || rep.Batches < 120 {
		t.Fatalf("clean log: %+v, %v", rep, err)
	}
	if got := readAll(t, dir); len(got) != 120 {
		t.Fatalf("read %d records, want 120", len(got))
	}
}

func TestFlippedByteRefusedThenCut(t *testing.T) {
	dir := writeLog(t)
	segs := segFiles(t, dir)
	victim := segs[1]
	raw, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(victim, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	err = startErr(dir)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("start on a flipped byte: %v, want ErrDamaged", err)
	}
	for _, want := range []string{"match-events/0", victim, "CRC mismatch", "arena broker repair"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	rep, _ := CheckSegments(dir)
	if len(rep.Damage) != 1 {
		t.Fatalf("damage: %+v", rep.Damage)
	}
	at := rep.Damage[0].Offset
	// Refusing changed nothing.
	if after, _ := os.ReadFile(victim); string(after) != string(raw) {
		t.Fatal("the refused start changed the damaged segment")
	}

	cuts, err := RepairSegments(dir)
	if err != nil || len(cuts) != 1 {
		t.Fatalf("repair: %v %v", cuts, err)
	}
	report := cuts[0].String()
	if cuts[0].From != at || !strings.Contains(report, fmt.Sprintf("cut at offset %d", at)) || len(cuts[0].RemovedFiles) != len(segs)-2 {
		t.Fatalf("cut report %q (removed %v), want a cut at %d and the %d later segments removed", report, cuts[0].RemovedFiles, at, len(segs)-2)
	}
	got := readAll(t, dir)
	if int64(len(got)) != at {
		t.Fatalf("after the cut the partition holds %d records, want the %d before the damage", len(got), at)
	}
	for i, v := range got {
		if !strings.HasPrefix(v, fmt.Sprintf("record %03d ", i)) {
			t.Fatalf("record %d is %q", i, v)
		}
	}
}

func TestDeletedSegmentRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		victim  func(segs []string) string
		problem string
	}{
		{"middle", func(s []string) string { return s[1] }, "are missing (a segment before"},
		{"first", func(s []string) string { return s[0] }, "are missing (the first segment is"},
		{"last", func(s []string) string { return s[len(s)-1] }, "the log ends at offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeLog(t)
			segs := segFiles(t, dir)
			victim := tc.victim(segs)
			if err := os.Remove(victim); err != nil {
				t.Fatal(err)
			}
			err := startErr(dir)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), "match-events/0") {
				t.Fatalf("start without %s: %v", filepath.Base(victim), err)
			}
			// The error names where: the file after the gap, or the partition's directory.
			if !strings.Contains(err.Error(), filepath.Dir(victim)) {
				t.Errorf("refusal %q does not name the partition's files", err)
			}
			cuts, err := RepairSegments(dir)
			if err != nil || len(cuts) != 1 {
				t.Fatalf("repair: %v %v", cuts, err)
			}
			t.Logf("repair: %s", cuts[0])
			if err := startErr(dir); err != nil {
				t.Fatalf("start after repair: %v", err)
			}
		})
	}
}

func TestTornTailIsCutAtStart(t *testing.T) {
	dir := writeLog(t)
	segs := segFiles(t, dir)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first 30 bytes of a batch header claiming 500 bytes: a write a
	// crash cut short.
	head := make([]byte, 30)
	head[11] = 0xf4
	head[10] = 0x01
	_, _ = f.Write(head)
	f.Close()
	rep, _ := CheckSegments(dir)
	if len(rep.Damage) != 0 || len(rep.Torn) != 1 {
		t.Fatalf("torn tail: %+v", rep)
	}
	if got := readAll(t, dir); len(got) != 120 {
		t.Fatalf("after cutting a torn tail: %d records, want 120", len(got))
	}
	if rep, _ := CheckSegments(dir); len(rep.Torn) != 0 {
		t.Fatalf("torn tail left in place: %+v", rep.Torn)
	}
}

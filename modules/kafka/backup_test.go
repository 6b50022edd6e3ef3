package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A backup gives back the same bytes, keys, headers, timestamps and
// partitions, also for a payload that is not UTF-8.
func TestBackupRestoreRoundTripsBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := startBroker(t, "")
	sc := newClients(t, src.Addr(), "")
	ensure(t, sc, 3)
	cl := newClient(t, sc)
	at := time.UnixMilli(1_700_000_000_123)
	in := []*kgo.Record{
		{Topic: sc.Topics.MatchEvents, Key: []byte("match-a"), Value: []byte(`{"type":"match.created"}`), Timestamp: at,
			Headers: []kgo.RecordHeader{{Key: "type", Value: []byte("match.created")}}},
		{Topic: sc.Topics.MatchEvents, Key: []byte("match-b"), Value: []byte{0xff, 0x00, 'x', 0xc3}, Timestamp: at.Add(time.Second)},
		{Topic: sc.Topics.MatchEvents, Key: []byte("match-a"), Value: []byte(`{"type":"answer.submitted","text":"<b>é</b>"}`), Timestamp: at.Add(2 * time.Second)},
	}
	for _, r := range in {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := Backup(ctx, sc, sc.Topics.MatchEvents, &buf)
	if err != nil || n != 3 {
		t.Fatalf("backup: %d, %v", n, err)
	}
	if !strings.Contains(buf.String(), `"payload_base64":true`) || !strings.Contains(buf.String(), `<b>é</b>`) {
		t.Fatalf("backup lines:\n%s", buf.String())
	}

	dst := startBroker(t, "")
	dc := newClients(t, dst.Addr(), "")
	ensure(t, dc, 3)
	if n, err := Restore(ctx, dc, dc.Topics.MatchEvents, bytes.NewReader(buf.Bytes())); err != nil || n != 3 {
		t.Fatalf("restore: %d, %v", n, err)
	}
	var out []*kgo.Record
	if err := dc.ReadToEnd(ctx, dc.Topics.MatchEvents, []int32{0, 1, 2}, nil, func(r *kgo.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("read back %d records", len(out))
	}
	for _, want := range in {
		found := false
		for _, got := range out {
			if bytes.Equal(got.Value, want.Value) {
				found = true
				if string(got.Key) != string(want.Key) || !got.Timestamp.Equal(want.Timestamp) || len(got.Headers) != len(want.Headers) {
					t.Errorf("record %q came back as key %q at %v with %d headers", want.Value, got.Key, got.Timestamp, len(got.Headers))
				}
			}
		}
		if !found {
			t.Errorf("record %q did not come back", want.Value)
		}
	}

	// Lines of another topic are refused before anything is written.
	var line BackupLine
	_ = json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &line)
	line.Topic = "other"
	b, _ := json.Marshal(line)
	fresh := startBroker(t, "")
	fc := newClients(t, fresh.Addr(), "")
	ensure(t, fc, 3)
	if _, err := Restore(ctx, fc, fc.Topics.MatchEvents, bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), `topic "other"`) {
		t.Fatalf("restore of another topic's line: %v", err)
	}
	// And a non-empty log.
	if _, err := Restore(ctx, dc, dc.Topics.MatchEvents, bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrRestoreTarget) {
		t.Fatalf("restore onto a log: %v", err)
	}
}

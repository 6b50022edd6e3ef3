package kafka

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A partition that has records and a commit that does not move makes the
// group unready, naming the partition and who holds it; once it moves
// again the group is ready.
func TestGroupNotReadyWhileAPartitionIsStuck(t *testing.T) {
	defer func(d time.Duration) { lagInterval = d }(lagInterval)
	lagInterval = 200 * time.Millisecond
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 3)
	cl := newClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))

	release := make(chan struct{})
	var once sync.Once
	g, err := NewGroup(c, GroupConfig{Group: "g-stuck", Topics: []string{c.Topics.MatchEvents}, StaleAfter: time.Second,
		SessionTimeout: 3 * time.Second, RebalanceTimeout: 3 * time.Second,
		Handle: func(ctx context.Context, r *kgo.Record) error {
			if r.Partition == 1 {
				select { // a handler that hangs: partition 1 stops moving
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	defer func() { once.Do(func() { close(release) }); cancel(); <-done }()

	for p := range int32(3) {
		for range 2 {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: c.Topics.MatchEvents, Partition: p, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	var reason string
	waitFor(t, "the group to report the stuck partition", 15*time.Second, func() bool {
		err := g.Ready()
		if err != nil {
			reason = err.Error()
		}
		return err != nil && strings.Contains(reason, "held by member")
	})
	if !strings.Contains(reason, "match-events/1 is 2 records behind") || strings.Contains(reason, "match-events/0") || strings.Contains(reason, "match-events/2") {
		t.Fatalf("reason %q: want partition 1 alone, 2 records behind", reason)
	}
	once.Do(func() { close(release) })
	waitFor(t, "the group to be ready once the partition moves", 15*time.Second, func() bool { return g.Ready() == nil })
}

// The broker is unready while its data directory takes no writes. As root,
// chmod does not stop writes, so the test puts a file where the directory
// should be: creating anything under it then fails with ENOTDIR for every
// user. (kfake keeps its open segment files and writes on into the moved
// directory; the probe is what tells.)
func TestBrokerNotReadyWhenDataDirUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	b := startBroker(t, dir)
	if err := b.Ready(); err != nil {
		t.Fatalf("fresh data dir: %v", err)
	}
	if err := os.Rename(dir, dir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the probe's result is kept for a second
	err := b.Ready()
	if err == nil || !strings.Contains(err.Error(), "data dir "+dir+" is not writable") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Ready with a file for the data dir: %v", err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".moved", dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := b.Ready(); err != nil {
		t.Fatalf("data dir back: %v", err)
	}
}

func TestFetchErrorsAreLoggedOncePerInterval(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	l := &errorLog{every: time.Hour}
	for range 1000 {
		l.report(logger, tp{"match-events", 2}, errors.New("corrupt message"))
	}
	l.report(logger, tp{"match-events", 1}, errors.New("corrupt message"))
	if n := strings.Count(buf.String(), "fetch error"); n != 2 {
		t.Fatalf("1,001 fetch errors on 2 partitions logged %d lines:\n%s", n, buf.String())
	}
	l.last[tp{"match-events", 2}] = time.Now().Add(-2 * time.Hour)
	l.report(logger, tp{"match-events", 2}, errors.New("corrupt message"))
	if !strings.Contains(buf.String(), "repeats_not_logged=999") {
		t.Fatalf("the next line does not count the quiet ones:\n%s", buf.String())
	}
}

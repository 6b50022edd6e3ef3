package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/modules/events"
)

func testLogger() *slog.Logger { return arenatest.Logger() }

// startBroker starts an embedded broker on a free loopback port.
func startBroker(t *testing.T, dir string) *Broker {
	t.Helper()
	return startBrokerAt(t, "127.0.0.1:0", dir)
}

func startBrokerAt(t *testing.T, addr, dir string) *Broker {
	t.Helper()
	b, err := NewBroker(BrokerConfig{Addr: addr, DataDir: dir, Partitions: 3}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newClients(t *testing.T, addr, prefix string) *Clients {
	t.Helper()
	c, err := NewClients(config.Kafka{TopicPrefix: prefix}, []string{addr}, nil, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newClient(t *testing.T, c *Clients, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := c.New("test", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ensure(t *testing.T, c *Clients, partitions int32) {
	t.Helper()
	// Generous: under a full parallel test run on two cores, creating five
	// topics once took longer than 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := EnsureTopics(ctx, newClient(t, c), c.Topics, partitions, 1); err != nil {
		t.Fatal(err)
	}
}

func envelope(t *testing.T, matchID string, round int) events.Envelope {
	t.Helper()
	e, err := events.New(matchID, events.SourceOrchestrator, time.Unix(1700000000, 0), &events.RoundStarted{Round: round})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func produceN(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if err := Publish(ctx, cl, topic, "", envelope(t, fmt.Sprintf("m%d", i%7), i+1)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrokerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := NewBroker(BrokerConfig{Addr: ln.Addr().String()}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start()
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("want a clear address-in-use error naming the address, got %v", err)
	}
}

// Records, topic configs and committed group offsets survive a restart of
// the embedded broker on the same data directory.
func TestBrokerSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	addr := b.Addr()
	c := newClients(t, addr, "")
	ensure(t, c, 3)
	pcl := newClient(t, c)
	produceN(t, pcl, c.Topics.MatchEvents, 20)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(pcl)
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: c.Topics.MatchEvents, Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "g-restart", offsets); err != nil {
		t.Fatal(err)
	}
	pcl.Close()
	b.Close()

	// Same address, same directory.
	startBrokerAt(t, addr, dir)
	cl := newClient(t, c)
	adm = kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, c.Topics.MatchEvents)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 20 {
		t.Fatalf("want 20 records after restart, got %d", total)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, c.Topics.MatchState)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On(c.Topics.MatchState, nil)
	found := false
	for _, cf := range rc.Configs {
		if cf.Key == "cleanup.policy" && cf.Value != nil && *cf.Value == "compact" {
			found = true
		}
	}
	if !found {
		t.Fatalf("match-state lost its compact policy across the restart: %+v", rc.Configs)
	}
	fetched, err := adm.FetchOffsets(ctx, "g-restart")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup(c.Topics.MatchEvents, 0); !ok || o.At != 2 {
		t.Fatalf("committed offset lost across restart: %+v ok=%v", o, ok)
	}
	// Topics are still recognised as arena's, with nothing to report.
	if _, err := EnsureTopics(ctx, cl, c.Topics, 3, 1); err != nil {
		t.Fatal(err)
	}
}

// A restarted broker compacts match-state before serving it: little more
// than each match's newest snapshot is left to read; match-events keeps all.
func TestBrokerCompactsMatchStateOnStart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	addr := b.Addr()
	c := newClients(t, addr, "")
	ensure(t, c, 1)
	pcl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 50 {
		key := fmt.Sprintf("m%d", i%5)
		rec := &kgo.Record{Topic: c.Topics.MatchState, Key: []byte(key), Value: []byte(strconv.Itoa(i))}
		if err := pcl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produceN(t, pcl, c.Topics.MatchEvents, 10)
	pcl.Close()
	b.Close()

	startBrokerAt(t, addr, dir)
	newest := map[string]string{}
	n := 0
	err := c.ReadToEnd(ctx, c.Topics.MatchState, []int32{0}, nil, func(r *kgo.Record) error {
		n++
		newest[string(r.Key)] = string(r.Value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// As in Kafka, the newest batch (the active segment) is not compacted.
	if n > 10 || newest["m0"] != "45" || newest["m4"] != "49" {
		t.Fatalf("after restart match-state holds %d of 50 records (newest %v), want about the 5 newest", n, newest)
	}
	kept := 0
	if err := c.ReadToEnd(ctx, c.Topics.MatchEvents, []int32{0}, nil, func(*kgo.Record) error { kept++; return nil }); err != nil {
		t.Fatal(err)
	}
	if kept != 10 {
		t.Fatalf("match-events lost records to compaction: %d of 10", kept)
	}
}

func TestEnsureTopicsReportsWrongPolicy(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "bad-")
	cl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, c.Topics.MatchState); err != nil {
		t.Fatal(err)
	}
	statuses, err := EnsureTopics(ctx, cl, c.Topics, 3, 1)
	if !errors.Is(err, ErrTopicMismatch) || !strings.Contains(err.Error(), "bad-match-state: cleanup.policy") {
		t.Fatalf("want a mismatch naming match-state's cleanup.policy, got %v", err)
	}
	created := 0
	for _, s := range statuses {
		if s.Created {
			created++
		}
	}
	if created != 4 {
		t.Fatalf("the other four topics should have been created, got %+v", statuses)
	}
}

// collector records which (partition, offset) pairs a handler saw.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *collector) add(r *kgo.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[fmt.Sprintf("%d/%d", r.Partition, r.Offset)]++
}

func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	arenatest.WaitFor(t, d, 20*time.Millisecond, what, cond)
}

func runGroup(t *testing.T, c *Clients, cfg GroupConfig) (stop func()) {
	t.Helper()
	g, err := NewGroup(c, cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Run(ctx); err != nil {
			t.Errorf("group %s: %v", cfg.Group, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// A record whose handler always fails lands in the dead-letter topic with
// the error in its headers, and the records after it are still handled.
func TestGroupDeadLetters(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 1)
	cl := newClient(t, c)
	produceN(t, cl, c.Topics.MatchEvents, 10)

	var col collector
	runGroup(t, c, GroupConfig{
		Group: "g-dlq", Topics: []string{c.Topics.MatchEvents}, MaxRetries: 2, RetryBackoff: time.Millisecond,
		Handle: func(_ context.Context, r *kgo.Record) error {
			if r.Offset == 3 {
				return errors.New("poison record")
			}
			col.add(r)
			return nil
		},
	})
	waitFor(t, "the nine good records", 15*time.Second, func() bool { return col.distinct() == 9 })

	dl := newClient(t, c, kgo.ConsumeTopics(c.Topics.DeadLetters), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs := dl.PollRecords(ctx, 10)
	recs := fs.Records()
	if len(recs) != 1 {
		t.Fatalf("want 1 dead letter, got %d (%v)", len(recs), fs.Errors())
	}
	r := recs[0]
	if Header(r, HeaderDLQError) != "poison record" || Header(r, HeaderDLQOffset) != "3" ||
		Header(r, HeaderDLQTopic) != c.Topics.MatchEvents || Header(r, HeaderDLQGroup) != "g-dlq" ||
		Header(r, events.HeaderType) != events.TypeRoundStarted {
		t.Fatalf("dead letter headers wrong: %+v", r.Headers)
	}
}

// Two members of one group share the partitions; when one leaves in the
// middle, the other takes over and no record is lost.
func TestGroupRebalanceLosesNothing(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 3)
	cl := newClient(t, c)

	var col collector
	handle := func(_ context.Context, r *kgo.Record) error { col.add(r); return nil }
	cfg := GroupConfig{Group: "g-rebalance", Topics: []string{c.Topics.MatchEvents}, Handle: handle,
		SessionTimeout: 3 * time.Second, CommitInterval: 100 * time.Millisecond}
	stop1 := runGroup(t, c, cfg)
	runGroup(t, c, cfg)

	produceN(t, cl, c.Topics.MatchEvents, 60)
	waitFor(t, "first 60", 20*time.Second, func() bool { return col.distinct() == 60 })
	stop1() // leaves the group: its partitions move to the other member
	produceN(t, cl, c.Topics.MatchEvents, 60)
	waitFor(t, "all 120", 20*time.Second, func() bool { return col.distinct() == 120 })
}

// Concurrency > 1 commits in offset order: a slow early record holds back the
// commit of later, finished ones.
func TestGroupConcurrentCommitsInOrder(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 1)
	cl := newClient(t, c)
	produceN(t, cl, c.Topics.MatchEvents, 5)

	release := make(chan struct{})
	var col collector
	stop := runGroup(t, c, GroupConfig{
		Group: "g-conc", Topics: []string{c.Topics.MatchEvents}, Concurrency: 8, CommitInterval: 50 * time.Millisecond,
		DrainTimeout: 100 * time.Millisecond,
		Handle: func(ctx context.Context, r *kgo.Record) error {
			if r.Offset == 1 {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			col.add(r)
			return nil
		},
	})
	waitFor(t, "the four fast records", 15*time.Second, func() bool { return col.distinct() == 4 })
	time.Sleep(300 * time.Millisecond) // several commit intervals
	stop()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fetched, err := adm.FetchOffsets(ctx, "g-conc")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup(c.Topics.MatchEvents, 0); !ok || o.At != 1 {
		t.Fatalf("want commit at 1 (record 1 never finished), got %+v ok=%v", o, ok)
	}
	close(release)
}

// A consumer that handles records but dies (SIGKILL) before committing gets
// the same records again: at-least-once. The consumer runs in a child
// process so the death is real.
func TestGroupRedeliversAfterCrash(t *testing.T) {
	if os.Getenv("ARENA_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 1)
	cl := newClient(t, c)
	produceN(t, cl, c.Topics.MatchEvents, 10)

	child := exec.Command(os.Args[0], "-test.run=^TestGroupRedeliversAfterCrash$")
	child.Env = append(os.Environ(), "ARENA_CRASH_CHILD=1", "ARENA_CRASH_BROKER="+b.Addr())
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints one line per handled record; kill it after all ten.
	buf := make([]byte, 4096)
	var got string
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(got, "handled") < 10 && time.Now().Before(deadline) {
		n, err := out.Read(buf)
		got += string(buf[:n])
		if err != nil {
			break
		}
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	if strings.Count(got, "handled") != 10 {
		t.Fatalf("child handled %d records: %q", strings.Count(got, "handled"), got)
	}

	var col collector
	runGroup(t, c, GroupConfig{Group: "g-crash", Topics: []string{c.Topics.MatchEvents},
		Handle: func(_ context.Context, r *kgo.Record) error { col.add(r); return nil }})
	waitFor(t, "redelivery of all ten", 20*time.Second, func() bool { return col.distinct() == 10 })
}

// crashChild consumes with a commit interval far longer than its life.
func crashChild() {
	c, err := NewClients(config.Kafka{}, []string{os.Getenv("ARENA_CRASH_BROKER")}, nil, testLogger())
	if err != nil {
		panic(err)
	}
	g, err := NewGroup(c, GroupConfig{Group: "g-crash", Topics: []string{c.Topics.MatchEvents}, CommitInterval: time.Hour,
		Handle: func(_ context.Context, r *kgo.Record) error {
			fmt.Println("handled " + strconv.FormatInt(r.Offset, 10))
			return nil
		}}, testLogger())
	if err != nil {
		panic(err)
	}
	_ = g.Run(context.Background())
}

package kafka

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/arena-hq/arena/config"
)

// ghostSession is the children's session timeout.
const ghostSession = 3 * time.Second

// member is a group member in a child process, killed with SIGKILL.
type member struct {
	name    string
	cmd     *exec.Cmd
	mu      sync.Mutex
	handled map[string]bool // "partition/offset" lines the child printed
}

func startMember(t *testing.T, broker, name string) *member {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupRecoversFromKillRestartKill$")
	cmd.Env = append(os.Environ(), "ARENA_GHOST_CHILD="+name, "ARENA_GHOST_BROKER="+broker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &member{name: name, cmd: cmd, handled: map[string]bool{}}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "handled "); ok {
				m.mu.Lock()
				m.handled[p] = true
				m.mu.Unlock()
			}
		}
	}()
	t.Cleanup(m.kill)
	return m
}

func (m *member) kill() {
	if m.cmd.ProcessState == nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
	}
}

func (m *member) has(records ...string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range records {
		if !m.handled[r] {
			return false
		}
	}
	return true
}

// ghostChild runs one member of g-ghost until killed.
func ghostChild() {
	c, err := NewClients(config.Kafka{}, []string{os.Getenv("ARENA_GHOST_BROKER")}, nil, testLogger())
	if err != nil {
		panic(err)
	}
	g, err := NewGroup(c, GroupConfig{
		Name: "ghost-" + os.Getenv("ARENA_GHOST_CHILD"), Group: "g-ghost", Topics: []string{c.Topics.MatchEvents},
		SessionTimeout: ghostSession, RebalanceTimeout: 2 * ghostSession,
		Handle: func(_ context.Context, r *kgo.Record) error {
			fmt.Printf("handled %d/%d\n", r.Partition, r.Offset)
			return nil
		}}, testLogger())
	if err != nil {
		panic(err)
	}
	_ = g.Run(context.Background())
}

// The sequence that wedged the materializer: kill -9 of a member, a new
// one joins, it is killed while it waits in the join, a third joins. In
// kfake the second member stayed in the group without a session timer and,
// when the third led the sync, kept its partitions for good. Each round
// must end with the newest member owning every partition, within the
// session timeout plus the watch's tick and a rebalance, and consuming.
func TestGroupRecoversFromKillRestartKill(t *testing.T) {
	if os.Getenv("ARENA_GHOST_CHILD") != "" {
		ghostChild()
		return
	}
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "")
	ensure(t, c, 3)
	cl := newClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))

	info := func() *kfake.GroupInfo { return b.cluster.GroupInfo("g-ghost") }
	owns := func(name string) bool {
		i := info()
		return i != nil && i.State == "Stable" && len(i.Members) == 1 &&
			i.Members[0].ClientID == "arena-ghost-"+name && i.Members[0].NumAssigned() == 3
	}
	first := startMember(t, b.Addr(), "a0")
	waitFor(t, "the first member to own all partitions", 20*time.Second, func() bool { return owns("a0") })

	const bound = ghostSession + 3*time.Second
	var worst time.Duration
	for round := range 3 {
		first.kill()
		second := startMember(t, b.Addr(), fmt.Sprintf("b%d", round))
		// The second waits in its join for the first's session to end.
		waitFor(t, "the second member to join", ghostSession, func() bool {
			i := info()
			return i != nil && len(i.Members) == 2
		})
		second.kill()
		killed := time.Now()
		third := startMember(t, b.Addr(), fmt.Sprintf("c%d", round))
		name := fmt.Sprintf("c%d", round)
		deadline := killed.Add(bound)
		for !owns(name) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %s after the kill the group is %+v; want %s alone with 3 partitions", round, bound, info(), name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(killed)
		worst = max(worst, took)
		t.Logf("round %d: the new member owned every partition %s after the kill", round, took.Round(10*time.Millisecond))
		// And consumes from each of them.
		var want []string
		for p := range int32(3) {
			r, err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: c.Topics.MatchEvents, Partition: p, Value: []byte("x")}).First()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%d/%d", r.Partition, r.Offset))
		}
		waitFor(t, "the new member to consume every partition", 10*time.Second, func() bool { return third.has(want...) })
		first = third
	}
	t.Logf("worst recovery: %s (session timeout %s)", worst.Round(10*time.Millisecond), ghostSession)
}

// The watch's rules, member by member: silent past its session timeout is
// a ghost, unless it waits on the coordinator.
func TestGroupWatchTellsGhostsFromWaitingMembers(t *testing.T) {
	now := time.Now()
	const st = 10 * time.Second
	for _, tc := range []struct {
		name       string
		state      string
		generation int32
		epochSince time.Duration // how long the watch has seen this state and generation
		kind       kmsg.Key
		memberGen  int32
		silent     time.Duration
		ghost      bool
	}{
		{"stable and heartbeating", "Stable", 3, time.Minute, kmsg.Heartbeat, 3, 2 * time.Second, false},
		{"stable and silent past its session", "Stable", 3, time.Minute, kmsg.Heartbeat, 3, st + time.Second, true},
		{"stable, last spoke in a join long ago (died waiting)", "Stable", 3, time.Minute, kmsg.JoinGroup, 0, st + time.Second, true},
		{"within the grace", "Stable", 3, time.Minute, kmsg.Heartbeat, 3, st + 100*time.Millisecond, false},
		{"parked in this rebalance's join", "PreparingRebalance", 3, 20 * time.Second, kmsg.JoinGroup, 0, 19 * time.Second, false},
		{"a join of an earlier rebalance", "PreparingRebalance", 3, 5 * time.Second, kmsg.JoinGroup, 0, st + 5*time.Second, true},
		{"waiting in sync for the leader", "CompletingRebalance", 4, 20 * time.Second, kmsg.SyncGroup, 4, 15 * time.Second, false},
		{"never synced this generation", "CompletingRebalance", 4, 20 * time.Second, kmsg.JoinGroup, 0, st + time.Second, true},
		{"empty group", "Empty", 4, time.Minute, kmsg.Heartbeat, 4, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &groupWatch{grace: 500 * time.Millisecond, tick: 500 * time.Millisecond,
				members: map[string]map[string]*memberSeen{"g": {"m1": {
					at: now.Add(-tc.silent), kind: int16(tc.kind), generation: tc.memberGen, sessionTimeout: st,
				}}},
				episode: map[string]episode{"g": {state: tc.state, generation: tc.generation, since: now.Add(-tc.epochSince)}},
			}
			info := &kfake.GroupInfo{Group: "g", State: tc.state, Epoch: tc.generation, Members: []kfake.GroupMember{{MemberID: "m1"}}}
			got := w.silent("g", info, now)
			if (len(got) == 1) != tc.ghost {
				t.Fatalf("ghosts %+v, want ghost=%v", got, tc.ghost)
			}
		})
	}
}

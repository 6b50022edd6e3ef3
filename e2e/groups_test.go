package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const groupsConfig = `
kafka:
  embedded_addr: %s
  partitions: 3
llm:
  provider: scripted
log:
  level: info
`

// groupSession is the session timeout of the materializer's and the
// orchestrator's groups (kafka.GroupConfig's default).
const groupSession = 10 * time.Second

// soleOwner reports whether each group is stable with one member that
// holds all of its partitions.
func soleOwner(adm *kadm.Client, partitions int, groups ...string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return false, err.Error()
	}
	var state []string
	ok := true
	for _, g := range described {
		n := 0
		for _, m := range g.Members {
			if ca, isConsumer := m.Assigned.AsConsumer(); isConsumer {
				for _, t := range ca.Topics {
					n += len(t.Partitions)
				}
			}
		}
		state = append(state, fmt.Sprintf("%s: %s, %d members, %d partitions assigned", g.Group, g.State, len(g.Members), n))
		if g.Err != nil || g.State != "Stable" || len(g.Members) != 1 || n != partitions {
			ok = false
		}
	}
	return ok, strings.Join(state, "; ")
}

// TestGroupsRecoverFromKillRestartKill repeats what wedged the
// materializer: kill -9 of a role, a new process, killed again 5 s later
// (while it waits in its join for the dead one's session to end), three
// times, then a process that stays. Each group must end with the last
// process owning every partition within the session timeout (plus a few
// seconds of rebalance) of the last kill, for the materializer and the
// orchestrator (clock and bridge groups).
func TestGroupsRecoverFromKillRestartKill(t *testing.T) {
	brokerAddr := freeAddr(t)
	dir := t.TempDir()
	configFile := writeConfig(t, dir, fmt.Sprintf(groupsConfig, brokerAddr))
	broker := start(t, "broker", nil, "broker", "--config", configFile, "--addr", brokerAddr, "--data-dir", filepath.Join(dir, "data"))
	waitListening(t, broker, brokerAddr)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close) // the subtests run after this function returned
	adm := kadm.NewClient(cl)

	for _, tc := range []struct {
		role   string
		groups []string
	}{
		{"materializer", []string{"arena-materializer"}},
		{"orchestrator", []string{"arena-orchestrator", "arena-orchestrator-bridge"}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			t.Parallel()
			p := startRole(t, tc.role+"-0", tc.role, configFile).proc
			waitFor(t, 30*time.Second, tc.role+"-0 owning every partition", func() bool { ok, _ := soleOwner(adm, 3, tc.groups...); return ok })
			var killed time.Time
			for i := 1; i <= 3; i++ {
				p.Kill(t)
				next := start(t, fmt.Sprintf("%s-%d", tc.role, i), nil, "serve", "--role="+tc.role, "--config", configFile, "--http-addr", freeAddr(t))
				time.Sleep(5 * time.Second)
				p = next
			}
			p.Kill(t)
			killed = time.Now()
			last := startRole(t, tc.role+"-last", tc.role, configFile)
			bound := groupSession + 5*time.Second
			deadline := killed.Add(bound)
			for {
				ok, state := soleOwner(adm, 3, tc.groups...)
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s after the last kill: %s", bound, state)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("%s: the last process owned every partition %s after the last kill (session timeout %s)",
				tc.role, time.Since(killed).Round(100*time.Millisecond), groupSession)
			if code, body := httpGet(last.base + "/readyz"); code != 200 {
				t.Errorf("/readyz of the surviving %s: %d %s", tc.role, code, body)
			}
			t.Logf("the broker evicted %d members that kept partitions after dying", strings.Count(broker.Err.String(), "evicted a group member"))
		})
	}
}

// TestReadyzFalseWhileDataDirTakesNoWrites runs serve --all, then puts a
// file where the broker's data directory was: as root chmod stops no
// write, but nothing can be created under a path that is a file, for any
// user. /readyz must say 503 with the reason, the log must say it once,
// and both must clear when the directory is back.
func TestReadyzFalseWhileDataDirTakesNoWrites(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	addr := freeAddr(t)
	p := start(t, "serve", []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + freeAddr(t), "ARENA_LLM_PROVIDER=scripted"},
		"serve", "--all", "--data-dir", dataDir, "--http-addr", addr)
	base := "http://" + addr
	waitReady(t, p, base)
	kafkaDir := filepath.Join(dataDir, "kafka")
	if err := os.Rename(kafkaDir, kafkaDir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kafkaDir, []byte("a file where the directory was"), 0o644); err != nil {
		t.Fatal(err)
	}
	var body string
	waitFor(t, 10*time.Second, "/readyz to fail", func() bool {
		var code int
		code, body = httpGet(base + "/readyz")
		return code == 503
	})
	if !strings.Contains(body, "broker: data dir "+kafkaDir+" is not writable") {
		t.Fatalf("/readyz body %q does not give the reason", body)
	}
	waitFor(t, 10*time.Second, "the reason in the log", func() bool {
		return strings.Contains(p.Err.String(), "module not ready") && strings.Contains(p.Err.String(), "is not writable")
	})
	if err := os.Remove(kafkaDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(kafkaDir+".moved", kafkaDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/readyz to recover", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	waitFor(t, 10*time.Second, "the recovery in the log", func() bool { return strings.Contains(p.Err.String(), "module ready again") })
}

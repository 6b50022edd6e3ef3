package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/modules/kafka"
)

// testVersion is stamped into the test binary, as make build stamps the
// git version.
const testVersion = "v0.0.0-apptest"

// arenaBin is the arena binary built once for the process-level tests.
var arenaBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "arena-app-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	arenaBin, err = arenatest.Build(dir, "-X github.com/arena-hq/arena/app.version="+testVersion)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// proc is a running arena process.
type proc = arenatest.Proc

var freeAddr = arenatest.FreeAddr

// startArena starts the binary in dir (its working directory, so no stray
// ./arena.yaml is read) with args and the hermetic environment plus env.
func startArena(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return arenatest.Start(t, arenaBin, dir, "arena", env, args...)
}

// runArena runs the binary to completion and returns stdout, stderr and
// the exit code.
func runArena(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := startArena(t, dir, env, args...)
	code = p.Wait(t, 60*time.Second)
	return p.Out.String(), p.Err.String(), code
}

// get fetches url and returns its status, content type and body; status 0
// when nothing answers.
func get(url string) (int, string, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// waitStatus polls url until it answers want, failing if p exits first.
func waitStatus(t *testing.T, p *proc, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, _ := get(url)
		if code == want {
			return
		}
		if p.Exited() {
			t.Fatalf("arena exited while waiting for %s to answer %d; stderr:\n%s", url, want, p.Err.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answered %d, want %d", url, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveAll starts `arena serve --all` on a fresh data dir (or dataDir) with
// free ports for HTTP and the embedded broker.
func serveAll(t *testing.T, dataDir string) (p *proc, base, brokerAddr string) {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data")
	}
	httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
	p = startArena(t, t.TempDir(), []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr},
		"serve", "--all", "--data-dir", dataDir, "--http-addr", httpAddr)
	base = "http://" + httpAddr
	waitStatus(t, p, base+"/readyz", http.StatusOK)
	return p, base, brokerAddr
}

func TestServeAllAnswersHealthAndExitsCleanlyOnSIGTERM(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p, base, _ := serveAll(t, dataDir)

	if code, _, body := get(base + "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, _, body := get(base + "/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz = %d %q, want 200 ready", code, body)
	}
	code, ctype, body := get(base + "/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("/metrics = %d %q, want 200 text/plain", code, ctype)
	}
	for _, want := range []string{
		"# TYPE go_goroutines gauge", // the Go runtime collector
		"process_start_time_seconds", // the process collector
		"arena_kafka_",               // kprom's client metrics
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	sent := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// "A few seconds": a generous bound that only a hang would break.
	if code := p.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.Err.String())
	}
	t.Logf("exited %s after SIGTERM", p.ExitAt.Sub(sent).Round(time.Millisecond))
	logs := p.Err.String()
	for _, want := range []string{`msg="arena ready"`, `msg="shutting down"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("error logged during a clean start and stop:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "kafka")); err != nil {
		t.Errorf("embedded broker kept no data in the data dir: %v", err)
	}
}

func TestServeAllRestartsOnSameDataDirAndRefusesASecondOne(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	first, base, _ := serveAll(t, dataDir)

	// A second serve --all on the same data dir must not open it: two
	// brokers writing one directory would corrupt it.
	stdout, stderr, code := runArena(t, t.TempDir(), []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + freeAddr(t)},
		"serve", "--all", "--data-dir", dataDir, "--http-addr", freeAddr(t))
	if code == 0 || !strings.Contains(stderr, "data directory in use by process "+fmt.Sprint(first.Cmd.Process.Pid)) ||
		!strings.Contains(stderr, "arena: broker: ") {
		t.Fatalf("second serve: exit %d, stdout %q, stderr:\n%s\nwant a failure naming the broker module and the data dir's holder", code, stdout, stderr)
	}
	if code, _, _ := get(base + "/readyz"); code != http.StatusOK {
		t.Fatalf("first arena disturbed by the second: /readyz = %d", code)
	}

	if err := first.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := first.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// The lock went with the process: a restart on the same data works.
	again, base, _ := serveAll(t, dataDir)
	if code, _, _ := get(base + "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz after restart = %d", code)
	}
	_ = again.Cmd.Process.Signal(syscall.SIGTERM)
	if code := again.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after restart", code)
	}
}

func TestServeFailsAndNamesModuleWhenHTTPAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dataDir := filepath.Join(t.TempDir(), "data")
	_, stderr, code := runArena(t, t.TempDir(), []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + freeAddr(t)},
		"serve", "--all", "--data-dir", dataDir, "--http-addr", ln.Addr().String())
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	last := lastLine(stderr)
	if !strings.HasPrefix(last, "arena: server: http.addr "+ln.Addr().String()) || !strings.Contains(last, "address already in use") {
		t.Fatalf("last line %q: want the server module and the address named", last)
	}
	if !strings.Contains(stderr, `msg="module failed to start" module=server`) {
		t.Errorf("log does not name the module:\n%s", stderr)
	}
	// The broker, started before the server, was stopped again: its data
	// dir lock is free for the next process.
	lock, err := kafka.LockDataDir(dataDir)
	if err != nil {
		t.Fatalf("data dir still locked after a failed start: %v", err)
	}
	lock.Release()
}

func TestServeRoleAgainstSeparateBroker(t *testing.T) {
	// The split layout on one machine: arena broker, then a role process
	// dialing it at kafka.embedded_addr.
	dataDir := filepath.Join(t.TempDir(), "data")
	brokerAddr := freeAddr(t)
	broker := startArena(t, t.TempDir(), nil, "broker", "--addr", brokerAddr, "--data-dir", dataDir)
	waitFor(t, "the broker to listen", func() bool {
		c, err := net.DialTimeout("tcp", brokerAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil || broker.Exited()
	})
	httpAddr := freeAddr(t)
	role := startArena(t, t.TempDir(), []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr},
		"serve", "--role=materializer,robot", "--http-addr", httpAddr)
	waitStatus(t, role, "http://"+httpAddr+"/readyz", http.StatusOK)
	logs := role.Err.String()
	if !strings.Contains(logs, "modules=\"[server topics materializer robot]\"") {
		t.Errorf("role process runs the wrong modules:\n%s", logs)
	}
	if strings.Contains(logs, "embedded broker listening") {
		t.Errorf("a role process started its own broker:\n%s", logs)
	}
	for _, p := range []*proc{role, broker} {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		if code := p.Wait(t, 20*time.Second); code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, p.Err.String())
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/arena-hq/arena/internal/arenatest"
)

// arenaBin is the arena binary, built once for every test of the package.
var arenaBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// ARENA_E2E_BIN runs the tests against a binary built elsewhere (CI's
	// make build, or a snapshot while the working tree is mid-change).
	if bin := os.Getenv("ARENA_E2E_BIN"); bin != "" {
		arenaBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "arena-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if arenaBin, err = arenatest.Build(dir, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// proc is one running arena process.
type proc = arenatest.Proc

var (
	freeAddr = arenatest.FreeAddr
	tail     = arenatest.Tail
)

// start runs the arena binary with args in an empty working directory.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return arenatest.Start(t, arenaBin, t.TempDir(), name, env, args...)
}

// run runs the binary to completion (at most a minute).
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := start(t, "arena "+args[0], env, args...)
	code = p.Wait(t, time.Minute)
	return p.Out.String(), p.Err.String(), code
}

// waitReady polls base/readyz until it answers 200.
func waitReady(t *testing.T, p *proc, base string) {
	t.Helper()
	waitFor(t, 60*time.Second, p.Name+" ready", func() bool {
		if p.Exited() {
			t.Fatalf("%s exited while starting:\n%s", p.Name, tail(p.Err.String(), 8000))
		}
		code, _ := httpGet(base + "/readyz")
		return code == http.StatusOK
	})
}

// waitFor polls cond every 50ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	arenatest.WaitFor(t, limit, 50*time.Millisecond, what, cond)
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// httpGet returns status and body; status 0 when nothing answers.
func httpGet(url string) (int, string) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitListening waits until something accepts TCP connections at addr.
func waitListening(t *testing.T, p *proc, addr string) {
	t.Helper()
	waitFor(t, 30*time.Second, p.Name+" listening on "+addr, func() bool {
		if p.Exited() {
			t.Fatalf("%s exited:\n%s", p.Name, tail(p.Err.String(), 8000))
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

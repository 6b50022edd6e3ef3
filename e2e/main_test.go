package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	arenaBin = filepath.Join(dir, "arena")
	build := exec.Command("go", "build", "-o", arenaBin, "github.com/arena-hq/arena")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building arena:", err)
		return 1
	}
	return m.Run()
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one running arena process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	err  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hermeticEnv is the test's environment without ARENA_*, OPENAI_* or a
// user config directory, plus extra.
func hermeticEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ARENA_") || strings.HasPrefix(kv, "OPENAI_") ||
			strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	return append(env, extra...)
}

// start runs the arena binary with args in an empty working directory. The
// process is killed at the end of the test if still running, and its log
// is printed if the test failed.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(arenaBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = hermeticEnv(t, env...)
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, err: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s (arena %s) stderr:\n%s", name, strings.Join(args, " "), tail(p.err.String(), 12000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM and returns the exit code (failing after limit).
func (p *proc) stop(t *testing.T, limit time.Duration) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %s after SIGTERM", p.name, limit)
		return -1
	}
}

// run runs the binary to completion (at most a minute).
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := start(t, "arena "+args[0], env, args...)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("arena %s did not finish", strings.Join(args, " "))
	}
	return p.out.String(), p.err.String(), p.cmd.ProcessState.ExitCode()
}

// waitReady polls base/readyz until it answers 200.
func waitReady(t *testing.T, p *proc, base string) {
	t.Helper()
	waitFor(t, 60*time.Second, p.name+" ready", func() bool {
		if p.exited() {
			t.Fatalf("%s exited while starting:\n%s", p.name, tail(p.err.String(), 8000))
		}
		code, _ := httpGet(base + "/readyz")
		return code == http.StatusOK
	})
}

// waitFor polls cond every 50ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
	waitFor(t, 30*time.Second, p.name+" listening on "+addr, func() bool {
		if p.exited() {
			t.Fatalf("%s exited:\n%s", p.name, tail(p.err.String(), 8000))
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

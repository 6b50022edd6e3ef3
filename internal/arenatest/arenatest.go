// Package arenatest holds what tests of several packages share: running
// the arena binary as a real OS process (built once, a hermetic environment,
// free loopback ports, stopped with its log on failure when the test ends),
// a log sink safe for many goroutines (Buffer) and the test logger. Only
// tests import it. It imports nothing of arena's, so that every package's
// own tests may use it (modules/kafka's included); the in-process broker
// is in its subpackage kafkatest.
package arenatest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles arena into dir and returns the binary's path. ldflags may
// be empty.
func Build(dir, ldflags string) (string, error) {
	bin := filepath.Join(dir, "arena")
	args := []string{"build", "-o", bin}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, "github.com/arena-hq/arena")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building arena: %w", err)
	}
	return bin, nil
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// and never one it returned before in this process: the kernel may hand a
// just-closed port out again, and a test that asked for an HTTP and a
// broker address once got the same port for both.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		handedMu.Lock()
		seen := handed[addr]
		handed[addr] = true
		handedMu.Unlock()
		if !seen {
			return addr
		}
	}
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// Env is the test's environment without ARENA_*, OPENAI_* or a user config
// directory (so a developer's shell cannot change what a test sees), plus
// extra.
func Env(t testing.TB, extra ...string) []string {
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

// Proc is a running arena process.
type Proc struct {
	Name     string
	Cmd      *exec.Cmd
	Out, Err *Buffer
	ExitAt   time.Time // set when the process has exited
	done     chan struct{}
}

// Start runs bin with args in dir and the hermetic environment plus env.
// The process is killed when the test ends if it still runs, and the tail
// of its stderr is logged if the test failed.
func Start(t testing.TB, bin, dir, name string, env []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = Env(t, env...)
	p := &Proc{Name: name, Cmd: cmd, Out: &Buffer{}, Err: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		p.ExitAt = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.Exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s (arena %s) stderr:\n%s", name, strings.Join(args, " "), Tail(p.Err.String(), 12000))
		}
	})
	return p
}

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns its exit code, failing the
// test after limit.
func (p *Proc) Wait(t testing.TB, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %s; stderr:\n%s", p.Name, limit, Tail(p.Err.String(), 8000))
		return -1
	}
}

// Stop sends SIGTERM and returns the exit code, failing after limit.
func (p *Proc) Stop(t testing.TB, limit time.Duration) int {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(t, limit)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// Buffer is a bytes.Buffer safe for the process's writes and the test's
// reads at the same time.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail returns the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

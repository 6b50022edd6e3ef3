package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/arena-hq/arena/config"
)

// child is a process the bench started: arena serve --all, or the raw
// pipeline server.
type child struct {
	name    string
	cmd     *exec.Cmd
	url     string
	log     string // its stdout and stderr
	done    chan struct{}
	readyIn time.Duration
}

func freeAddr() (string, error) {
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		// The kernel may hand a just-closed port out again: never return
		// one twice, or the server and its broker would share it.
		handedMu.Lock()
		seen := handed[addr]
		handed[addr] = true
		handedMu.Unlock()
		if !seen {
			return addr, nil
		}
	}
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// hermeticEnv is the environment without ARENA_* and OPENAI_* variables, so
// the bench config alone decides (and no model API is ever called).
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ARENA_") || strings.HasPrefix(kv, "OPENAI_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startChild runs exe args in dir and waits until GET url/readyz answers
// 200, up to limit.
func startChild(ctx context.Context, name, exe, dir, url string, limit time.Duration, args ...string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = hermeticEnv()
	cmd.Stdout, cmd.Stderr = f, f
	c := &child{name: name, cmd: cmd, url: url, log: logPath, done: make(chan struct{})}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.readyIn = time.Since(began)
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited before it was ready: %s", name, c.tail())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s not ready after %s: %s", name, limit, c.tail())
		}
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit (killing it after 20 s).
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// tail is the end of the child's log, for error messages.
func (c *child) tail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// benchConfig is the server config of a self-started arena: embedded broker,
// scripted robots with no thinking or typing time, short timers.
func benchConfig(httpAddr, brokerAddr, dataDir string, humans, rounds int) ([]byte, error) {
	def := config.Default()
	seats := max(def.Game.Seats, humans+1)
	robots := make([]map[string]any, 0, len(def.Robots))
	for _, r := range def.Robots {
		robots = append(robots, map[string]any{
			"id": r.ID, "name": r.Name, "model": r.Model, "temperature": r.Temperature,
			"system_prompt": r.SystemPrompt,
			"delay":         map[string]string{"min": "0s", "max": "0s"},
			"typing_cps":    1e6, // must be positive; this is no typing time at all
		})
	}
	cfg := map[string]any{
		"http": map[string]any{"addr": httpAddr,
			// Every simulated player comes from this one address.
			"limits": map[string]any{"max_connections": 0, "creates_per_minute": 0, "joins_per_minute": 0,
				"code_failure_delay": "0s", "lobbies_per_address": 0, "sockets_per_seat": 0, "sockets_per_address": 0}},
		"kafka":    map[string]any{"embedded_addr": brokerAddr, "partitions": def.Kafka.Partitions},
		"data_dir": dataDir,
		"llm":      map[string]any{"provider": config.ProviderScripted},
		"game": map[string]any{
			"seats": seats, "humans": min(def.Game.Humans, seats-1), "rounds": rounds,
			"answer_window": "15s", "vote_window": "3s", "results_pause": "200ms",
			"lobby_wait": "2s", "idle_timeout": "10m", "max_answer_chars": def.Game.MaxAnswerChars,
		},
		"log":    map[string]any{"level": "warn", "format": "text"},
		"robot":  map[string]any{"human_timing": false}, // robots answer at once, always
		"robots": robots,
	}
	return yaml.Marshal(cfg)
}

// usage is what the server processes used over a phase.
type usage struct {
	CPUSeconds float64 // user + system
	RSSMax     int64   // bytes, the largest sample
}

// meter samples the CPU time and RSS of the server: from /proc for
// processes the bench started, else from the target's /metrics
// (process_cpu_seconds_total, process_resident_memory_bytes).
type meter struct {
	pids    []int
	metrics string // URL of /metrics, when pids is empty
	http    *http.Client

	mu     sync.Mutex
	cpu0   float64
	rssMax int64
	last   sample
}

type sample struct {
	cpu float64
	rss int64
	at  time.Time
}

func newMeter(pids []int, metricsURL string) *meter {
	return &meter{pids: pids, metrics: metricsURL, http: &http.Client{Timeout: 5 * time.Second}}
}

func (m *meter) read() (sample, error) {
	s := sample{at: time.Now()}
	if len(m.pids) == 0 {
		if m.metrics == "" {
			return s, errors.New("nothing to measure")
		}
		cpu, rss, err := scrapeProcess(m.http, m.metrics)
		s.cpu, s.rss = cpu, rss
		return s, err
	}
	for _, pid := range m.pids {
		cpu, rss, err := procUsage(pid)
		if err != nil {
			return s, err
		}
		s.cpu += cpu
		s.rss += rss
	}
	return s, nil
}

// begin starts a phase.
func (m *meter) begin() {
	s, _ := m.read()
	m.mu.Lock()
	m.cpu0, m.rssMax, m.last = s.cpu, s.rss, s
	m.mu.Unlock()
}

// tick takes a sample and returns the CPU used since the last one, in
// cores, and the RSS now.
func (m *meter) tick() (cores float64, rss int64) {
	s, err := m.read()
	if err != nil {
		return 0, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if dt := s.at.Sub(m.last.at).Seconds(); dt > 0 {
		cores = (s.cpu - m.last.cpu) / dt
	}
	m.last = s
	m.rssMax = max(m.rssMax, s.rss)
	return cores, s.rss
}

// end closes the phase.
func (m *meter) end() usage {
	m.tick()
	m.mu.Lock()
	defer m.mu.Unlock()
	return usage{CPUSeconds: m.last.cpu - m.cpu0, RSSMax: m.rssMax}
}

// procUsage reads a process's CPU seconds and resident set from /proc.
func procUsage(pid int) (cpu float64, rss int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const clockTicks = 100 // USER_HZ on Linux
	cpu = (utime + stime) / clockTicks

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return cpu, rss, nil
}

// scrapeProcess reads the process_* series of a Prometheus /metrics page.
func scrapeProcess(client *http.Client, url string) (cpu float64, rss int64, err error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			cpu, _ = strconv.ParseFloat(value, 64)
			found++
		case "process_resident_memory_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			rss = int64(f)
			found++
		}
	}
	if found < 2 {
		return cpu, rss, fmt.Errorf("%s: no process_cpu_seconds_total or process_resident_memory_bytes", url)
	}
	return cpu, rss, nil
}

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssKB reads a process's resident set size.
func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// flood posts bodies from 127.0.0.1 with 8 workers for d and counts the
// answers by status; every 429 must carry Retry-After.
func flood(t *testing.T, url string, d time.Duration, body func(i int) string) map[int]int {
	counts := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 5 * time.Second}
	defer cl.CloseIdleConnections()
	stop := time.Now().Add(d)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				res, err := cl.Post(url, "application/json", strings.NewReader(body(w*1_000_000+i)))
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					status = res.StatusCode
					if status == 429 && res.Header.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After from %s", url)
					}
				}
				mu.Lock()
				counts[status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return counts
}

// TestOneClientCannotExhaustTheServer floods `serve --all` from one
// address with creates and invite-code guesses, then with idle
// connections past http.limits.max_connections, while a player at another
// address creates a match and plays it to the end.
func TestOneClientCannotExhaustTheServer(t *testing.T) {
	dir := t.TempDir()
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	configFile := writeConfig(t, dir, fmt.Sprintf(crashConfig, brokerAddr))
	p := start(t, "serve", []string{"ARENA_HTTP_LIMITS_MAX_CONNECTIONS=300"},
		"serve", "--all", "--config", configFile, "--data-dir", filepath.Join(dir, "data"), "--http-addr", httpAddr)
	base := "http://" + httpAddr
	waitReady(t, p, base)
	pid := p.Cmd.Process.Pid
	before := rssKB(t, pid)

	// The other player comes from 127.0.0.2 and plays while the flood runs.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	other := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
	played := make(chan struct{})
	go func() {
		defer close(played)
		time.Sleep(500 * time.Millisecond) // into the flood
		res, err := other.Post(base+"/api/matches", "application/json", strings.NewReader(`{"name":"Olga","mode":"quick"}`))
		if err != nil {
			t.Errorf("other player's create: %v", err)
			return
		}
		defer res.Body.Close()
		pl := &player{t: t, name: "Olga", base: base}
		if err := json.NewDecoder(res.Body).Decode(&pl.seat); err != nil || res.StatusCode != 200 {
			t.Errorf("other player's create: %d %v", res.StatusCode, err)
			return
		}
		pl.connect()
		playMatch(pl, 2)
	}()

	creates := flood(t, base+"/api/matches", 3*time.Second, func(int) string { return `{"name":"Flood","mode":"private"}` })
	guesses := flood(t, base+"/api/join", 3*time.Second, func(i int) string { return fmt.Sprintf(`{"name":"G","code":"Q%05d"}`, i%100000) })
	<-played
	after := rssKB(t, pid)
	t.Logf("creates from one address in 3 s: %v; invite-code guesses in 3 s: %v; RSS %d -> %d MB", creates, guesses, before/1024, after/1024)
	if creates[200] > 12 || creates[429] < 100 || len(creates) != 2 {
		t.Errorf("creates: %v, want at most the burst of 10 (+1 refill) and the rest 429", creates)
	}
	if guesses[404] > 8 || guesses[429] < 100 || len(guesses) != 2 {
		t.Errorf("guesses: %v, want the 5 free wrong codes and a few after the waits, the rest 429", guesses)
	}
	if after-before > 100*1024 {
		t.Errorf("RSS grew by %d MB during the flood", (after-before)/1024)
	}

	// Idle connections past the cap: the ones over it get a 503.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	refused := 0
	for range 320 {
		c, err := net.Dial("tcp", httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns[len(conns)-40:] {
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.HasPrefix(line, "HTTP/1.1 503") {
			refused++
		}
	}
	t.Logf("320 idle connections against a cap of 300: %d of the last 40 answered 503", refused)
	if refused < 15 {
		t.Errorf("only %d of the 40 connections past the cap were answered 503", refused)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	waitFor(t, 10*time.Second, "the server to take connections again", func() bool {
		res, err := other.Get(base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// Package loadgen is arena's load generator, behind `arena bench`. It plays
// real matches through the public HTTP API and WebSocket, as browsers do,
// against a running arena or one it starts itself (`serve --all` with an
// embedded broker, scripted robots with no delay and short timers), and
// measures matches and actions per second, the latency from a player's
// action to the moment every player of the match has the new view, and the
// server's CPU and memory. It then runs the raw pipeline (RawPipeline) on
// the same broker at the same action rate, and reports arena's figures as
// ratios to it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Options configures one bench run.
type Options struct {
	Target string // arena's base URL; "" starts `Exe serve --all` in a temp dir
	Exe    string // the arena binary, to start servers; default this process's

	Matches      int           // matches in play at once
	Duration     time.Duration // how long new matches keep being started
	Humans       int           // simulated players per match
	Rounds       int           // rounds per match (self-started server only)
	Think        time.Duration // a player waits up to this (uniform) before answering or voting
	Ramp         time.Duration // the matches' starts are spread over this
	MatchTimeout time.Duration // a match that takes longer counts as failed

	Baseline bool     // also run the raw pipeline
	Brokers  []string // the broker for the raw pipeline with a Target (self-started: its embedded broker)

	IdlePlayers int // measure server memory per connected idle player with this many (0: skip)

	Progress time.Duration // how often a progress line is printed
	Out      io.Writer     // progress and report
	KeepDir  bool          // keep the self-started server's directory (its logs and data)

	// ProfileDir, with a self-started server, receives cpu.pprof (the
	// arena phase), mutex.pprof and block.pprof of the server.
	ProfileDir string
}

func (o *Options) defaults() error {
	if o.Matches <= 0 {
		o.Matches = 10
	}
	if o.Humans <= 0 {
		o.Humans = 3
	}
	if o.Humans > 7 {
		return fmt.Errorf("humans: at most 7 (8 seats), got %d", o.Humans)
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.MatchTimeout <= 0 {
		o.MatchTimeout = 2 * time.Minute
	}
	if o.Progress <= 0 {
		o.Progress = 2 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Exe = exe
	}
	return nil
}

// Phase is what one run (arena's or the raw pipeline's) measured.
type Phase struct {
	Name    string
	Elapsed time.Duration
	Matches int64 // completed (arena only)
	Failed  int64
	Actions int64 // answers and votes sent (raw: frames)
	Refused int64 // error frames (arena only)
	Latency Summary
	// ServerP50 and ServerP99 are the gateway's own view of the same path
	// (arena_action_broadcast_seconds: produce to the first push), when
	// /metrics has it.
	ServerP50, ServerP99 float64
	CPUSeconds           float64 // server processes, user + system
	RSSMax               int64   // server processes, bytes
	FirstError           string
}

// MatchesPerSecond and the other rates are over the phase's elapsed time.
func (p Phase) MatchesPerSecond() float64 { return per(float64(p.Matches), p.Elapsed) }
func (p Phase) ActionsPerSecond() float64 { return per(float64(p.Actions), p.Elapsed) }
func (p Phase) CPUCores() float64         { return per(p.CPUSeconds, p.Elapsed) }

func per(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// Report is a whole bench run.
type Report struct {
	Options     Options
	ReadyIn     time.Duration // self-started server: from exec to /readyz 200, empty data dir
	Arena       Phase
	Raw         *Phase // nil without a baseline
	RawSkipped  string // why there is no baseline
	IdlePlayers int
	IdleBytes   float64 // server RSS growth per connected idle player
}

// Run runs the bench and writes progress and the report to o.Out.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	raiseFileLimit()
	rep := &Report{Options: o}
	var pids []int
	target, brokers := o.Target, o.Brokers
	var dir, pprofAddr string
	if target == "" {
		var err error
		dir, err = os.MkdirTemp("", "arena-bench-")
		if err != nil {
			return nil, err
		}
		if !o.KeepDir {
			defer os.RemoveAll(dir)
		} else {
			fmt.Fprintf(o.Out, "bench directory (logs, data): %s\n", dir)
		}
		httpAddr, err1 := freeAddr()
		brokerAddr, err2 := freeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		cfg, err := benchConfig(httpAddr, brokerAddr, filepath.Join(dir, "data"), o.Humans, o.Rounds)
		if err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(dir, "arena.yaml")
		if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "starting %s serve --all (http %s, embedded broker %s)\n", o.Exe, httpAddr, brokerAddr)
		args := []string{"serve", "--all", "--config", cfgPath}
		if o.ProfileDir != "" {
			if pprofAddr, err = freeAddr(); err != nil {
				return nil, err
			}
			args = append(args, "--pprof-addr", pprofAddr)
		}
		srv, err := startChild(ctx, "arena", o.Exe, dir, "http://"+httpAddr, time.Minute, args...)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		rep.ReadyIn = srv.readyIn
		fmt.Fprintf(o.Out, "arena ready in %s\n", srv.readyIn.Round(time.Millisecond))
		target, brokers = srv.url, []string{brokerAddr}
		pids = append(pids, srv.pid())
	}
	m := newMeter(pids, target+"/metrics")

	if o.IdlePlayers > 0 {
		per, err := idleCost(ctx, target, o, m)
		if err != nil {
			return nil, fmt.Errorf("idle players: %w", err)
		}
		rep.IdlePlayers, rep.IdleBytes = o.IdlePlayers, per
		if pprofAddr != "" {
			if err := fetchProfile(ctx, "http://"+pprofAddr, "heap", filepath.Join(o.ProfileDir, "idle-heap.pprof")); err != nil {
				return nil, fmt.Errorf("heap profile: %w", err)
			}
		}
		fmt.Fprintf(o.Out, "idle players: %d connected, server RSS grew %.1f KiB per player\n", o.IdlePlayers, per/1024)
	}

	al, err := newArenaLoad(target, o.Humans, o.Think, o.MatchTimeout)
	if err != nil {
		return nil, err
	}
	var profiled chan error
	if pprofAddr != "" {
		profiled = make(chan error, 1)
		go func() {
			profiled <- fetchProfile(ctx, "http://"+pprofAddr, "profile?seconds="+fmt.Sprint(int(o.Duration.Seconds())), filepath.Join(o.ProfileDir, "cpu.pprof"))
		}()
	}
	rep.Arena = phase(ctx, o, "arena", m, func(stopAt time.Time) {
		al.run(ctx, o.Matches, o.Ramp, stopAt)
	}, func() (string, int64, Summary) {
		return fmt.Sprintf("live %d  done %d  failed %d  actions %d", al.started.Load()-al.finished.Load()-al.failed.Load(), al.finished.Load(), al.failed.Load(), al.actions.Load()),
			al.actions.Load(), al.latency.Summary()
	})
	rep.Arena.Matches, rep.Arena.Failed = al.finished.Load(), al.failed.Load()
	rep.Arena.Actions, rep.Arena.Refused = al.actions.Load(), al.refused.Load()
	rep.Arena.Latency = al.latency.Summary()
	if e := al.firstErr.Load(); e != nil {
		rep.Arena.FirstError = *e
	}
	if profiled != nil {
		err := <-profiled
		for _, name := range []string{"mutex", "block"} {
			err = errors.Join(err, fetchProfile(ctx, "http://"+pprofAddr, name, filepath.Join(o.ProfileDir, name+".pprof")))
		}
		if err != nil {
			return rep, fmt.Errorf("profiles: %w", err)
		}
		fmt.Fprintf(o.Out, "profiles written to %s (go tool pprof -top %s)\n", o.ProfileDir, filepath.Join(o.ProfileDir, "cpu.pprof"))
	}
	if q, _, ok := serverQuantiles(m.http, target+"/metrics", "arena_action_broadcast_seconds", 0.5, 0.99); ok {
		rep.Arena.ServerP50, rep.Arena.ServerP99 = q[0], q[1]
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}

	switch {
	case !o.Baseline:
		rep.RawSkipped = "not asked for"
	case len(brokers) == 0:
		rep.RawSkipped = "no --brokers for the raw pipeline"
	case rep.Arena.Actions == 0:
		rep.RawSkipped = "arena made no actions to match"
	default:
		raw, err := rawPhase(ctx, o, dir, brokers, pids, rep.Arena)
		if err != nil {
			return rep, fmt.Errorf("raw pipeline: %w", err)
		}
		rep.Raw = raw
	}
	rep.Print(o.Out)
	if rep.Arena.Matches == 0 {
		return rep, fmt.Errorf("%w: %s", errNoMatches, rep.Arena.FirstError)
	}
	return rep, nil
}

// phase runs work with the meter and a progress line every o.Progress.
func phase(ctx context.Context, o Options, name string, m *meter, work func(stopAt time.Time), progress func() (string, int64, Summary)) Phase {
	m.begin()
	began := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(began.Add(o.Duration))
	}()
	t := time.NewTicker(o.Progress)
	defer t.Stop()
	lastActions, lastAt := int64(0), began
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-ctx.Done():
			<-done
			running = false
		case now := <-t.C:
			line, actions, lat := progress()
			cores, rss := m.tick()
			rate := per(float64(actions-lastActions), now.Sub(lastAt))
			lastActions, lastAt = actions, now
			fmt.Fprintf(o.Out, "[%s %3.0fs] %s (%.0f/s)  %s  server %.2f cores, RSS %s\n",
				name, now.Sub(began).Seconds(), line, rate, lat, cores, mib(rss))
		}
	}
	u := m.end()
	return Phase{Name: name, Elapsed: time.Since(began), CPUSeconds: u.CPUSeconds, RSSMax: u.RSSMax}
}

// rawPhase starts the raw pipeline server on brokers and drives it with as
// many rooms and players as arena had matches and humans, at arena's
// action rate, for as long.
func rawPhase(ctx context.Context, o Options, dir string, brokers []string, arenaPIDs []int, arena Phase) (*Phase, error) {
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "arena-bench-raw-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "raw-pipeline", "--http-addr", addr, "--partitions", "6"}
	for _, b := range brokers {
		args = append(args, "--brokers", b)
	}
	fmt.Fprintf(o.Out, "starting the raw pipeline (http %s, brokers %v)\n", addr, brokers)
	srv, err := startChild(ctx, "raw-pipeline", o.Exe, dir, "http://"+addr, time.Minute, args...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	// The broker lives in the arena process when arena was self-started:
	// its share of the work is counted too.
	m := newMeter(append([]int{srv.pid()}, arenaPIDs...), "")
	rl, err := newRawLoad(srv.url)
	if err != nil {
		return nil, err
	}
	rate := max(arena.ActionsPerSecond(), 1)
	var runErr error
	var mu sync.Mutex
	ro := o
	ro.Duration = arena.Elapsed
	p := phase(ctx, ro, "raw", m, func(stopAt time.Time) {
		err := rl.run(ctx, o.Matches, o.Humans, rate, stopAt)
		mu.Lock()
		runErr = err
		mu.Unlock()
	}, func() (string, int64, Summary) {
		return fmt.Sprintf("frames %d", rl.sent.Load()), rl.sent.Load(), rl.latency.Summary()
	})
	mu.Lock()
	defer mu.Unlock()
	if runErr != nil {
		return nil, runErr
	}
	p.Actions = rl.sent.Load()
	p.Latency = rl.latency.Summary()
	return &p, nil
}

// idleCost connects o.IdlePlayers players to private lobbies that never
// start and returns the server's RSS growth per player.
func idleCost(ctx context.Context, target string, o Options, m *meter) (float64, error) {
	al, err := newArenaLoad(target, o.Humans, 0, o.MatchTimeout)
	if err != nil {
		return 0, err
	}
	before, err := m.read()
	if err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		conns []*websocket.Conn
		wg    sync.WaitGroup
		first error
	)
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	lobbies := (o.IdlePlayers + o.Humans - 1) / o.Humans
	sem := make(chan struct{}, 32)
	for n := range lobbies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			seats, err := al.seatUp(ctx, n)
			for _, s := range seats {
				if err != nil {
					break
				}
				var c *websocket.Conn
				if c, err = al.dial(ctx, s); err == nil {
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
					// Read, so the library answers pings; the lobby view
					// arrives once and then nothing.
					go func() {
						for {
							if _, _, err := c.Read(context.Background()); err != nil {
								return
							}
						}
					}()
				}
			}
			if err != nil {
				mu.Lock()
				first = cmpErr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	time.Sleep(3 * time.Second) // let the sockets settle
	after, err := m.read()
	if err != nil {
		return 0, err
	}
	return float64(after.rss-before.rss) / float64(len(conns)), nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Print writes the report.
func (r *Report) Print(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "\n== arena bench: %d concurrent matches x %d humans, %s, think up to %s ==\n", o.Matches, o.Humans, o.Duration, o.Think)
	if r.ReadyIn > 0 {
		fmt.Fprintf(w, "server ready in %s (empty data dir)\n", r.ReadyIn.Round(time.Millisecond))
	}
	if r.IdlePlayers > 0 {
		fmt.Fprintf(w, "memory per idle player: %.1f KiB (%d players)\n", r.IdleBytes/1024, r.IdlePlayers)
	}
	a := r.Arena
	fmt.Fprintf(w, "arena: %d matches (%.2f/s), %d failed, %d actions (%.1f/s), %d refused, in %s\n",
		a.Matches, a.MatchesPerSecond(), a.Failed, a.Actions, a.ActionsPerSecond(), a.Refused, a.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "arena: action to every player's view: %s\n", a.Latency)
	if a.ServerP50 > 0 {
		fmt.Fprintf(w, "arena: inside the gateway (produce to first push, from /metrics buckets): p50 ~%.2fms  p99 ~%.2fms\n", a.ServerP50*1000, a.ServerP99*1000)
	}
	fmt.Fprintf(w, "arena: server CPU %.1f s (%.2f cores), RSS max %s\n", a.CPUSeconds, a.CPUCores(), mib(a.RSSMax))
	if a.FirstError != "" {
		fmt.Fprintf(w, "arena: first error: %s\n", a.FirstError)
	}
	if r.Raw == nil {
		fmt.Fprintf(w, "raw pipeline: skipped (%s)\n", r.RawSkipped)
		return
	}
	b := *r.Raw
	fmt.Fprintf(w, "raw:   %d frames (%.1f/s) in %s\n", b.Actions, b.ActionsPerSecond(), b.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "raw:   frame to every room member: %s\n", b.Latency)
	fmt.Fprintf(w, "raw:   server CPU %.1f s (%.2f cores), RSS max %s\n", b.CPUSeconds, b.CPUCores(), mib(b.RSSMax))
	fmt.Fprintf(w, "arena / raw: p50 %s  p99 %s  max %s  CPU per action %s\n",
		ratio(float64(a.Latency.P50), float64(b.Latency.P50)),
		ratio(float64(a.Latency.P99), float64(b.Latency.P99)),
		ratio(float64(a.Latency.Max), float64(b.Latency.Max)),
		ratio(a.CPUSeconds/max(float64(a.Actions), 1), b.CPUSeconds/max(float64(b.Actions), 1)))
}

// Ratios returns arena's p50 and p99 over the raw pipeline's (0 without a baseline).
func (r *Report) Ratios() (p50, p99 float64) {
	if r.Raw == nil || r.Raw.Latency.P50 == 0 || r.Raw.Latency.P99 == 0 {
		return 0, 0
	}
	return float64(r.Arena.Latency.P50) / float64(r.Raw.Latency.P50), float64(r.Arena.Latency.P99) / float64(r.Raw.Latency.P99)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// fetchProfile saves GET base/debug/pprof/name to path.
func fetchProfile(ctx context.Context, base, name, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package kafka

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// groupWatch works around a hole in kfake's classic group coordinator: a
// member whose JoinGroup reply cannot be delivered (it died while waiting in
// the join) stays in the group with no session timer, since kfake arms the
// timer only after a reply went out. If another member then leads the
// sync, the dead one gets partitions and keeps them until the next
// rebalance, which may never come: its matches freeze. (Kafka arms the
// timer for every member when a rebalance completes.)
//
// The watch sees every group request the broker gets (an observing kfake
// fault), remembers when each
// member last spoke, and every second compares that with the groups'
// members. A member silent for longer than its session timeout (plus a
// grace) is sent a LeaveGroup on its behalf, unless it is waiting on the
// coordinator: parked in a JoinGroup of the rebalance under way, or in a
// SyncGroup of the current generation. Live franz-go members heartbeat every
// few seconds, so they are never silent that long.
type groupWatch struct {
	cluster *kfake.Cluster
	logger  *slog.Logger
	grace   time.Duration
	tick    time.Duration
	client  func() (*kgo.Client, error)

	mu      sync.Mutex
	members map[string]map[string]*memberSeen // group -> member id
	episode map[string]episode                // group -> the state being watched

	stop func()
	done chan struct{}
}

type memberSeen struct {
	at             time.Time
	kind           int16 // kmsg key of the last request
	generation     int32 // of the last SyncGroup or Heartbeat
	sessionTimeout time.Duration
}

// episode is a group state and generation, and since when the watch saw it.
type episode struct {
	state      string
	generation int32
	since      time.Time
}

// defaultSessionTimeout is assumed for a member whose join the watch never
// saw (it joined before a broker restart): franz-go's default.
const defaultSessionTimeout = 45 * time.Second

func newGroupWatch(c *kfake.Cluster, addr string, sasl map[string]map[string]string, useTLS bool, logger *slog.Logger) *groupWatch {
	w := &groupWatch{
		cluster: c, logger: logger, grace: 500 * time.Millisecond, tick: 500 * time.Millisecond,
		members: map[string]map[string]*memberSeen{}, episode: map[string]episode{},
	}
	w.client = func() (*kgo.Client, error) {
		opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID("arena-broker-groupwatch"), kgo.RequestRetries(1)}
		if useTLS {
			// Our own listener on loopback: there is nothing to verify.
			opts = append(opts, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec
		}
		opts = append(opts, superuserSASL(sasl)...)
		return kgo.NewClient(opts...)
	}
	// An observing fault, not a control function: kfake runs a control
	// function on a goroutine of its own for every request and remembers
	// each connection's last request for good; a fault's When is a plain
	// call, for the group requests only.
	c.Fault(kfake.Fault{
		Keys:  []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit},
		Count: -1,
		When:  func(req kmsg.Request) bool { w.observe(req); return false },
	})
	return w
}

// superuserSASL logs in as one of the broker's superusers.
func superuserSASL(users map[string]map[string]string) []kgo.Opt {
	mechs := make([]string, 0, len(users))
	for m := range users {
		mechs = append(mechs, m)
	}
	sort.Strings(mechs)
	for _, mech := range mechs {
		for u, p := range users[mech] {
			switch mech {
			case "PLAIN":
				return []kgo.Opt{kgo.SASL(plain.Auth{User: u, Pass: p}.AsMechanism())}
			case "SCRAM-SHA-256":
				return []kgo.Opt{kgo.SASL(scram.Auth{User: u, Pass: p}.AsSha256Mechanism())}
			case "SCRAM-SHA-512":
				return []kgo.Opt{kgo.SASL(scram.Auth{User: u, Pass: p}.AsSha512Mechanism())}
			}
		}
	}
	return nil
}

// observe runs on the broker's loop for each group request (maybe more
// than once: kfake asks per entity); it only records.
func (w *groupWatch) observe(req kmsg.Request) {
	var group, member string
	var generation int32 = -1
	var session time.Duration
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		group, member, session = r.Group, r.MemberID, time.Duration(r.SessionTimeoutMillis)*time.Millisecond
	case *kmsg.SyncGroupRequest:
		group, member, generation = r.Group, r.MemberID, r.Generation
	case *kmsg.HeartbeatRequest:
		group, member, generation = r.Group, r.MemberID, r.Generation
	case *kmsg.OffsetCommitRequest:
		group, member = r.Group, r.MemberID
	default:
		return
	}
	if member == "" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	ms := w.members[group]
	if ms == nil {
		ms = map[string]*memberSeen{}
		w.members[group] = ms
	}
	m := ms[member]
	if m == nil {
		m = &memberSeen{sessionTimeout: defaultSessionTimeout}
		ms[member] = m
	}
	m.at, m.kind = now, req.Key()
	if generation >= 0 {
		m.generation = generation
	}
	if session > 0 {
		m.sessionTimeout = session
	}
}

func (w *groupWatch) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.check(ctx)
			}
		}
	}()
}

func (w *groupWatch) close() {
	if w.stop != nil {
		w.stop()
		<-w.done
	}
}

// ghost is a member to evict.
type ghost struct {
	group, member, client, host string
	silent                      time.Duration
	partitions                  int
}

// check finds the silent members of every group the watch has seen and
// evicts them.
func (w *groupWatch) check(ctx context.Context) {
	w.mu.Lock()
	groups := make([]string, 0, len(w.members))
	for g := range w.members {
		groups = append(groups, g)
	}
	w.mu.Unlock()

	var ghosts []ghost
	now := time.Now()
	for _, group := range groups {
		info := w.cluster.GroupInfo(group) // on the broker's loop: never under w.mu
		ghosts = append(ghosts, w.silent(group, info, now)...)
	}
	if len(ghosts) > 0 {
		w.evict(ctx, ghosts)
	}
}

// silent returns the members of info that stopped speaking, and forgets
// members that left.
func (w *groupWatch) silent(group string, info *kfake.GroupInfo, now time.Time) []ghost {
	w.mu.Lock()
	defer w.mu.Unlock()
	ms := w.members[group]
	if info == nil {
		delete(w.members, group)
		delete(w.episode, group)
		return nil
	}
	ep := w.episode[group]
	if ep.state != info.State || ep.generation != info.Epoch {
		ep = episode{state: info.State, generation: info.Epoch, since: now}
		w.episode[group] = ep
	}
	current := make(map[string]bool, len(info.Members))
	var out []ghost
	for _, gm := range info.Members {
		current[gm.MemberID] = true
		m := ms[gm.MemberID]
		if m == nil { // joined before the broker restarted: start counting now
			m = &memberSeen{at: now, sessionTimeout: defaultSessionTimeout}
			ms[gm.MemberID] = m
		}
		switch {
		case info.State == "PreparingRebalance" && m.kind == int16(kmsg.JoinGroup) && !m.at.Before(ep.since.Add(-2*w.tick)):
			continue // parked in the join of this rebalance
		case info.State == "CompletingRebalance" && m.kind == int16(kmsg.SyncGroup) && m.generation == info.Epoch:
			continue // waiting in sync for the leader's assignment
		case info.State != "Stable" && info.State != "PreparingRebalance" && info.State != "CompletingRebalance":
			continue
		}
		if silent := now.Sub(m.at); silent > m.sessionTimeout+w.grace {
			out = append(out, ghost{group: group, member: gm.MemberID, client: gm.ClientID, host: gm.ClientHost, silent: silent, partitions: gm.NumAssigned()})
		}
	}
	for id := range ms {
		if !current[id] {
			delete(ms, id)
		}
	}
	return out
}

// evict sends one LeaveGroup per group for its ghosts.
func (w *groupWatch) evict(ctx context.Context, ghosts []ghost) {
	cl, err := w.client()
	if err != nil {
		w.logger.Warn("group watch: no client to evict silent members", "err", err)
		return
	}
	defer cl.Close()
	byGroup := map[string][]ghost{}
	for _, g := range ghosts {
		byGroup[g.group] = append(byGroup[g.group], g)
	}
	for group, gs := range byGroup {
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group = group
		for _, g := range gs {
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = g.member
			reason := "arena: silent past its session timeout"
			m.Reason = &reason
			req.Members = append(req.Members, m)
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := req.RequestWith(rctx, cl)
		cancel()
		for _, g := range gs {
			if err != nil {
				w.logger.Warn("group watch: evicting a silent member failed", "group", g.group, "member", g.member, "err", err)
				continue
			}
			w.logger.Warn("evicted a group member that stopped heartbeating but kept its partitions",
				"component", "broker", "group", g.group, "member", g.member, "client_id", g.client, "client_host", g.host,
				"silent_for", g.silent.Round(time.Millisecond), "partitions", g.partitions)
		}
	}
}

// dialable turns a listen address into one a client can dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// progress is what a group's member knows of the whole group's progress:
// per partition, the committed offset, the lag, and since when the commit
// has not moved while there was something to read. Every member tracks
// the whole group, so each one reports a partition that no member moves,
// whoever holds it. It is safe for concurrent use.
type progress struct {
	mu        sync.Mutex
	parts     map[tp]*partProgress
	refreshed time.Time // last successful refresh
	err       error     // of the last refresh, if it failed
	owners    map[tp]string
}

type partProgress struct {
	committed int64
	lag       int64
	since     time.Time // the commit last moved, or the partition last had no lag
}

// observe records one partition's committed offset and lag at now.
func (p *progress) observe(t tp, committed, lag int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		p.parts = map[tp]*partProgress{}
	}
	pp := p.parts[t]
	if pp == nil || pp.committed != committed || lag == 0 {
		pp = &partProgress{committed: committed, since: now}
		p.parts[t] = pp
	}
	pp.lag = lag
}

func (p *progress) refreshedAt(now time.Time, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
	if err == nil {
		p.refreshed = now
	}
}

// stale lists the partitions with lag whose commit has not moved for d.
func (p *progress) stale(now time.Time, d time.Duration) []tp {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []tp
	for t, pp := range p.parts {
		if pp.lag > 0 && now.Sub(pp.since) > d {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

// describeOwners notes which member holds each stale partition, for the
// readiness reason. It runs only when something is stale.
func (g *Group) describeOwners(ctx context.Context, adm *kadm.Client) {
	described, err := adm.DescribeGroups(ctx, g.cfg.Group)
	if err != nil {
		return
	}
	owners := map[tp]string{}
	for _, dg := range described {
		for _, m := range dg.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok {
				continue
			}
			for _, t := range ca.Topics {
				for _, p := range t.Partitions {
					owners[tp{t.Topic, p}] = fmt.Sprintf("member %s at %s", m.MemberID, m.ClientHost)
				}
			}
		}
	}
	g.progress.mu.Lock()
	g.progress.owners = owners
	g.progress.mu.Unlock()
}

// Ready reports whether the group can do its job: nil, or why not. A group
// is not ready while its member has not joined within the session and
// rebalance timeouts, while it cannot read the group's offsets, or while
// any partition of its topics has records to handle and a committed offset
// that has not moved for StaleAfter (no member handles it: unassigned, or
// held by a member that does not consume). It is cheap: the numbers come
// from the lag refresh.
func (g *Group) Ready() error {
	now := time.Now()
	g.mu.Lock()
	runAt, joined := g.runAt, g.joined
	g.mu.Unlock()
	if runAt.IsZero() {
		return nil // Run is about to begin: the lifecycle's own readiness covers start-up
	}
	if !joined && now.Sub(runAt) > g.cfg.SessionTimeout+g.cfg.RebalanceTimeout {
		return fmt.Errorf("group %s: no partitions assigned after %s (is the broker's group coordinator reachable?)", g.cfg.Group, now.Sub(runAt).Round(time.Second))
	}
	p := &g.progress
	p.mu.Lock()
	refreshed, err := p.refreshed, p.err
	if refreshed.IsZero() {
		refreshed = runAt
	}
	p.mu.Unlock()
	if err != nil && now.Sub(refreshed) > 3*lagInterval {
		return fmt.Errorf("group %s: cannot read its offsets for %s: %w", g.cfg.Group, now.Sub(refreshed).Round(time.Second), err)
	}
	stale := p.stale(now, g.cfg.StaleAfter)
	if len(stale) == 0 {
		return nil
	}
	var reasons []string
	p.mu.Lock()
	for _, t := range stale {
		pp := p.parts[t]
		owner := p.owners[t]
		if owner == "" {
			owner = "no member"
		}
		reasons = append(reasons, fmt.Sprintf("%s/%d is %d records behind and its committed offset %d has not moved for %s (held by %s)",
			t.topic, t.partition, pp.lag, pp.committed, now.Sub(pp.since).Round(time.Second), owner))
	}
	p.mu.Unlock()
	return fmt.Errorf("group %s: %s", g.cfg.Group, strings.Join(reasons, "; "))
}

// ReadyAll joins the readiness of several groups (a module with more than one).
func ReadyAll(groups ...*Group) error {
	var errs []error
	for _, g := range groups {
		if g != nil {
			errs = append(errs, g.Ready())
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether the broker can keep its data: its data directory
// takes a small write. In a directory gone read-only, replaced or full,
// kfake can create no new segment, snapshot or group-log file (and with a
// read-only remount, append to none), so the process is not ready. The
// probe runs at most once a second.
func (b *Broker) Ready() error {
	if b.cfg.DataDir == "" {
		return nil
	}
	b.probeMu.Lock()
	defer b.probeMu.Unlock()
	if time.Since(b.probedAt) < time.Second {
		return b.probeErr
	}
	b.probedAt = time.Now()
	b.probeErr = probeWritable(b.cfg.DataDir)
	return b.probeErr
}

// probeWritable creates, writes, syncs and removes a file in dir.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".arena-probe-*")
	if err == nil {
		_, err = f.Write([]byte("ok"))
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		os.Remove(f.Name())
	}
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", filepath.Clean(dir), err)
	}
	return nil
}

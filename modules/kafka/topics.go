package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
)

const week = "604800000"

// TopicSpec is the desired shape of one topic.
type TopicSpec struct {
	Name    string
	Configs map[string]string
	// Record says the topic holds records arena cannot rebuild (the log of
	// record, dead letters): a setting that would delete them is fatal.
	Record bool
}

// Specs returns arena's topics with the settings DESIGN.md asks for:
// the match log kept forever, robot traffic kept a week, views compacted.
func Specs(t events.Topics) []TopicSpec {
	return []TopicSpec{
		{t.MatchEvents, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}, true},
		{t.RobotCommands, map[string]string{"cleanup.policy": "delete", "retention.ms": week, "retention.bytes": "-1"}, false},
		{t.RobotEvents, map[string]string{"cleanup.policy": "delete", "retention.ms": week, "retention.bytes": "-1"}, false},
		{t.MatchState, map[string]string{"cleanup.policy": "compact"}, false},
		{t.DeadLetters, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}, true},
	}
}

// TopicOptions are the cluster-side settings arena asks for.
type TopicOptions struct {
	Partitions  int32 // kafka.partitions: for new topics, and compared with existing ones
	Replication int16 // kafka.replication_factor; -1: the broker's default, not checked
	MinInsync   int   // kafka.min_insync_replicas; 0: the broker's default, not checked
	// Fix alters what can be altered in place: topic configs, and the
	// partition count while every topic is still empty.
	Fix bool
}

// Issue is one setting of one topic that differs from what arena asks for.
type Issue struct {
	Setting    string // cleanup.policy, retention.ms, partitions, replication, ...
	Have, Want string
	// Fatal: running would lose or misplace data (the log of record deleted,
	// a match split across partitions). Start-up refuses; the rest warn.
	Fatal bool
	Fix   string // what to do, as a command or a config change
	Fixed bool   // --fix altered it
}

func (i Issue) String() string {
	s := fmt.Sprintf("%s is %s, want %s", i.Setting, i.Have, i.Want)
	if i.Fixed {
		return s + " (fixed)"
	}
	if i.Fix != "" {
		s += "; fix: " + i.Fix
	}
	return s
}

// TopicStatus reports what EnsureTopics found or did for one topic.
type TopicStatus struct {
	Name        string
	Created     bool
	Partitions  int
	Replication int // replicas per partition (the most of any); 0 when unknown
	Issues      []Issue
	// Problems are the Issues as text, kept for callers that print them.
	Problems []string
}

// Open reports the issues --fix did not resolve.
func (s TopicStatus) Open() []Issue {
	var out []Issue
	for _, i := range s.Issues {
		if !i.Fixed {
			out = append(out, i)
		}
	}
	return out
}

// ErrTopicMismatch is returned (wrapped) when an existing topic's settings
// break an assumption arena relies on: start-up refuses to run.
var ErrTopicMismatch = errors.New("topic settings do not match")

// ErrTopicDrift is returned (wrapped) when settings differ in ways that lose
// nothing arena needs (a robot topic's retention, the replication factor):
// `arena topics` exits non-zero, start-up only warns.
var ErrTopicDrift = errors.New("topic settings differ from arena's")

// EnsureTopics creates missing topics and checks existing ones; see
// EnsureTopicsWith. It is EnsureTopicsWith without Fix or min.insync.replicas,
// and it returns only fatal mismatches as errors (drift is in the statuses).
func EnsureTopics(ctx context.Context, cl *kgo.Client, t events.Topics, partitions int32, replication int16) ([]TopicStatus, error) {
	statuses, err := EnsureTopicsWith(ctx, cl, t, TopicOptions{Partitions: partitions, Replication: replication})
	if errors.Is(err, ErrTopicDrift) {
		err = nil
	}
	return statuses, err
}

// EnsureTopicsWith creates missing topics and compares every setting arena
// sets on existing ones: cleanup.policy, retention.ms, retention.bytes,
// min.insync.replicas (when asked for), the partition count (the same on
// every topic, and kafka.partitions) and the replication factor (when
// asked for). With opts.Fix it alters the configs, and the partition count
// while no topic holds a record. The error wraps ErrTopicMismatch when an
// open issue is fatal, else ErrTopicDrift when any is open.
func EnsureTopicsWith(ctx context.Context, cl *kgo.Client, t events.Topics, opts TopicOptions) ([]TopicStatus, error) {
	adm := kadm.NewClient(cl)
	specs := Specs(t)
	if opts.MinInsync > 0 {
		for _, s := range specs {
			s.Configs["min.insync.replicas"] = strconv.Itoa(opts.MinInsync)
		}
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", explain(cl, err))
	}
	statuses := make([]TopicStatus, len(specs))
	for i, s := range specs {
		st := TopicStatus{Name: s.Name}
		if d, ok := details[s.Name]; ok && d.Err == nil {
			st.Partitions = len(d.Partitions)
			for _, p := range d.Partitions {
				st.Replication = max(st.Replication, len(p.Replicas))
			}
		} else {
			cfgs := make(map[string]*string, len(s.Configs))
			for k, v := range s.Configs {
				cfgs[k] = kadm.StringPtr(v)
			}
			resp, err := adm.CreateTopic(ctx, opts.Partitions, opts.Replication, cfgs, s.Name)
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("create topic %s: %w", s.Name, err)
			}
			if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("create topic %s: %w", s.Name, resp.Err)
			}
			st.Created, st.Partitions = resp.Err == nil, int(opts.Partitions)
		}
		statuses[i] = st
	}

	if err := checkTopicConfigs(ctx, adm, specs, statuses, opts.Fix); err != nil {
		return statuses, err
	}
	if err := checkPartitionCounts(ctx, adm, specs, statuses, opts); err != nil {
		return statuses, err
	}
	if opts.Replication > 0 {
		for i := range statuses {
			if r := statuses[i].Replication; r > 0 && r != int(opts.Replication) {
				statuses[i].Issues = append(statuses[i].Issues, Issue{
					Setting: "replication", Have: strconv.Itoa(r), Want: strconv.Itoa(int(opts.Replication)),
					Fix: "reassign replicas with kafka-reassign-partitions.sh (arena cannot), or set kafka.replication_factor: " + strconv.Itoa(r),
				})
			}
		}
	}
	return statuses, topicsError(statuses)
}

// topicsError fills Problems and sums the open issues up as one error.
func topicsError(statuses []TopicStatus) error {
	var problems []string
	fatal := false
	for i := range statuses {
		statuses[i].Problems = nil
		for _, is := range statuses[i].Issues {
			statuses[i].Problems = append(statuses[i].Problems, is.String())
			if is.Fixed {
				continue
			}
			problems = append(problems, statuses[i].Name+": "+is.String())
			fatal = fatal || is.Fatal
		}
	}
	switch {
	case len(problems) == 0:
		return nil
	case fatal:
		return fmt.Errorf("%w: %s", ErrTopicMismatch, strings.Join(problems, "; "))
	default:
		return fmt.Errorf("%w: %s", ErrTopicDrift, strings.Join(problems, "; "))
	}
}

// checkTopicConfigs compares (and with fix, alters) every config in the specs.
func checkTopicConfigs(ctx context.Context, adm *kadm.Client, specs []TopicSpec, statuses []TopicStatus, fix bool) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return fmt.Errorf("describe topic configs: %w", err)
	}
	for i, s := range specs {
		rc, err := rcs.On(s.Name, nil)
		if err != nil || rc.Err != nil {
			continue // reported as missing settings below would be noise
		}
		have := map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				have[c.Key] = *c.Value
			}
		}
		var alters []kadm.AlterConfig
		for _, is := range configIssues(s, have) {
			if fix {
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: is.Setting, Value: kadm.StringPtr(is.Want)})
			}
			statuses[i].Issues = append(statuses[i].Issues, is)
		}
		if len(alters) == 0 {
			continue
		}
		resps, err := adm.AlterTopicConfigs(ctx, alters, s.Name)
		for _, r := range resps {
			if err == nil && r.Err != nil {
				err = fmt.Errorf("%w (%s)", r.Err, r.ErrMessage)
			}
		}
		if err != nil {
			return fmt.Errorf("alter topic %s: %w", s.Name, err)
		}
		for j := range statuses[i].Issues {
			if statuses[i].Issues[j].Setting != "partitions" {
				statuses[i].Issues[j].Fixed = true
			}
		}
	}
	return nil
}

// configIssues compares one topic's configs with its spec. A config the
// broker does not report is not an issue (it cannot be told from a default).
func configIssues(s TopicSpec, have map[string]string) []Issue {
	var out []Issue
	keys := make([]string, 0, len(s.Configs))
	for k := range s.Configs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := s.Configs[k]
		h, ok := have[k]
		if !ok || h == want {
			continue
		}
		is := Issue{Setting: k, Have: h, Want: want,
			Fix: fmt.Sprintf("arena topics --fix, or kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config %s=%s", s.Name, k, want)}
		switch {
		case k == "cleanup.policy":
			// compact on the log would drop all but a match's last event;
			// delete on match-state would lose the views' snapshots.
			is.Fatal = true
		case s.Record && (k == "retention.ms" || k == "retention.bytes"):
			is.Fatal = true // the log of record would be deleted
		}
		out = append(out, is)
	}
	return out
}

// checkPartitionCounts finds topics whose partition counts differ from each
// other (a match's records must share one partition number on every topic)
// or from kafka.partitions. With fix, it raises them to kafka.partitions
// while every topic is still empty; with data, that would move matches.
func checkPartitionCounts(ctx context.Context, adm *kadm.Client, specs []TopicSpec, statuses []TopicStatus, opts TopicOptions) error {
	want := int(opts.Partitions)
	counts := map[int]bool{}
	for _, st := range statuses {
		counts[st.Partitions] = true
	}
	if len(counts) == 1 && counts[want] {
		return nil
	}
	empty, err := topicsEmpty(ctx, adm, specs)
	if err != nil {
		return err
	}
	first := statuses[0]
	for i := range statuses {
		st := &statuses[i]
		if st.Partitions == want {
			continue
		}
		is := Issue{Setting: "partitions", Have: strconv.Itoa(st.Partitions), Want: strconv.Itoa(want)}
		switch {
		case empty && st.Partitions < want:
			is.Fix = "arena topics --fix (every topic is still empty)"
			if opts.Fix {
				resps, err := adm.UpdatePartitions(ctx, want, st.Name)
				if err == nil {
					err = resps.Error()
				}
				if err != nil {
					return fmt.Errorf("add partitions to %s: %w", st.Name, err)
				}
				is.Fixed, st.Partitions = true, want
			}
		case empty:
			is.Fix = fmt.Sprintf("a topic cannot lose partitions: delete the empty topics and run arena topics, or set kafka.partitions: %d", st.Partitions)
		default:
			is.Fix = fmt.Sprintf("set kafka.partitions: %d (the count the data was written with); "+
				"to change it, start afresh under a new kafka.topic_prefix: arena cannot move matches between partitions", st.Partitions)
		}
		if st.Partitions != first.Partitions {
			is.Fatal = true
			is.Want = fmt.Sprintf("%s (as %s has %d: a match's records share one partition number on every topic)", is.Want, first.Name, first.Partitions)
		}
		st.Issues = append(st.Issues, is)
	}
	// Fatal only if the topics still disagree after any fix.
	for i := range statuses {
		for j := range statuses[i].Issues {
			if statuses[i].Issues[j].Setting == "partitions" && statuses[i].Partitions == statuses[0].Partitions {
				statuses[i].Issues[j].Fatal = false
			}
		}
	}
	return nil
}

// topicsEmpty reports whether no arena topic has ever held a record.
func topicsEmpty(ctx context.Context, adm *kadm.Client, specs []TopicSpec) (bool, error) {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return false, fmt.Errorf("end offsets: %w", err)
	}
	empty := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset > 0 {
			empty = false
		}
	})
	return empty, nil
}

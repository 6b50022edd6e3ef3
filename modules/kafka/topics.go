package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
}

// Specs returns arena's topics with the settings DESIGN.md asks for:
// the match log kept forever, robot traffic kept a week, views compacted.
func Specs(t events.Topics) []TopicSpec {
	return []TopicSpec{
		{t.MatchEvents, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}},
		{t.RobotCommands, map[string]string{"cleanup.policy": "delete", "retention.ms": week}},
		{t.RobotEvents, map[string]string{"cleanup.policy": "delete", "retention.ms": week}},
		{t.MatchState, map[string]string{"cleanup.policy": "compact"}},
		{t.DeadLetters, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}},
	}
}

// TopicStatus reports what EnsureTopics found or did for one topic.
type TopicStatus struct {
	Name       string
	Created    bool
	Partitions int
	Problems   []string // settings that differ from the spec
}

// ErrTopicMismatch is returned (wrapped) when an existing topic's settings
// break an assumption arena relies on.
var ErrTopicMismatch = errors.New("topic settings do not match")

// EnsureTopics creates missing topics and checks existing ones. Existing
// topics are left as they are; a wrong cleanup policy or retention, or
// partition counts that differ between topics (which would split a match
// across partition numbers), are reported in the statuses and as an
// ErrTopicMismatch error.
func EnsureTopics(ctx context.Context, cl *kgo.Client, t events.Topics, partitions int32, replication int16) ([]TopicStatus, error) {
	adm := kadm.NewClient(cl)
	specs := Specs(t)
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", explain(cl, err))
	}
	var statuses []TopicStatus
	for _, s := range specs {
		st := TopicStatus{Name: s.Name}
		if d, ok := details[s.Name]; ok && d.Err == nil {
			st.Partitions = len(d.Partitions)
		} else {
			cfgs := make(map[string]*string, len(s.Configs))
			for k, v := range s.Configs {
				cfgs[k] = kadm.StringPtr(v)
			}
			resp, err := adm.CreateTopic(ctx, partitions, replication, cfgs, s.Name)
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("create topic %s: %w", s.Name, err)
			}
			if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("create topic %s: %w", s.Name, resp.Err)
			}
			st.Created, st.Partitions = resp.Err == nil, int(partitions)
		}
		statuses = append(statuses, st)
	}

	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return statuses, fmt.Errorf("describe topic configs: %w", err)
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
		statuses[i].Problems = checkConfigs(s.Configs, have)
	}
	var problems []string
	want := statuses[0].Partitions
	for i := range statuses {
		if statuses[i].Partitions != want {
			statuses[i].Problems = append(statuses[i].Problems, fmt.Sprintf("has %d partitions, %s has %d: a match's records must share one partition number on every topic", statuses[i].Partitions, statuses[0].Name, want))
		}
		for _, p := range statuses[i].Problems {
			problems = append(problems, statuses[i].Name+": "+p)
		}
	}
	if len(problems) > 0 {
		return statuses, fmt.Errorf("%w: %s", ErrTopicMismatch, strings.Join(problems, "; "))
	}
	return statuses, nil
}

// checkConfigs compares the settings that matter; only cleanup.policy and a
// finite retention on the match log can lose data, so only those are checked.
func checkConfigs(want, have map[string]string) []string {
	var out []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "cleanup.policy" && !(k == "retention.ms" && want[k] == "-1") {
			continue
		}
		if h, ok := have[k]; ok && h != want[k] {
			out = append(out, fmt.Sprintf("%s is %q, want %q", k, h, want[k]))
		}
	}
	return out
}

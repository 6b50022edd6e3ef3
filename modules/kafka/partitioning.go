package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
)

// sampleSize is how many records CheckPartitioning reads from the start and
// from the end of each partition.
const sampleSize = 16

// keyPartitioner is how arena's producers place a keyed record (kgo's
// default for keyed records, the same murmur2 as Kafka's Java client).
var keyPartitioner = kgo.StickyKeyPartitioner(nil)

// PartitionOf is the partition a key goes to on a topic of n partitions.
func PartitionOf(key []byte, n int) int32 {
	return int32(keyPartitioner.ForTopic("").Partition(&kgo.Record{Key: key}, n))
}

// TopicOptionsFrom is the TopicOptions of the kafka config.
func TopicOptionsFrom(k config.Kafka, fix bool) TopicOptions {
	return TopicOptions{Partitions: int32(k.Partitions), Replication: int16(k.ReplicationFactor), MinInsync: k.MinInsyncReplicas, Fix: fix}
}

// PrepareTopics is what start-up and `arena topics` run: EnsureTopicsWith,
// then CheckPartitioning. The error wraps ErrTopicMismatch when arena must
// not run, ErrTopicDrift when it may but a setting differs.
func PrepareTopics(ctx context.Context, c *Clients, cl *kgo.Client, opts TopicOptions) ([]TopicStatus, error) {
	statuses, err := EnsureTopicsWith(ctx, cl, c.Topics, opts)
	if err != nil && !errors.Is(err, ErrTopicMismatch) && !errors.Is(err, ErrTopicDrift) {
		return statuses, err
	}
	if cerr := CheckPartitioning(ctx, c, statuses); cerr != nil {
		return statuses, cerr
	}
	return statuses, topicsError(statuses)
}

// CheckPartitioning reads the first and last records of every partition of
// the keyed topics and checks that each sits where its key (the match id)
// hashes with the topic's current partition count. Partitions added under
// existing data (kafka-topics --alter) move matches to other partitions:
// their next records land apart from their past, and the modules that own
// a partition never see them. Such a topic gets a fatal "partitions" issue
// naming the count the data was written with. statuses are EnsureTopics'.
func CheckPartitioning(ctx context.Context, c *Clients, statuses []TopicStatus) error {
	keyed := map[string]bool{c.Topics.MatchEvents: true, c.Topics.MatchState: true, c.Topics.RobotCommands: true, c.Topics.RobotEvents: true}
	for i := range statuses {
		st := &statuses[i]
		if !keyed[st.Name] || st.Created || st.Partitions == 0 {
			continue
		}
		samples, err := sampleKeys(ctx, c, st.Name)
		if err != nil {
			return fmt.Errorf("check partitioning of %s: %w", st.Name, err)
		}
		misplaced := 0
		for _, s := range samples {
			if PartitionOf(s.key, st.Partitions) != s.partition {
				misplaced++
			}
		}
		if misplaced == 0 {
			continue
		}
		written := "another count"
		if m := writtenWith(samples, 4*st.Partitions+64); m > 0 {
			written = strconv.Itoa(m)
		}
		st.Issues = append(st.Issues, Issue{
			Setting: "partitions", Have: strconv.Itoa(st.Partitions), Want: written + " (the count its data was written with)",
			Fatal: true,
			Fix: fmt.Sprintf("%d of %d sampled records are on another partition than their match id hashes to now, so partitions were added under data. "+
				"A topic cannot lose partitions: recreate arena's topics with %s partitions and copy the records back keeping their keys, "+
				"or start afresh under a new kafka.topic_prefix (docs/deploy.md, \"Changing the partition count\")", misplaced, len(samples), written),
		})
	}
	return nil
}

type keySample struct {
	partition int32
	key       []byte
}

// writtenWith finds the smallest partition count under which every sample
// sits where its key hashes, or 0 when none up to limit does.
func writtenWith(samples []keySample, limit int) int {
	for m := 1; m <= limit; m++ {
		ok := true
		for _, s := range samples {
			if PartitionOf(s.key, m) != s.partition {
				ok = false
				break
			}
		}
		if ok {
			return m
		}
	}
	return 0
}

// sampleKeys returns the keys of the first and last sampleSize records of
// every partition of topic (fewer where a partition holds fewer).
func sampleKeys(ctx context.Context, c *Clients, topic string) ([]keySample, error) {
	admCl, err := c.NewUnmetered("partition-check-admin")
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	head, tail := map[int32][2]int64{}, map[int32][2]int64{}
	ends.Each(func(end kadm.ListedOffset) {
		start, ok := starts.Lookup(topic, end.Partition)
		if end.Err != nil || !ok || start.Err != nil || end.Offset <= start.Offset {
			return
		}
		head[end.Partition] = [2]int64{start.Offset, min(start.Offset+sampleSize, end.Offset)}
		if from := max(end.Offset-sampleSize, start.Offset+sampleSize); from < end.Offset {
			tail[end.Partition] = [2]int64{from, end.Offset}
		}
	})
	var out []keySample
	for _, ranges := range []map[int32][2]int64{head, tail} {
		got, err := readRanges(ctx, c, topic, ranges)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// readRanges reads records of [from, to) per partition. Compaction and
// control records leave gaps, so a partition is also done once a fetch
// shows nothing more below its end; the whole read is bounded in time.
func readRanges(ctx context.Context, c *Clients, topic string, ranges map[int32][2]int64) ([]keySample, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	offsets := map[int32]kgo.Offset{}
	for p, r := range ranges {
		offsets[p] = kgo.NewOffset().At(r[0])
	}
	cl, err := c.NewUnmetered("partition-check", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []keySample
	for len(ranges) > 0 {
		fs := cl.PollFetches(rctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", topic, err)
		}
		if rctx.Err() != nil {
			// A partition that never reached its range's end (gaps the
			// broker does not report): judge by what was read.
			return out, nil
		}
		for _, fe := range fs.Errors() {
			return nil, fmt.Errorf("read %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			r, ok := ranges[fp.Partition]
			if !ok {
				return
			}
			for _, rec := range fp.Records {
				if rec.Offset >= r[1] {
					break
				}
				if len(rec.Key) > 0 {
					out = append(out, keySample{rec.Partition, rec.Key})
				}
			}
			last := int64(-1)
			if n := len(fp.Records); n > 0 {
				last = fp.Records[n-1].Offset
			}
			if last >= r[1]-1 || fp.HighWatermark <= r[1] && len(fp.Records) == 0 {
				delete(ranges, fp.Partition)
			}
		})
	}
	return out, nil
}

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
		head, tail, err := sampleKeys(ctx, c, st.Name)
		if err != nil {
			return fmt.Errorf("check partitioning of %s: %w", st.Name, err)
		}
		samples := append(head, tail...)
		misplaced := 0
		for _, s := range samples {
			if PartitionOf(s.key, st.Partitions) != s.partition {
				misplaced++
			}
		}
		if misplaced == 0 {
			continue
		}
		// A partition whose oldest records mostly sit off their keys'
		// partitions was written with another count; a few strays
		// (another client's partitioner) are only a warning.
		byPartition := map[int32][]keySample{}
		for _, s := range head {
			byPartition[s.partition] = append(byPartition[s.partition], s)
		}
		var old []keySample
		for _, ss := range byPartition {
			off := 0
			for _, s := range ss {
				if PartitionOf(s.key, st.Partitions) != s.partition {
					off++
				}
			}
			if off >= 3 && off*4 > len(ss) {
				old = append(old, ss...)
			}
		}
		if len(old) == 0 {
			st.Issues = append(st.Issues, Issue{
				Setting: "record placement", Have: fmt.Sprintf("%d of %d sampled records off their key's partition", misplaced, len(samples)),
				Want: "every record on the partition its match id hashes to",
				Fix:  "records written by another client need the match id as key and a murmur2 partitioner (kcat: -X partitioner=murmur2_random)",
			})
			continue
		}
		written, fit := writtenWith(old, 4*st.Partitions+64)
		if fit < 0.75 {
			written = 0
		}
		count := "another count"
		if written > 0 {
			count = strconv.Itoa(written)
		}
		st.Issues = append(st.Issues, Issue{
			Setting: "partitions", Have: strconv.Itoa(st.Partitions), Want: count + " (the count its data was written with)",
			Fatal: true,
			Fix: fmt.Sprintf("%d of %d sampled records are on another partition than their match id hashes to now, so partitions were added under data. "+
				"A topic cannot lose partitions: recreate arena's topics with %s partitions and copy the records back keeping their keys, "+
				"or start afresh under a new kafka.topic_prefix (docs/deploy.md, \"Changing the partition count\")", misplaced, len(samples), count),
		})
	}
	return nil
}

type keySample struct {
	partition int32
	key       []byte
}

// writtenWith finds the partition count, up to limit, under which the most
// samples sit where their key hashes (the smallest on a tie), and that
// share. A few strays do not hide the count of the rest.
func writtenWith(samples []keySample, limit int) (best int, fit float64) {
	for m := 1; m <= limit; m++ {
		if f := fitOf(samples, m); f > fit {
			best, fit = m, f
		}
	}
	return best, fit
}

// fitOf is the share of samples that sit where their key hashes with n
// partitions (1 with no samples).
func fitOf(samples []keySample, n int) float64 {
	if len(samples) == 0 {
		return 1
	}
	ok := 0
	for _, s := range samples {
		if PartitionOf(s.key, n) == s.partition {
			ok++
		}
	}
	return float64(ok) / float64(len(samples))
}

// sampleKeys returns the keys of the first (head) and last (tail)
// sampleSize records of every partition of topic (fewer where a partition
// holds fewer).
func sampleKeys(ctx context.Context, c *Clients, topic string) (head, tail []keySample, err error) {
	admCl, err := c.NewUnmetered("partition-check-admin")
	if err != nil {
		return nil, nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	headRanges, tailRanges := map[int32][2]int64{}, map[int32][2]int64{}
	ends.Each(func(end kadm.ListedOffset) {
		start, ok := starts.Lookup(topic, end.Partition)
		if end.Err != nil || !ok || start.Err != nil || end.Offset <= start.Offset {
			return
		}
		headRanges[end.Partition] = [2]int64{start.Offset, min(start.Offset+sampleSize, end.Offset)}
		if from := max(end.Offset-sampleSize, start.Offset+sampleSize); from < end.Offset {
			tailRanges[end.Partition] = [2]int64{from, end.Offset}
		}
	})
	if head, err = readRanges(ctx, c, topic, headRanges); err != nil {
		return nil, nil, err
	}
	if tail, err = readRanges(ctx, c, topic, tailRanges); err != nil {
		return nil, nil, err
	}
	return head, tail, nil
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

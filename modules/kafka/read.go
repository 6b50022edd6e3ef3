package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadToEnd reads the given partitions of topic from the offsets in from
// (a partition missing from from is read from its start) up to the end
// offsets they have when the call begins, calling fn for each record in
// partition order. Modules use it to bootstrap: the materializer and the
// orchestrator load match-state snapshots, the orchestrator then folds the
// tail of match-events behind them.
func (c *Clients) ReadToEnd(ctx context.Context, topic string, partitions []int32, from map[int32]int64, fn func(*kgo.Record) error) error {
	if len(partitions) == 0 {
		return nil
	}
	admCl, err := c.NewUnmetered("reader-admin")
	if err != nil {
		return err
	}
	defer admCl.Close()
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	want := map[int32]kgo.Offset{}
	remaining := map[int32]int64{} // partition -> end offset still to reach
	for _, p := range partitions {
		end, ok := ends.Lookup(topic, p)
		if !ok || end.Err != nil {
			return fmt.Errorf("end offset of %s/%d: %v", topic, p, end.Err)
		}
		start := from[p]
		if start >= end.Offset {
			continue
		}
		want[p] = kgo.NewOffset().At(start)
		remaining[p] = end.Offset
	}
	if len(want) == 0 {
		return nil
	}
	cl, err := c.NewUnmetered("reader", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: want}), kgo.FetchMaxWait(100_000_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, fe := range fs.Errors() {
			return fmt.Errorf("read %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := remaining[r.Partition]
			if ferr != nil || !ok || r.Offset >= end {
				return
			}
			if err := fn(r); err != nil {
				ferr = err
			}
			if r.Offset >= end-1 {
				delete(remaining, r.Partition)
			}
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

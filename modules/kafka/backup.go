package kafka

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BackupLine is one record of a backup file, one JSON object per line, in
// the shape `kcat -C -J` prints (topic, partition, offset, tstype, ts,
// headers as [key, value, ...], key, payload), so the file reads like any
// kcat dump. A key or payload that is not valid UTF-8 is written in base64
// and flagged, so that a restore gives back the same bytes.
type BackupLine struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	TsType    string   `json:"tstype"`
	Ts        int64    `json:"ts"` // milliseconds since the epoch
	Headers   []string `json:"headers,omitempty"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	KeyB64    bool     `json:"key_base64,omitempty"`
	PayloadB6 bool     `json:"payload_base64,omitempty"`
}

func text(b []byte) (*string, bool) {
	if b == nil {
		return nil, false
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, false
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, true
}

func untext(s *string, b64 bool) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	if b64 {
		return base64.StdEncoding.DecodeString(*s)
	}
	return []byte(*s), nil
}

// Backup writes every record of topic, up to the end offsets it has when
// the call begins, as JSON lines: each partition's records in offset order
// (partitions interleave), streamed as they are read. It returns how many
// records it wrote.
func Backup(ctx context.Context, c *Clients, topic string, w io.Writer) (int, error) {
	parts, err := partitionsOf(ctx, c, topic)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err = c.ReadToEnd(ctx, topic, parts, nil, func(r *kgo.Record) error {
		line := BackupLine{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, TsType: "create", Ts: r.Timestamp.UnixMilli()}
		if r.Attrs.TimestampType() == 1 {
			line.TsType = "logappend"
		}
		for _, h := range r.Headers {
			line.Headers = append(line.Headers, h.Key, string(h.Value))
		}
		line.Key, line.KeyB64 = text(r.Key)
		line.Payload, line.PayloadB6 = text(r.Value)
		if err := enc.Encode(line); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func partitionsOf(ctx context.Context, c *Clients, topic string) ([]int32, error) {
	cl, err := c.NewUnmetered("backup-admin")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	var parts []int32
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			parts = append(parts, o.Partition)
		}
	})
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s does not exist", topic)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts, nil
}

// ErrRestoreTarget is wrapped when the topic cannot take a restore.
var ErrRestoreTarget = errors.New("cannot restore here")

// Restore appends the records of a backup to topic: each to the partition
// it was read from, in the file's order, with its key, headers and
// timestamp. The topic must be empty (a restore on top of a log would
// double it) and must have the partition count the backup was written
// with: every key must still hash to its record's partition, or a match's
// later events would land elsewhere. Lines of other topics are refused.
// The whole file is checked before the first record is written, in a first
// pass over it; the second pass streams. It returns how many records it
// wrote.
func Restore(ctx context.Context, c *Clients, topic string, r io.ReadSeeker) (int, error) {
	adm, err := c.NewUnmetered("restore-admin")
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	nparts := 0
	var nonEmpty []string
	ends.Each(func(o kadm.ListedOffset) {
		nparts++
		if o.Offset > 0 {
			nonEmpty = append(nonEmpty, fmt.Sprintf("%d (%d records)", o.Partition, o.Offset))
		}
	})
	if len(nonEmpty) > 0 {
		sort.Strings(nonEmpty)
		return 0, fmt.Errorf("%w: %s already holds records in partitions %v; restore into an empty log (a new data_dir, or a cluster whose topic was recreated)", ErrRestoreTarget, topic, nonEmpty)
	}
	hash := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	// each decodes every line into a record and checks it.
	each := func(fn func(*kgo.Record) error) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if len(sc.Bytes()) == 0 {
				continue
			}
			rec, err := restoreRecord(sc.Bytes(), topic, nparts, hash)
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	if err := each(func(*kgo.Record) error { return nil }); err != nil {
		return 0, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}

	cl, err := c.NewUnmetered("restore", kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	// One partition's records go out in order (the idempotent producer
	// keeps it); the first failure stops the restore.
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		n     int
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = each(func(rec *kgo.Record) error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		wg.Add(1)
		n++
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
		return nil
	})
	wg.Wait()
	if first != nil {
		err = first
	}
	if err != nil {
		return 0, fmt.Errorf("restore stopped, the log holds part of the backup: %w", err)
	}
	return n, nil
}

// restoreRecord turns a backup line into the record to produce.
func restoreRecord(line []byte, topic string, nparts int, hash kgo.TopicPartitioner) (*kgo.Record, error) {
	var l BackupLine
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, err
	}
	if l.Topic != topic {
		return nil, fmt.Errorf("a record of topic %q, want %q", l.Topic, topic)
	}
	key, err := untext(l.Key, l.KeyB64)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	val, err := untext(l.Payload, l.PayloadB6)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if l.Partition < 0 || int(l.Partition) >= nparts {
		return nil, fmt.Errorf("%w: a record of partition %d but %s has %d partitions", ErrRestoreTarget, l.Partition, topic, nparts)
	}
	rec := &kgo.Record{Topic: topic, Partition: l.Partition, Key: key, Value: val, Timestamp: time.UnixMilli(l.Ts)}
	if len(key) > 0 {
		if p := hash.Partition(rec, nparts); int32(p) != l.Partition {
			return nil, fmt.Errorf("%w: key %q hashes to partition %d of %d, but the backup has it in %d: the backup was written with another partition count", ErrRestoreTarget, key, p, nparts, l.Partition)
		}
	}
	for h := 0; h+1 < len(l.Headers); h += 2 {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: l.Headers[h], Value: []byte(l.Headers[h+1])})
	}
	return rec, nil
}

package kafka

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The embedded broker (kfake) keeps each partition in
// DATA_DIR/partitions/<topic>-<partition>/<base offset>.dat: Kafka
// RecordBatches back to back, each with a CRC-32C of its body. On start
// kfake truncates a partition at the first batch it cannot read, with one
// WARN line, and never notices a missing file. arena checks first and
// refuses to start on damage; `arena broker repair` cuts each damaged
// partition there and reports what it cut.

// Damage is one place where a partition's log cannot be trusted: the log
// is good up to Offset and lost or unreadable from there.
type Damage struct {
	Topic     string
	Partition int32
	File      string // the segment file (or the partition directory)
	Pos       int64  // byte position in File where the damage starts
	Offset    int64  // first offset that is not intact
	Problem   string
	torn      bool // an incomplete last batch at the very end of the log: a write cut by a crash
	kind      damageKind
}

type damageKind int

const (
	cutHere      damageKind = iota // truncate File at Pos, remove later segments
	missingStart                   // records before the first segment are gone
	missingEnd                     // the log ends before what snapshot.json recorded
)

func (d Damage) String() string {
	return fmt.Sprintf("%s/%d: %s at offset %d (%s, byte %d)", d.Topic, d.Partition, d.Problem, d.Offset, d.File, d.Pos)
}

// SegmentReport is what CheckSegments found.
type SegmentReport struct {
	Partitions, Segments, Batches int
	Damage                        []Damage // at most one per partition: its first
	Torn                          []Damage // incomplete writes at the end of a log
}

// ErrDamaged is wrapped by the error the broker refuses to start with.
var ErrDamaged = errors.New("broker data is damaged")

// topicPolicy is what the checker needs of a topic's settings.
type topicPolicy struct {
	compacted bool // offsets may have gaps
	permanent bool // nothing is ever deleted: the log starts at its log start offset
}

// policies reads topics.json, which kfake keeps beside the partitions
// and rewrites whenever a topic is created or its settings change.
func policies(dataDir string) map[string]topicPolicy {
	var file struct {
		Topics []struct {
			Name    string            `json:"name"`
			Configs map[string]string `json:"configs"`
		} `json:"topics"`
	}
	out := map[string]topicPolicy{}
	b, err := os.ReadFile(filepath.Join(dataDir, "topics.json"))
	if err != nil || json.Unmarshal(b, &file) != nil {
		return out
	}
	for _, t := range file.Topics {
		compacted := strings.Contains(t.Configs["cleanup.policy"], "compact")
		permanent := !compacted && t.Configs["retention.ms"] == "-1" && (t.Configs["retention.bytes"] == "" || t.Configs["retention.bytes"] == "-1")
		out[t.Name] = topicPolicy{compacted: compacted, permanent: permanent}
	}
	return out
}

// partSnapshot is the part of kfake's snapshot.json the checker reads.
type partSnapshot struct {
	HighWatermark  int64 `json:"high_watermark"`
	LogStartOffset int64 `json:"log_start_offset"`
	Segments       []struct {
		BaseOffset int64 `json:"base_offset"`
		Size       int64 `json:"size"`
	} `json:"segments"`
}

// logStartFile is arena's note of a log start a repair accepted (records
// before it were lost and will not be asked for again).
const logStartFile = "arena-log-start"

// CheckSegments reads every segment under dataDir (the broker's data
// directory) and checks each batch's framing and CRC, that offsets follow
// on from one batch and one segment to the next, and, for topics that
// keep everything, that the log starts at its log start and reaches the
// end kfake last recorded. It changes nothing.
func CheckSegments(dataDir string) (SegmentReport, error) {
	var rep SegmentReport
	root := filepath.Join(dataDir, "partitions")
	dirs, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	pols := policies(dataDir)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		topic, part, ok := parsePartDir(d.Name())
		if !ok {
			continue
		}
		rep.Partitions++
		pol, known := pols[topic]
		if !known {
			// No settings on record: check only what holds for every
			// topic (framing, CRC, offsets going forward), never a gap.
			pol = topicPolicy{compacted: true}
		}
		if err := checkPartition(filepath.Join(root, d.Name()), topic, part, pol, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func parsePartDir(name string) (string, int32, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", 0, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil {
		return "", 0, false
	}
	topic, err := url.PathUnescape(name[:i])
	if err != nil {
		return "", 0, false
	}
	return topic, int32(p), true
}

// segmentBases lists a partition directory's segments in offset order.
func segmentBases(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".dat"); ok {
			if b, err := strconv.ParseInt(name, 10, 64); err == nil {
				bases = append(bases, b)
			}
		}
	}
	slices.Sort(bases)
	return bases, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Offsets of the RecordBatch header fields.
const (
	batchHeaderLen   = 61 // through the record count
	batchLengthEnd   = 12 // base offset (8) + batch length (4)
	batchMagicAt     = 16
	batchCRCAt       = 17
	batchCRCFrom     = 21
	batchLastDeltaAt = 23
)

func checkPartition(dir, topic string, part int32, pol topicPolicy, rep *SegmentReport) error {
	bases, err := segmentBases(dir)
	if err != nil {
		return err
	}
	var snap *partSnapshot
	if b, err := os.ReadFile(filepath.Join(dir, "snapshot.json")); err == nil {
		var s partSnapshot
		if json.Unmarshal(b, &s) == nil {
			snap = &s
		}
	}
	start := int64(0)
	if snap != nil {
		start = snap.LogStartOffset
	}
	if b, err := os.ReadFile(filepath.Join(dir, logStartFile)); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			start = max(start, n)
		}
	}
	damage := func(d Damage) {
		d.Topic, d.Partition = topic, part
		rep.Damage = append(rep.Damage, d)
	}

	next := int64(-1) // the offset the next batch must start at; -1: unknown yet
	for si, base := range bases {
		path := filepath.Join(dir, strconv.FormatInt(base, 10)+".dat")
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rep.Segments++
		last := si == len(bases)-1
		if len(raw) == 0 {
			continue
		}
		if next < 0 && pol.permanent && base > start {
			damage(Damage{File: dir, Offset: start, kind: missingStart,
				Problem: fmt.Sprintf("records %d..%d are missing (the first segment is %d.dat: deleted?)", start, base-1, base)})
			return nil
		}
		if next >= 0 && base > next && !pol.compacted {
			damage(Damage{File: path, Offset: next, kind: cutHere,
				Problem: fmt.Sprintf("records %d..%d are missing (a segment before %d.dat was deleted?)", next, base-1, base)})
			return nil
		}
		for pos := 0; pos < len(raw); {
			off := next
			if off < 0 {
				off = base
			}
			at := func(problem string) Damage {
				return Damage{File: path, Pos: int64(pos), Offset: off, Problem: problem, kind: cutHere}
			}
			// A short end of the last segment is a write the process died
			// in (torn: cut at the next start); anywhere else it is damage.
			short := func(problem string) error {
				d := at(problem)
				if last {
					d.torn, d.Topic, d.Partition = true, topic, part
					rep.Torn = append(rep.Torn, d)
				} else {
					damage(d)
				}
				return nil
			}
			if len(raw)-pos < batchLengthEnd {
				return short(fmt.Sprintf("%d bytes at the end are no whole batch", len(raw)-pos))
			}
			first := int64(binary.BigEndian.Uint64(raw[pos:]))
			length := int(int32(binary.BigEndian.Uint32(raw[pos+8:])))
			if length < batchHeaderLen-batchLengthEnd || length > 1<<30 {
				damage(at(fmt.Sprintf("a batch claims a length of %d bytes", length)))
				return nil
			}
			end := pos + batchLengthEnd + length
			if end > len(raw) {
				return short(fmt.Sprintf("the last batch is cut short (%d of %d bytes)", len(raw)-pos, end-pos))
			}
			if magic := raw[pos+batchMagicAt]; magic != 2 {
				damage(at(fmt.Sprintf("a batch has magic byte %d, want 2", magic)))
				return nil
			}
			stored := binary.BigEndian.Uint32(raw[pos+batchCRCAt:])
			if got := crc32.Checksum(raw[pos+batchCRCFrom:end], castagnoli); got != stored {
				damage(at(fmt.Sprintf("batch CRC mismatch (stored %08x, computed %08x)", stored, got)))
				return nil
			}
			switch {
			case next < 0 && pos == 0 && first != base:
				damage(at(fmt.Sprintf("the segment's first batch starts at offset %d, its name says %d", first, base)))
				return nil
			case next >= 0 && first < next:
				damage(at(fmt.Sprintf("a batch starts at offset %d, before the previous batch's end %d", first, next)))
				return nil
			case next >= 0 && first > next && !pol.compacted:
				damage(at(fmt.Sprintf("offsets jump from %d to %d", next, first)))
				return nil
			}
			delta := int64(int32(binary.BigEndian.Uint32(raw[pos+batchLastDeltaAt:])))
			next = first + delta + 1
			rep.Batches++
			pos = end
		}
	}
	if snap != nil && pol.permanent && next >= 0 && next < snap.HighWatermark || snap != nil && pol.permanent && next < 0 && snap.HighWatermark > start {
		have := max(next, start)
		damage(Damage{File: dir, Offset: have, kind: missingEnd,
			Problem: fmt.Sprintf("the log ends at offset %d but the broker last recorded %d (a segment was deleted?)", have, snap.HighWatermark)})
	}
	return nil
}

// Cut is what a repair removed from one partition.
type Cut struct {
	Damage
	From, To     int64    // offsets given up: [From, To), To unknown (-1) when the bytes were unreadable
	RemovedBytes int64    // of segment data
	RemovedFiles []string // whole segments removed
}

func (c Cut) String() string {
	switch c.kind {
	case missingStart:
		return fmt.Sprintf("%s/%d: accepted that the log now starts at offset %d (records %d..%d were already gone)", c.Topic, c.Partition, c.To, c.From, c.To-1)
	case missingEnd:
		return fmt.Sprintf("%s/%d: accepted that the log ends at offset %d (%s)", c.Topic, c.Partition, c.From, c.Problem)
	}
	s := fmt.Sprintf("%s/%d: cut at offset %d in %s (byte %d): %s; removed %d bytes", c.Topic, c.Partition, c.From, filepath.Base(c.File), c.Pos, c.Problem, c.RemovedBytes)
	if len(c.RemovedFiles) > 0 {
		s += fmt.Sprintf(" and the later segments %s", strings.Join(c.RemovedFiles, ", "))
	}
	return s
}

// RepairSegments cuts every damaged partition under dataDir at its damage:
// the segment is truncated where the damage starts, later segments are
// removed, and kfake's snapshot of the partition is dropped so that it
// reloads from the segments. Incomplete writes at the end of a log are cut
// too. The broker must not be running.
func RepairSegments(dataDir string) ([]Cut, error) {
	rep, err := CheckSegments(dataDir)
	if err != nil {
		return nil, err
	}
	var cuts []Cut
	for _, d := range append(rep.Damage, rep.Torn...) {
		c, err := cut(dataDir, d)
		if err != nil {
			return cuts, fmt.Errorf("%s/%d: %w", d.Topic, d.Partition, err)
		}
		cuts = append(cuts, c)
	}
	return cuts, nil
}

func cut(dataDir string, d Damage) (Cut, error) {
	c := Cut{Damage: d, From: d.Offset, To: -1}
	dir := filepath.Join(dataDir, "partitions", url.PathEscape(d.Topic)+"-"+strconv.Itoa(int(d.Partition)))
	switch d.kind {
	case missingStart:
		bases, err := segmentBases(dir)
		if err != nil || len(bases) == 0 {
			return c, fmt.Errorf("no segments: %v", err)
		}
		c.To = bases[0]
		return c, os.WriteFile(filepath.Join(dir, logStartFile), []byte(strconv.FormatInt(bases[0], 10)+"\n"), 0o644)
	case missingEnd:
		return c, removeIfExists(filepath.Join(dir, "snapshot.json"))
	}
	info, err := os.Stat(d.File)
	if err != nil {
		return c, err
	}
	c.RemovedBytes = info.Size() - d.Pos
	if err := os.Truncate(d.File, d.Pos); err != nil {
		return c, err
	}
	damagedBase, _ := strconv.ParseInt(strings.TrimSuffix(filepath.Base(d.File), ".dat"), 10, 64)
	bases, err := segmentBases(dir)
	if err != nil {
		return c, err
	}
	for _, b := range bases {
		if b <= damagedBase {
			continue
		}
		name := strconv.FormatInt(b, 10) + ".dat"
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
			c.RemovedBytes += info.Size()
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return c, err
		}
		if err := removeIfExists(filepath.Join(dir, strconv.FormatInt(b, 10)+".idx")); err != nil {
			return c, err
		}
		c.RemovedFiles = append(c.RemovedFiles, name)
	}
	// kfake rebuilds the index of the truncated segment on load; its
	// snapshot describes the files as they were.
	return c, removeIfExists(filepath.Join(dir, "snapshot.json"))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

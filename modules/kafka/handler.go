package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
)

// Handlers in the shape of Watermill's: an EventHandler receives the
// decoded event and returns what to publish; the runner (Events) decodes,
// publishes within one timeout with one correlation id and only then lets
// the offset be marked. Retry and dead-letter are Middleware around the
// record-level Handler, so a group's chain is
//
//	DeadLetter(Retry(middleware...(Events(handler))))
//
// Readers that fold raw records (the materializer, the orchestrator's
// clock, which need the record's partition and offset) keep the
// record-level Handler; they get the same retry and dead-letter.

// Middleware wraps a record-level handler.
type Middleware func(Handler) Handler

// Message is a consumed record with its event decoded.
type Message struct {
	Record  *kgo.Record
	Event   events.Envelope
	Payload events.Payload

	publish func(ctx context.Context, outs []Out) error
}

// Out is an event to publish and the topic it goes to.
type Out struct {
	Topic string
	Event events.Envelope
}

// EventHandler handles one decoded event and returns what to publish
// because of it. An error is retried, then dead-lettered (wrap it with
// Permanent to skip the retries). Handlers must be idempotent, as Handler.
type EventHandler func(ctx context.Context, m Message) ([]Out, error)

// CorrelationID is the correlation id of what is published because of m.
// It has one meaning: the id of the event that began the work, carried
// unchanged through every record made because of it (a robot command's id
// stays on the robot's reply and on the bridge's fact). A record without
// the header began its own work: its event's id.
func (m Message) CorrelationID() string {
	if m.Record != nil {
		if c := Header(m.Record, events.HeaderCorrelationID); c != "" {
			return c
		}
	}
	return m.Event.ID
}

// Publish publishes outs now, before the handler returns, with the same
// timeout and correlation id as what it returns: for outputs spaced in
// time (a robot's typing signal, then its answer).
func (m Message) Publish(ctx context.Context, outs ...Out) error {
	if m.publish == nil {
		return errors.New("message: no publisher")
	}
	return m.publish(ctx, outs)
}

// Producer is what the runner publishes with; a *kgo.Client is one.
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// DefaultPublishTimeout bounds one publish: of a handler's outputs, of the
// orchestrator's clock, of a player's action.
const DefaultPublishTimeout = 10 * time.Second

// Events adapts h to a record Handler. A record that does not decode is
// Permanent (retrying cannot fix it: it goes to the dead letters at once).
// The outputs are published through p within timeout, each with m's
// correlation id, and the record counts as handled only once the broker
// has acknowledged them all.
func Events(p Producer, timeout time.Duration, h EventHandler) Handler {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	return func(ctx context.Context, r *kgo.Record) error {
		e, err := events.Decode(r.Value)
		if err != nil {
			return Permanent(err)
		}
		pl, err := e.Payload()
		if err != nil {
			return Permanent(err)
		}
		m := Message{Record: r, Event: e, Payload: pl}
		corr := m.CorrelationID()
		m.publish = func(ctx context.Context, outs []Out) error { return publishOuts(ctx, p, timeout, corr, outs) }
		outs, err := h(ctx, m)
		if err != nil {
			return err
		}
		return m.publish(ctx, outs)
	}
}

func publishOuts(ctx context.Context, p Producer, timeout time.Duration, corr string, outs []Out) error {
	if len(outs) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(outs))
	for _, o := range outs {
		r, err := Record(o.Topic, o.Event, corr)
		if err != nil {
			return Permanent(err)
		}
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce to %s: %w", recs[0].Topic, err)
	}
	return nil
}

// SkipUnlessHeader passes on only records whose header key is absent or
// equal to want; the others are done without being decoded (a personality
// skips the robot commands of the others by their robot-id header).
func SkipUnlessHeader(key, want string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			for _, h := range r.Headers {
				if h.Key == key && string(h.Value) != want {
					return nil
				}
			}
			return next(ctx, r)
		}
	}
}

// Retry runs next again on an error, up to max more times with a backoff
// that starts at backoff and doubles. A Permanent error is not retried,
// and a cancelled ctx (partition revoked, group stopping) ends the retries
// at once with ctx's error, so shutdown never waits for a backoff.
func Retry(max int, backoff time.Duration, logger *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			wait := backoff
			for attempt := 0; ; attempt++ {
				err := next(ctx, r)
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if IsPermanent(err) || attempt >= max {
					return err
				}
				logger.Debug("handler failed; retrying", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "attempt", attempt+1, "err", err)
				if !Sleep(ctx, wait) {
					return ctx.Err()
				}
				wait *= 2
			}
		}
	}
}

// DeadLetter sends a record whose handler still fails to topic, with the
// original headers plus dlq-error, dlq-topic, dlq-partition, dlq-offset and
// dlq-group, so the partition moves on; the record then counts as handled.
// The produce is retried until it succeeds or ctx ends (then ctx's error:
// the record stays unacknowledged, to be redone).
func DeadLetter(p Producer, topic, group string, backoff time.Duration, logger *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			cause := next(ctx, r)
			if cause == nil || ctx.Err() != nil {
				return cause
			}
			dl := &kgo.Record{
				Topic: topic,
				Key:   r.Key,
				Value: r.Value,
				Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
					kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(cause.Error())},
					kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
					kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
					kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
					kgo.RecordHeader{Key: HeaderDLQGroup, Value: []byte(group)},
				),
			}
			for wait := backoff; ; wait = min(2*wait, 5*time.Second) {
				err := p.ProduceSync(ctx, dl).FirstErr()
				if err == nil {
					logger.Error("record dead-lettered", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "dead_letter_topic", topic, "err", cause)
					deadLettered.WithLabelValues(group, r.Topic).Inc()
					return nil
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				logger.Warn("dead-letter produce failed; retrying", "err", err)
				if !Sleep(ctx, wait) {
					return ctx.Err()
				}
			}
		}
	}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var perm permanentError
	return errors.As(err, &perm)
}

// Sleep waits d, or less when ctx ends first; it reports whether the whole
// wait passed with ctx still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

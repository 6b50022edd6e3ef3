package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
)

// Record turns an envelope into a record keyed by its match id, with the type
// and correlation id in headers (an empty correlationID: the event begins
// its own work, so its own id), and a robot command's robot id.
func Record(topic string, e events.Envelope, correlationID string) (*kgo.Record, error) {
	b, err := e.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", e.Type, err)
	}
	if correlationID == "" {
		correlationID = e.ID
	}
	r := &kgo.Record{
		Topic: topic,
		Key:   []byte(e.MatchID),
		Value: b,
		Headers: []kgo.RecordHeader{
			{Key: events.HeaderType, Value: []byte(e.Type)},
			{Key: events.HeaderCorrelationID, Value: []byte(correlationID)},
		},
	}
	if e.Type == events.TypeRobotCommand {
		if p, err := e.Payload(); err == nil {
			if c, ok := p.(*events.RobotCommand); ok && c.RobotID != "" {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: events.HeaderRobotID, Value: []byte(c.RobotID)})
			}
		}
	}
	return r, nil
}

// Publish produces envelopes to topic and waits until the broker has
// acknowledged all of them. Only then may a caller acknowledge its own input
// (a player's action, a consumed record): that is what makes arena
// at-least-once. It is safe for concurrent use.
func Publish(ctx context.Context, cl *kgo.Client, topic string, correlationID string, evs ...events.Envelope) error {
	recs := make([]*kgo.Record, 0, len(evs))
	for _, e := range evs {
		r, err := Record(topic, e, correlationID)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	return nil
}

// Header returns the value of a record header, or "".
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

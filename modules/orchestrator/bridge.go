package orchestrator

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// bridgeHandle turns a robot's reply into the match fact it stands for.
// The fact's id is derived from the command, so a reply redelivered after a
// crash becomes a duplicate the reducer drops: the bridge is idempotent
// without Kafka transactions. Whether the fact is still in time is the
// reducer's call, as for a human's action.
func (o *Orchestrator) bridgeHandle(ctx context.Context, r *kgo.Record) error {
	e, err := events.Decode(r.Value)
	if err != nil {
		return kafka.Permanent(err)
	}
	p, err := e.Payload()
	if err != nil {
		return kafka.Permanent(err)
	}
	now := o.now()
	var fact events.Envelope
	switch v := p.(type) {
	case *events.RobotTyping:
		fact, err = events.NewWithID(events.DerivedID(v.CommandID, "typing"), e.MatchID, events.SourceRobot, now,
			&events.Typing{Seat: v.Seat, Round: v.Round})
	case *events.ResponseGenerated:
		id := events.DerivedID(v.CommandID, "reply")
		if v.Kind == events.KindVote {
			fact, err = events.NewWithID(id, e.MatchID, events.SourceRobot, now,
				&events.VoteCast{Voter: v.Seat, Seat: v.Vote, Round: v.Round})
		} else {
			fact, err = events.NewWithID(id, e.MatchID, events.SourceRobot, now,
				&events.AnswerSubmitted{Seat: v.Seat, Round: v.Round, Text: v.Text, ProcessingMs: v.ProcessingMs})
		}
	case *events.ResponseFailed:
		// Nothing to fold: the deadline gives the seat "(no answer)".
		o.logger.Warn("robot failed", "match_id", e.MatchID, "robot", v.RobotID, "seat", v.Seat, "round", v.Round, "kind", v.Kind, "err", v.Error)
		o.metrics.replies.WithLabelValues(e.Type).Inc()
		return nil
	default:
		return nil
	}
	if err != nil {
		return kafka.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := kafka.Publish(ctx, o.producer, o.clients.Topics.MatchEvents, e.ID, fact); err != nil {
		return err
	}
	o.metrics.replies.WithLabelValues(e.Type).Inc()
	return nil
}

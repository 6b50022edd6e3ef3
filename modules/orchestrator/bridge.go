package orchestrator

import (
	"context"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// bridgeHandle turns a robot's reply into the match fact it stands for; the
// group's runner publishes it to match-events (with the command's
// correlation id) before the reply is acknowledged. The fact's id is
// derived from the command, so a reply redelivered after a crash becomes a
// duplicate the reducer drops: the bridge is idempotent without Kafka
// transactions. Whether the fact is still in time is the reducer's call,
// as for a human's action.
func (o *Orchestrator) bridgeHandle(_ context.Context, m kafka.Message) ([]kafka.Out, error) {
	e := m.Event
	now := o.now()
	var fact events.Envelope
	var err error
	switch v := m.Payload.(type) {
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
				&events.AnswerSubmitted{Seat: v.Seat, Round: v.Round, Text: v.Text, ProcessingMs: v.ProcessingMs, Model: v.Model})
		}
	case *events.ResponseFailed:
		// Nothing to fold: the deadline gives the seat "(no answer)".
		o.logger.Warn("robot failed", "match_id", e.MatchID, "robot", v.RobotID, "seat", v.Seat, "round", v.Round, "kind", v.Kind, "err", v.Error)
		o.metrics.replies.WithLabelValues(e.Type).Inc()
		return nil, nil
	default:
		return nil, nil
	}
	if err != nil {
		return nil, kafka.Permanent(err)
	}
	// Counted when handed to the runner: a publish that fails and is
	// retried counts again (rare; the fact itself is a duplicate then).
	o.metrics.replies.WithLabelValues(e.Type).Inc()
	return []kafka.Out{{Topic: o.clients.Topics.MatchEvents, Event: fact}}, nil
}

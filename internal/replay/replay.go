// Package replay reads one match's events from match-events and prints
// them: the timeline (rejected events marked) and the final state, as text
// or JSON. It is the body of the replay command; app only wires it.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// ErrMatchNotFound is wrapped when the log holds no event of a match.
var ErrMatchNotFound = errors.New("match not found")

// Match reads match matchID's events from match-events, in log order,
// and folds them with the game's rules into a new state. The events are
// returned as read, rejected ones included (the state records why). A match
// with no event in the log is an error wrapping ErrMatchNotFound.
//
// Records are keyed by match id, so the match lives on the partition its id
// hashes to under the producer's default partitioner; that partition is read
// first, and the others only if the match is not there (as after partitions
// were added to the topic).
func Match(ctx context.Context, clients *kafka.Clients, matchID string) (*game.State, []events.Envelope, error) {
	if matchID == "" {
		return nil, nil, errors.New("match id: empty")
	}
	topic := clients.Topics.MatchEvents
	n, err := partitionCount(ctx, clients, topic)
	if err != nil {
		return nil, nil, err
	}
	home := KeyPartition(topic, matchID, n)
	evs, err := readMatch(ctx, clients, topic, []int32{home}, matchID)
	if err != nil {
		return nil, nil, err
	}
	if len(evs) == 0 && n > 1 {
		var others []int32
		for p := range int32(n) {
			if p != home {
				others = append(others, p)
			}
		}
		if evs, err = readMatch(ctx, clients, topic, others, matchID); err != nil {
			return nil, nil, err
		}
	}
	if len(evs) == 0 {
		return nil, nil, fmt.Errorf("%w: no events of match %q in %s", ErrMatchNotFound, matchID, topic)
	}
	return game.Replay(matchID, evs), evs, nil
}

// partitionCount returns the number of partitions of topic, or a clear
// error when the topic does not exist.
func partitionCount(ctx context.Context, clients *kafka.Clients, topic string) (int, error) {
	cl, err := clients.New("replay-admin")
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	tds, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("list topic %s: %w", topic, err)
	}
	td, ok := tds[topic]
	if !ok || td.Err != nil || len(td.Partitions) == 0 {
		return 0, fmt.Errorf("%w: there is no %s topic: no match was played or seeded on these brokers", ErrMatchNotFound, topic)
	}
	return len(td.Partitions), nil
}

// KeyPartition is the partition the producer's default partitioner gives a
// record keyed by key, when topic has n partitions: for keyed records it
// hashes the key with Kafka's murmur2, as StickyKeyPartitioner(nil) does.
func KeyPartition(topic, key string, n int) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	return int32(p.Partition(&kgo.Record{Topic: topic, Key: []byte(key)}, n))
}

// readMatch reads partitions of topic to their current end and returns the
// events keyed by matchID. A record of the match that does not decode is
// skipped: the reducer would refuse it too.
func readMatch(ctx context.Context, clients *kafka.Clients, topic string, partitions []int32, matchID string) ([]events.Envelope, error) {
	var evs []events.Envelope
	err := clients.ReadToEnd(ctx, topic, partitions, nil, func(r *kgo.Record) error {
		if string(r.Key) != matchID {
			return nil
		}
		e, err := events.Decode(r.Value)
		if err != nil || e.MatchID != matchID {
			return nil
		}
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	return evs, nil
}

// WriteJSON prints {"events":[...],"state":{...}}.
func WriteJSON(w io.Writer, state *game.State, evs []events.Envelope) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Events []events.Envelope `json:"events"`
		State  *game.State       `json:"state"`
	}{evs, state})
}

// Write prints the timeline, folding the events again to mark each
// rejected one, and then the final state.
func Write(w io.Writer, matchID string, evs []events.Envelope) error {
	s := game.New(matchID)
	start := evs[0].Time
	fmt.Fprintf(w, "Match %s: %d events, from %s\n\nTimeline:\n", matchID, len(evs), start.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range evs {
		dup := game.IsDuplicate(s, e)
		err := game.Apply(s, e)
		seat, round, detail := describeEvent(e)
		mark := ""
		switch {
		case dup:
			mark = "  (duplicate, ignored)"
		case err != nil:
			var rej *game.Rejection
			if errors.As(err, &rej) {
				mark = fmt.Sprintf("  REJECTED %s: %s", rej.Code, rej.Reason)
			} else {
				mark = "  REJECTED: " + err.Error()
			}
		}
		r := ""
		if round > 0 {
			r = fmt.Sprintf("r%d", round)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s%s\n", offset(e.Time.Sub(start)), e.Type, r, seat, detail, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeState(w, s)
}

// offset formats the time since the first event: +m:ss.mmm, or with hours.
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m := int(d/time.Hour), int(d/time.Minute)%60
	sec := float64(d%time.Minute) / float64(time.Second)
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%06.3f", sign, h, m, sec)
	}
	return fmt.Sprintf("%s%d:%06.3f", sign, m, sec)
}

// describeEvent says in a few words what an event claims, whether or not
// the rules accepted it.
func describeEvent(e events.Envelope) (seat string, round int, detail string) {
	p, err := e.Payload()
	if err != nil {
		return "", 0, "malformed: " + err.Error()
	}
	switch p := p.(type) {
	case *events.MatchCreated:
		detail = fmt.Sprintf("%s match, %d seats (up to %d humans), %d rounds", p.Mode, p.Seats, p.Humans, p.Rounds)
		if p.Code != "" {
			detail += ", code " + p.Code
		}
		if p.Previous != "" {
			detail += ", rematch of " + p.Previous
		}
	case *events.PlayerJoined:
		detail = p.Name + " joined"
	case *events.MatchStarted:
		detail = "started by " + p.By
	case *events.RoundStarted:
		round = p.Round
	case *events.Typing:
		seat, round, detail = p.Seat, p.Round, "typing"
	case *events.AnswerSubmitted:
		seat, round, detail = p.Seat, p.Round, quote(p.Text, 80)
		if p.ProcessingMs > 0 {
			detail += fmt.Sprintf(" (model %dms)", p.ProcessingMs)
		}
	case *events.VoteCast:
		seat, round, detail = p.Voter, p.Round, "votes "+p.Seat+" is human"
	case *events.DeadlineReached:
		round, detail = p.Round, p.Phase+" time is up"
	case *events.MatchEnded:
		detail = p.Reason
	case *events.RematchCreated:
		detail = "play again: match " + p.MatchID
	case *events.Unknown:
		detail = "(unknown event type, skipped)"
	}
	return seat, round, detail
}

// quote shows text in quotes, cut to max runes.
func quote(text string, max int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max-1]) + "…"
	}
	return `"` + text + `"`
}

// writeState prints a match's state: phase, seats, rounds, scores.
func writeState(w io.Writer, s *game.State) error {
	fmt.Fprintf(w, "\nFinal state:\n  phase %s", s.Phase)
	if s.EndReason != "" {
		fmt.Fprintf(w, " (%s)", s.EndReason)
	}
	fmt.Fprintf(w, ", round %d of %d, %s match", s.Round, s.Settings.Rounds, s.Settings.Mode)
	if s.Settings.Code != "" {
		fmt.Fprintf(w, " (code %s)", s.Settings.Code)
	}
	fmt.Fprintf(w, ", %d events applied, %d rejected\n", s.Events, len(s.Rejections))
	if s.Phase == "" {
		fmt.Fprintln(w, "  the match was never created: its log has no valid match.created")
		return nil
	}

	fmt.Fprintln(w, "\nSeats:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEAT\tWHO\tNAME\tPERSONALITY\tMODEL\tSCORE")
	seats := slices.Clone(s.Seats)
	slices.SortFunc(seats, func(a, b game.Seat) int { return strings.Compare(a.Letter, b.Letter) })
	for _, seat := range seats {
		who, personality, model := "human", "-", "-"
		if !seat.Human {
			who, personality, model = "robot", seat.RobotID, seat.Model
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\n", seat.Letter, who, seat.Name, personality, model, s.Scores[seat.Letter])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Phase == events.PhaseFinished && len(seats) > 0 {
		best := -1
		var winners []string
		for _, seat := range seats {
			switch score := s.Scores[seat.Letter]; {
			case score > best:
				best, winners = score, []string{seat.Letter + " (" + seat.Name + ")"}
			case score == best:
				winners = append(winners, seat.Letter+" ("+seat.Name+")")
			}
		}
		fmt.Fprintf(w, "  winner: %s with %d\n", strings.Join(winners, ", "), best)
	}

	for _, r := range s.Rounds {
		fmt.Fprintf(w, "\nRound %d: %s\n", r.Number, quote(r.Prompt, 120))
		for _, a := range r.Answers {
			fmt.Fprintf(w, "  %s: %s\n", a.Seat, quote(a.Text, 100))
		}
		if len(r.Votes) > 0 {
			votes := make([]string, len(r.Votes))
			for i, v := range r.Votes {
				votes[i] = v.Voter + "→" + v.Seat
			}
			fmt.Fprintf(w, "  votes: %s\n", strings.Join(votes, " "))
		}
		if len(r.Awards) > 0 {
			var awards []string
			for _, letter := range slices.Sorted(maps.Keys(r.Awards)) {
				if pts := r.Awards[letter]; pts > 0 {
					awards = append(awards, fmt.Sprintf("%s +%d", letter, pts))
				}
			}
			if len(awards) == 0 {
				awards = []string{"none"}
			}
			fmt.Fprintf(w, "  points: %s\n", strings.Join(awards, ", "))
		}
	}
	if len(s.Rejections) > 0 {
		fmt.Fprintf(w, "\nRejected events (most recent %d):\n", len(s.Rejections))
		for _, r := range s.Rejections {
			fmt.Fprintf(w, "  %s %s (%s): %s\n", r.EventID, r.Type, r.Code, r.Reason)
		}
	}
	return nil
}

package game

import (
	"strings"
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

// The reveal names the model a robot's answers report (the bridge copies
// it from the robot's reply), not the one match.created expected: a
// gateway without the robots' API key cannot mislabel them. A human's
// answer never changes a seat's model, and the model stays out of every
// view until the reveal.
func TestRevealNamesTheModelThatAnswered(t *testing.T) {
	l := newLog(t).answering().add(
		&events.AnswerSubmitted{Seat: "A", Round: 1, Text: "answer of A", Model: "served-model-2024-07-18"},
		&events.AnswerSubmitted{Seat: "B", Round: 1, Text: "answer of B"},
		&events.AnswerSubmitted{Seat: "C", Round: 1, Text: "answer of C", Model: "human-claims-a-model"},
		&events.AnswerSubmitted{Seat: "D", Round: 1, Text: "answer of D", Model: "scripted"},
	)
	s := l.state()
	assertNoLeak(t, s, "answers carrying models")
	if js := string(mustJSON(t, ViewFor(s, "C"))); strings.Contains(js, "served-model") {
		t.Fatalf("a live view shows a robot's reported model: %s", js)
	}
	l.voteAll(1).add(&events.MatchEnded{Reason: events.EndCompleted})
	s = l.state()
	want := map[string]string{
		"A": "served-model-2024-07-18", // reported by its answer
		"B": roster[2].Model,           // no model reported: match.created's stands
		"C": "",                        // a human has none, whatever its answer says
		"D": "scripted",
	}
	if a := s.SeatOf("A"); a.Model != roster[0].Model {
		t.Errorf("seat A asks for %q now, want match.created's %q: a reported name need not be one the server takes", a.Model, roster[0].Model)
	}
	for _, rv := range ViewFor(s, "").Reveal {
		if rv.Model != want[rv.Seat] {
			t.Errorf("reveal of seat %s names model %q, want %q", rv.Seat, rv.Model, want[rv.Seat])
		}
	}
	for _, r := range Summarize(s).Robots {
		if r.Personality == roster[0].RobotID && r.Model != want["A"] { // seat A
			t.Errorf("the summary counts seat A on %q, want %q", r.Model, want["A"])
		}
	}
}

package events

import (
	"testing"
	"time"
)

var benchTime = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// benchPayloads are the events a match writes most often, plus its biggest.
func benchPayloads() map[string]Payload {
	return map[string]Payload{
		"answer": &AnswerSubmitted{Seat: "B", Round: 2, Text: "my grandmother's kitchen on a sunday morning, pancakes burning lol"},
		"vote":   &VoteCast{Voter: "B", Seat: "C", Round: 2},
		"created": &MatchCreated{
			Mode: ModePrivate, Code: "QWERTY", Seats: 4, Humans: 2, Rounds: 5,
			Prompts:   []string{"What's your favorite memory?", "What's the worst gift you've ever received?", "What did you have for breakfast today, honestly?", "What's a smell that instantly takes you back to childhood?", "What's the most embarrassing thing you did as a teenager?"},
			SeatOrder: []string{"C", "A", "D", "B"},
			Robots: []RobotSeat{
				{RobotID: "curious-student", Name: "Maya", Model: "gpt-4o-mini"},
				{RobotID: "skeptical-scientist", Name: "Viktor", Model: "gpt-4o"},
				{RobotID: "creative-artist", Name: "Juniper", Model: "gpt-4.1-mini"},
			},
			AnswerWindowMs: 45_000, VoteWindowMs: 30_000, ResultsPauseMs: 5_000, LobbyWaitMs: 15_000, IdleTimeoutMs: 600_000, MaxAnswerChars: 280,
		},
	}
}

// BenchmarkEncode is what a writer pays per event: validate, wrap and
// marshal the envelope.
func BenchmarkEncode(b *testing.B) {
	for name, p := range benchPayloads() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := NewWithID("0123456789abcdef0123456789abcdef", "m-bench", SourceGateway, benchTime, p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkDecode is what a reader pays per event: parse and check the
// envelope, then decode and validate its payload.
func BenchmarkDecode(b *testing.B) {
	for name, p := range benchPayloads() {
		e, err := NewWithID("0123456789abcdef0123456789abcdef", "m-bench", SourceGateway, benchTime, p)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := e.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				d, err := Decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Payload(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

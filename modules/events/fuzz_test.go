package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzDecode feeds any bytes to Decode and Payload. Neither may panic; a
// refusal always wraps ErrMalformed; an accepted envelope has every
// required field, and re-encoding it decodes to the same envelope.
func FuzzDecode(f *testing.F) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range []Payload{
		&AnswerSubmitted{Seat: "A", Round: 1, Text: "hello"},
		&VoteCast{Voter: "A", Seat: "B", Round: 1},
		&Typing{Seat: "B", Round: 2},
		&MatchStarted{By: "A"},
	} {
		e, err := NewWithID("0123456789abcdef", "m-1", SourceGateway, at, p)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := e.Marshal()
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `"x"`,
		`{"id":"x","type":"answer.submitted","matchId":"m","time":"2025-01-02T03:04:05Z","source":"gateway","v":1,"data":null}`,
		`{"id":"x","type":"answer.submitted","matchId":"m","time":"2025-01-02T03:04:05Z","source":"gateway","v":1,"data":{"seat":1}}`,
		`{"id":"x","type":"no.such.type","matchId":"m","time":"2025-01-02T03:04:05Z","source":"gateway","v":99,"data":{},"extra":[1,2]}`,
		`{"id":"x","type":"vote.cast","matchId":"m","time":"not a time","source":"g","v":1,"data":{}}`,
		"{\"id\":\"\xff\",\"type\":\"typing\",\"matchId\":\"m\",\"time\":\"2025-01-02T03:04:05Z\",\"source\":\"g\",\"v\":1,\"data\":{\"seat\":\"A\",\"round\":1}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if e.ID == "" || e.Type == "" || e.MatchID == "" || e.Source == "" || e.V < 1 || e.Time.IsZero() || len(e.Data) == 0 {
			t.Fatalf("Decode accepted an envelope missing a field: %+v", e)
		}
		p, err := e.Payload()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Payload error %v does not wrap ErrMalformed", err)
			}
		} else if p.EventType() != e.Type {
			t.Fatalf("payload of type %s for envelope of type %s", p.EventType(), e.Type)
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", e, err)
		}
		e2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v\n%s", err, again)
		}
		a, _ := json.Marshal(e)
		b2, _ := json.Marshal(e2)
		if !bytes.Equal(a, b2) {
			t.Fatalf("round trip changed the envelope:\n%s\n%s", a, b2)
		}
	})
}

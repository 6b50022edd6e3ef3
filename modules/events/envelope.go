// Package events defines arena's wire format: the record envelope, every v1
// event type, their encoding and validation, and the topic names.
//
// Every record on every topic is a JSON envelope
// {id, type, matchId, time, source, v, data}; data holds the payload of the
// type named by type. Readers ignore unknown fields, and unknown types decode
// to *Unknown so an older reader can skip what a newer writer adds.
package events

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// Version is the envelope schema version written by this build.
const Version = 1

// Sources name the module that wrote an event.
const (
	SourceGateway      = "gateway"
	SourceOrchestrator = "orchestrator"
	SourceRobot        = "robot"
	SourceSeed         = "seed"
)

// Envelope is the outer shape of every record. Data is kept raw so that a
// reader can route on Type before decoding the payload.
type Envelope struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	MatchID string          `json:"matchId"`
	Time    time.Time       `json:"time"`
	Source  string          `json:"source"`
	V       int             `json:"v"`
	Data    json.RawMessage `json:"data"`
}

// Payload is implemented by every event's data type.
type Payload interface {
	// EventType is the envelope type this payload travels under.
	EventType() string
	// Validate reports the first missing or malformed field by name.
	Validate() error
}

// FieldError names the field of a record that is missing or malformed.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// NewID returns a random, unique event id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DerivedID returns an id that is a pure function of parts. Writers use it
// for events derived from other records (a robot's answer from its command,
// a deadline from a match's phase), so a redelivered input produces the same
// event id and the reducer's duplicate check drops the copy.
func DerivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// New wraps p in an envelope with a fresh id.
func New(matchID, source string, t time.Time, p Payload) (Envelope, error) {
	return NewWithID(NewID(), matchID, source, t, p)
}

// NewWithID wraps p in an envelope with the given id.
func NewWithID(id, matchID, source string, t time.Time, p Payload) (Envelope, error) {
	if err := p.Validate(); err != nil {
		return Envelope{}, fmt.Errorf("%s: %w", p.EventType(), err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return Envelope{}, fmt.Errorf("%s: encode data: %w", p.EventType(), err)
	}
	e := Envelope{ID: id, Type: p.EventType(), MatchID: matchID, Time: t.UTC(), Source: source, V: Version, Data: data}
	if err := e.validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// MustNew is New for payloads built by our own code from validated input;
// it panics on a programming error.
func MustNew(matchID, source string, t time.Time, p Payload) Envelope {
	e, err := New(matchID, source, t, p)
	if err != nil {
		panic(err)
	}
	return e
}

// Marshal encodes the envelope as JSON.
func (e Envelope) Marshal() ([]byte, error) { return json.Marshal(e) }

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed record")

// Decode parses and checks an envelope. It rejects records that are not JSON
// objects or that miss a required envelope field, naming the field. It does
// not decode Data; call Payload for that.
//
// Decoding is every reader's main cost (a rebuild decodes the whole log), so
// it uses the JSON v2 decoder (go-json-experiment/json), about four times
// faster than encoding/json here. It is stricter too: invalid UTF-8 and
// duplicate names are malformed, not silently replaced. Names match
// exactly, as every arena writer spells them.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := jsonv2.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := e.validate(); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return e, nil
}

func (e Envelope) validate() error {
	switch {
	case e.ID == "":
		return fieldErr("id", "required")
	case e.Type == "":
		return fieldErr("type", "required")
	case e.MatchID == "":
		return fieldErr("matchId", "required")
	case e.Time.IsZero():
		return fieldErr("time", "required")
	case e.Source == "":
		return fieldErr("source", "required")
	case e.V < 1:
		return fieldErr("v", "must be >= 1")
	case len(e.Data) == 0 || string(e.Data) == "null":
		return fieldErr("data", "required")
	}
	return nil
}

// Payload decodes and validates Data according to Type. An unknown type
// yields *Unknown and no error, so readers can skip it.
func (e Envelope) Payload() (Payload, error) {
	mk, ok := registry[e.Type]
	if !ok {
		return &Unknown{Type: e.Type}, nil
	}
	p := mk()
	if err := jsonv2.Unmarshal(e.Data, p); err != nil {
		return nil, fmt.Errorf("%w: %s: data: %v", ErrMalformed, e.Type, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: data.%v", ErrMalformed, e.Type, err)
	}
	return p, nil
}

// Unknown stands for an event type this build does not know.
type Unknown struct{ Type string }

func (u *Unknown) EventType() string { return u.Type }
func (u *Unknown) Validate() error   { return nil }

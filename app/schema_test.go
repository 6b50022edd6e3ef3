package app

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/seed"
	"github.com/arena-hq/arena/modules/events"
)

const schemaFile = "../docs/events.schema.json"

func loadEventSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaFile, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile, err)
	}
	var tree map[string]any
	_ = json.Unmarshal(raw, &tree)
	return sch, tree
}

func validateRecord(t *testing.T, sch *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("record is not JSON: %v", err)
	}
	return sch.Validate(v)
}

// payloadTypes are the Go types of the event types (events keeps its
// registry unexported); EventType() ties each to its name.
var payloadTypes = map[string]events.Payload{
	events.TypeMatchCreated: new(events.MatchCreated), events.TypePlayerJoined: new(events.PlayerJoined),
	events.TypeMatchStarted: new(events.MatchStarted), events.TypeRoundStarted: new(events.RoundStarted),
	events.TypeTyping: new(events.Typing), events.TypeAnswerSubmitted: new(events.AnswerSubmitted),
	events.TypeVoteCast: new(events.VoteCast), events.TypeDeadlineReached: new(events.DeadlineReached),
	events.TypeMatchEnded: new(events.MatchEnded), events.TypeRematchCreated: new(events.RematchCreated),
	events.TypeRobotCommand: new(events.RobotCommand), events.TypeRobotTyping: new(events.RobotTyping),
	events.TypeResponseGenerated: new(events.ResponseGenerated), events.TypeResponseFailed: new(events.ResponseFailed),
	events.TypeMatchSettings: new(events.MatchSettings), events.TypePlayerKicked: new(events.PlayerKicked),
	events.TypePlayerLeft: new(events.PlayerLeft), events.TypeAudienceVote: new(events.AudienceVote),
	events.TypeWindowExtended: new(events.WindowExtended), events.TypeHostAway: new(events.HostAway),
}

// TestEventSchemaMatchesTheCode: the schema in docs/ describes every event
// type the code knows, with exactly the fields its Go type writes, so that
// adding a field or a type without documenting it fails here.
func TestEventSchemaMatchesTheCode(t *testing.T) {
	_, tree := loadEventSchema(t)
	defs := tree["$defs"].(map[string]any)
	types := events.Types()
	slices.Sort(types)
	if len(defs) != len(types) {
		t.Errorf("schema has %d data definitions, the code %d types", len(defs), len(types))
	}
	for _, typ := range types {
		def, ok := defs["data."+typ].(map[string]any)
		if !ok {
			t.Errorf("schema lacks data.%s", typ)
			continue
		}
		payload, ok := payloadTypes[typ]
		if !ok {
			t.Errorf("%s: add its Go type to payloadTypes", typ)
			continue
		}
		if payload.EventType() != typ {
			t.Fatalf("payloadTypes[%s] is a %s", typ, payload.EventType())
		}
		rt := reflect.TypeOf(payload).Elem()
		var fields, required []string
		for i := range rt.NumField() {
			name, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields = append(fields, name)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		var props, req []string
		for k := range def["properties"].(map[string]any) {
			props = append(props, k)
		}
		for _, r := range def["required"].([]any) {
			req = append(req, r.(string))
		}
		slices.Sort(fields)
		slices.Sort(required)
		slices.Sort(props)
		slices.Sort(req)
		if !slices.Equal(fields, props) {
			t.Errorf("%s: code writes fields %v, schema describes %v", typ, fields, props)
		}
		if !slices.Equal(required, req) {
			t.Errorf("%s: code always writes %v, schema requires %v", typ, required, req)
		}
	}
}

// TestEventsValidateAgainstSchema: every record of generated matches (what
// the gateway and orchestrator write for a whole match, folded by the real
// rules) and of the robot topics validates against docs/events.schema.json,
// and records that break the contract do not.
func TestEventsValidateAgainstSchema(t *testing.T) {
	sch, _ := loadEventSchema(t)
	seen := map[string]int{}
	check := func(e events.Envelope) {
		t.Helper()
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := validateRecord(t, sch, b); err != nil {
			t.Errorf("%s record does not match the schema: %v\n%s", e.Type, err, b)
		}
		seen[e.Type]++
	}
	matches, err := seed.Generate(config.Default(), seed.Options{Matches: 30, Seed: 13, Days: 2, Now: seedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		for _, e := range m.Events {
			check(e)
		}
	}

	// The types a generated match does not contain, as their writers build them.
	now := time.Now()
	for _, p := range []events.Payload{
		&events.RoundStarted{Round: 2},
		&events.Typing{Seat: "B", Round: 1},
		&events.MatchEnded{Reason: events.EndAbandoned},
		&events.RematchCreated{MatchID: "m-next", Code: "K7P2QX"},
		&events.MatchSettings{By: "C", Rounds: 2, Prompts: []string{"p1", "p2"}, AnswerWindowMs: 30_000, VoteWindowMs: 20_000, Humans: 3},
		&events.PlayerKicked{By: "C", Seat: "A"},
		&events.PlayerLeft{Seat: "A"},
		&events.AudienceVote{Spectator: "5f2c0a9e1b7d4c3a", Seat: "B", Round: 1},
		&events.WindowExtended{Phase: events.PhaseAnswering, Round: 1, ByMs: 12_500},
		&events.HostAway{Seat: "C"},
		&events.RobotCommand{CommandID: events.DerivedID("m1", "1", "C", "answer"), Kind: events.KindAnswer, RobotID: "dad-joker", Seat: "C", Round: 1,
			Prompt: "What did you have for breakfast?", Answers: []events.SeatText{{Seat: "A", Text: "toast"}}, DeadlineMs: now.UnixMilli(), MaxChars: 280},
		&events.RobotCommand{CommandID: "c2", Kind: events.KindVote, RobotID: "dad-joker", Seat: "C", Round: 1, Candidates: []string{"A", "B"}, DeadlineMs: now.UnixMilli()},
		&events.RobotTyping{CommandID: "c1", Seat: "C", Round: 1},
		&events.ResponseGenerated{CommandID: "c1", Kind: events.KindAnswer, RobotID: "dad-joker", Seat: "C", Round: 1, Text: "eggs lol", Model: "llama3.2", ProcessingMs: 812},
		&events.ResponseGenerated{CommandID: "c2", Kind: events.KindVote, RobotID: "dad-joker", Seat: "C", Round: 1, Vote: "A", Model: "gpt-4o-mini", ProcessingMs: 90},
		&events.ResponseFailed{CommandID: "c3", Kind: events.KindVote, RobotID: "dad-joker", Seat: "C", Round: 1, Error: "model timed out"},
	} {
		check(events.MustNew("m1", events.SourceOrchestrator, now, p))
	}
	for _, typ := range events.Types() {
		if seen[typ] == 0 {
			t.Errorf("no %s record was checked against the schema", typ)
		}
	}

	// The schema refuses what the code refuses.
	good := events.MustNew("m1", events.SourceGateway, now, &events.VoteCast{Voter: "A", Seat: "B", Round: 1})
	bad := map[string]func(m map[string]any){
		"seat not a letter": func(m map[string]any) { m["data"].(map[string]any)["seat"] = "b2" },
		"round 0":           func(m map[string]any) { m["data"].(map[string]any)["round"] = 0 },
		"no voter":          func(m map[string]any) { delete(m["data"].(map[string]any), "voter") },
		"no matchId":        func(m map[string]any) { delete(m, "matchId") },
		"time not a date":   func(m map[string]any) { m["time"] = "yesterday" },
		"v 0":               func(m map[string]any) { m["v"] = 0 },
	}
	for name, edit := range bad {
		var m map[string]any
		b, _ := good.Marshal()
		_ = json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		if validateRecord(t, sch, b) == nil {
			t.Errorf("%s: the schema accepts %s", name, b)
		}
	}
	// Unknown fields and types pass: readers ignore them (a newer writer).
	for _, b := range []string{
		`{"id":"x","type":"vote.cast","matchId":"m","time":"2026-01-02T03:04:05Z","source":"gateway","v":1,"data":{"voter":"A","seat":"B","round":1,"extra":true},"more":1}`,
		`{"id":"x","type":"future.thing","matchId":"m","time":"2026-01-02T03:04:05Z","source":"gateway","v":2,"data":{"anything":1}}`,
	} {
		if err := validateRecord(t, sch, []byte(b)); err != nil {
			t.Errorf("forward-compatible record refused: %v", err)
		}
	}
}

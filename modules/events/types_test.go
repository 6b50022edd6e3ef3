package events

import (
	"encoding/json"
	"testing"
)

// "none" is a vote; any other word is not a seat.
func TestVoteMayNameNoOne(t *testing.T) {
	if err := (&VoteCast{Voter: "A", Seat: NoOne, Round: 1}).Validate(); err != nil {
		t.Errorf("a no-one vote: %v", err)
	}
	if err := (&VoteCast{Voter: "A", Seat: "nobody", Round: 1}).Validate(); err == nil {
		t.Error("a vote for \"nobody\" validated")
	}
	if err := (&ResponseGenerated{CommandID: "c", Kind: KindVote, Seat: "B", Round: 1, Vote: NoOne}).Validate(); err != nil {
		t.Errorf("a robot's no-one vote: %v", err)
	}
}

// A command of an older orchestrator (no schedule, no text context) still
// decodes and validates, and a bad schedule or slot is refused.
func TestRobotCommandScheduleFields(t *testing.T) {
	var old RobotCommand
	if err := json.Unmarshal([]byte(`{"commandId":"c","kind":"answer","robotId":"r","seat":"B","round":1,"prompt":"p","deadlineMs":5,"maxChars":9}`), &old); err != nil {
		t.Fatal(err)
	}
	if err := old.Validate(); err != nil || old.StartedMs != 0 || old.Slots != 0 {
		t.Fatalf("older command: %+v, %v", old, err)
	}
	for _, bad := range []RobotCommand{
		{ReplyAfterMs: -1},
		{Slot: 2, Slots: 2},
	} {
		bad.CommandID, bad.Kind, bad.RobotID, bad.Seat, bad.Round, bad.DeadlineMs = "c", KindAnswer, "r", "B", 1, 5
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

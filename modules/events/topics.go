package events

// Topics holds the names of arena's topics, with the configured prefix.
// Every topic is keyed by match id, so one match's records stay in order on
// one partition, and partition p of each topic holds the same matches.
type Topics struct {
	MatchEvents   string // the permanent log of every match; retention forever
	RobotCommands string // orchestrator -> robots; retention days
	RobotEvents   string // robots -> orchestrator; retention days
	MatchState    string // materialized views; compacted
	DeadLetters   string // records a consumer gave up on, with the error in headers
}

// TopicNames returns the topic names under prefix.
func TopicNames(prefix string) Topics {
	return Topics{
		MatchEvents:   prefix + "match-events",
		RobotCommands: prefix + "robot-commands",
		RobotEvents:   prefix + "robot-events",
		MatchState:    prefix + "match-state",
		DeadLetters:   prefix + "dead-letters",
	}
}

// Record headers. type and correlation-id are written with every record;
// the correlation id is the id of the event that began the work a record
// is part of, carried unchanged through everything made because of it (a
// robot command's id stays on the robot's reply and on the bridge's fact).
// robot-id is written on robot commands, so that a personality skips the
// others' commands without decoding them.
const (
	HeaderType          = "type"
	HeaderCorrelationID = "correlation-id"
	HeaderRobotID       = "robot-id"
)

package orchestrator

import "github.com/arena-hq/arena/modules/kafka"

// Ready is the readiness of the clock's and the bridge's groups (see
// kafka.Group.Ready).
func (o *Orchestrator) Ready() error { return kafka.ReadyAll(o.clock, o.bridge) }

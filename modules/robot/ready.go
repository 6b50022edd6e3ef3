package robot

import "github.com/arena-hq/arena/modules/kafka"

// Ready is the readiness of every personality's group (see kafka.Group.Ready).
func (r *Robots) Ready() error { return kafka.ReadyAll(r.groups...) }

package materializer

// Ready is the readiness of the materializer's group (see kafka.Group.Ready).
func (m *Materializer) Ready() error {
	if m.group == nil {
		return nil
	}
	return m.group.Ready()
}

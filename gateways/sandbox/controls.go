package sandbox

// DeclineOffSession makes every off-session charge decline (insufficient funds) while on, so
// tests and demos can send a subscription to dunning without changing its card.
func (s *Sandbox) DeclineOffSession(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declineOffSession = on
}

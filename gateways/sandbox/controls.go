package sandbox

import "time"

// DeclineOffSession makes every off-session charge decline (insufficient funds) while on, so
// tests and demos can send a subscription to dunning without changing its card.
func (s *Sandbox) DeclineOffSession(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declineOffSession = on
}

// DelayChargeAnswers holds every off-session charge's answer for d after the charge is made,
// so a crash test can kill the caller while money has moved but the answer has not arrived.
func (s *Sandbox) DelayChargeAnswers(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chargeAnswerDelay = d
}

// DropWebhooks stops posting events to the webhook URL while on (Notify still gets them), so a
// test can show a charge is recorded through its caller alone.
func (s *Sandbox) DropWebhooks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropWebhooks = on
}

package sandbox

// Stats counts the charges the sandbox made, so a crash test can prove a killed and restarted
// worker never charged twice.
type Stats struct {
	// Charges is how many charges succeeded, hosted checkouts and off-session ones together.
	Charges int `json:"charges"`
	// DoubleChargedKeys is how many idempotency keys ChargeSaved charged more than once; anything
	// above 0 is a double charge.
	DoubleChargedKeys int `json:"double_charged_keys"`
	// ChargesPerDoubleChargedKey names those keys with their charge counts; empty when all is well.
	ChargesPerDoubleChargedKey map[string]int `json:"charges_per_double_charged_key,omitempty"`
}

// ChargeCount reports how many charges succeeded, hosted checkouts and off-session ones together.
func (s *Sandbox) ChargeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.charges)
}

// ChargesFor reports how many successful charges ChargeSaved made under an idempotency key;
// anything above 1 would be a double charge.
func (s *Sandbox) ChargesFor(idempotencyKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chargesPerKey[idempotencyKey]
}

// Stats reports the charge counts at this moment; Client.Stats asks for the same over the API.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Charges: len(s.charges)}
	for key, n := range s.chargesPerKey {
		if n > 1 {
			if st.ChargesPerDoubleChargedKey == nil {
				st.ChargesPerDoubleChargedKey = map[string]int{}
			}
			st.ChargesPerDoubleChargedKey[key] = n
		}
	}
	st.DoubleChargedKeys = len(st.ChargesPerDoubleChargedKey)
	return st
}

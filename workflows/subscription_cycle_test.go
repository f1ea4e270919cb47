package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
)

func TestRenewalWithoutAnyPaymentMethodAsksToPayByHandAndDunsAsUsual(t *testing.T) {
	l := newLedger()
	l.pay(1)
	l.noMethod = true
	env := newSubscriptionEnv(t, l, start)
	due := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	env.RegisterDelayedCallback(func() { // the customer pays by hand after the suspension
		l.pay(2)
		env.SignalWorkflow(SignalInvoicePaid, InvoicePaid{InvoiceID: 2, Gateway: "sandbox", PaymentRef: "ch_portal", EventID: "evt_1"})
	}, due.Add(8*24*time.Hour).Sub(start))
	next := runUntilContinue(t, env, firstInput())
	if got := l.opsString(); got != "create,suspend,unsuspend" {
		t.Fatalf("provisioning ops %q, want dunning to suspend and the payment to unsuspend", got)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.mails {
		if strings.HasPrefix(m, "overdue:") && (strings.Contains(l.notes[i], "failed") || !strings.Contains(l.notes[i], "pay it in your account")) {
			t.Errorf("mail %s says %q: without a payment method no charge failed, the customer is asked to pay by hand", m, l.notes[i])
		}
	}
	if len(l.charges) != 0 {
		t.Errorf("charges %v made without a payment method", l.charges)
	}
	if next.State.Status != billing.SubscriptionActive || next.State.Cycles != 2 {
		t.Fatalf("after payment by hand: %+v", next.State)
	}
}

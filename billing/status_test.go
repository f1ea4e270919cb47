package billing

import "testing"

func TestStatusLabels(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SubscriptionPastDue.Label(), "Past due"},
		{SubscriptionActive.Label(), "Active"},
		{ServiceNeedsAttention.Label(), "Needs attention"},
		{ServiceProvisioning.Label(), "Provisioning"},
		{StatusPartiallyRefunded.Label(), "Partially refunded"},
		{StatusCancelled.Label(), "Cancelled"},
		{ServiceStatus("").Label(), ""},
		{RefundFailed.Label(), "Failed"},
		{RefundStatus("").Label(), "Succeeded"},
	} {
		if c.got != c.want {
			t.Errorf("label %q, want %q", c.got, c.want)
		}
	}
}

func TestStatusListsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	check := func(kind, v string) {
		if seen[kind+v] {
			t.Errorf("%s status %q listed twice", kind, v)
		}
		seen[kind+v] = true
	}
	for _, s := range AllSubscriptionStatuses() {
		check("subscription", string(s))
	}
	for _, s := range AllServiceStatuses() {
		check("service", string(s))
	}
	for _, s := range AllInvoiceStatuses() {
		check("invoice", string(s))
	}
	if len(seen) != 6+7+6 {
		t.Errorf("%d statuses listed, want 19", len(seen))
	}
}

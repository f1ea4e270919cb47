package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// A NUL byte in a cancellation reason once made the workflow finish "cancelled" while
// PostgreSQL, which refuses NUL in text, still said active. The edge refuses it first (422, as
// every control character in a form is).
func TestCancelReasonWithANulByteIsRefusedAndChangesNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	sub := activeSubscription(t, st, ana.ID, "vps-2gb", "ana-1")
	c := newBrowser(t, st)
	c.login("ana@example.com", "password 12345")
	page := "/account/subscriptions/" + itoa(sub.ID)
	for _, when := range []string{"now", "period_end"} {
		r := c.post(page+"/cancel", page, url.Values{"reason": {"too expensive\x00"}, "when": {when}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("cancel %s with a NUL in the reason: status %d, want 422\n%s", when, r.Status, r.Body)
		}
	}
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	s := newBrowser(t, st)
	s.login("boss@example.com", "password 12345")
	admin := "/admin/subscriptions/" + itoa(sub.ID)
	for _, action := range []string{"cancel", "suspend"} {
		if r := s.post(admin+"/"+action, admin, url.Values{"reason": {"abuse\x00"}, "when": {"now"}}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("admin %s with a NUL in the reason: status %d, want 422\n%s", action, r.Status, r.Body)
		}
	}
	after, err := st.Store.SubscriptionByID(context.Background(), sub.ID)
	if err != nil || after.Status != billing.SubscriptionActive || after.CancelAtPeriodEnd || after.CancelledAt.Valid || after.CancelReason != "" {
		t.Fatalf("a refused cancellation changed the subscription: %+v %v", after, err)
	}
}

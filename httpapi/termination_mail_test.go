package httpapi_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/workflows"
)

// TestTerminatingAServiceMailsTheCustomerOnce: staff terminate an active service; the customer
// gets one mail saying so, and running the mail step again (a retried activity) sends no second.
func TestTerminatingAServiceMailsTheCustomerOnce(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{BuildDelay: 50 * time.Millisecond})
	ctx := context.Background()
	createUser(t, st, "ops@example.com", "password 12345", store.RoleAdmin)
	cust := createUser(t, st, "leaving@example.com", "password 12345", store.RoleCustomer)
	admin := newBrowser(t, st)
	admin.login("ops@example.com", "password 12345")
	id := createService(t, admin, cust.ID, productID(t, st, "vps-2gb"), "bye.example.com")
	waitStatus(t, st, id, "active")
	path := "/admin/services/" + itoa(id)
	admin.post(path+"/terminate", path, url.Values{"confirm": {"yes"}, "reason": {"customer left"}})
	waitStatus(t, st, id, "terminated")

	terminated := func(m sink.Message) bool {
		return strings.Contains(m.Subject, "has been terminated") && len(m.To) > 0 && m.To[0] == cust.Email
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := st.Sink.Wait(wait, terminated)
	if err != nil {
		t.Fatalf("no termination mail to %s: %v", cust.Email, err)
	}
	if !strings.Contains(m.Subject, "VPS 2 GB") || !strings.Contains(m.Text, "bye.example.com") || !strings.Contains(m.Text, "/account/services/"+itoa(id)) {
		t.Errorf("termination mail %q does not name the service:\n%s", m.Subject, m.Text)
	}
	// The step records the mail in the service's timeline once it is sent; run it again after that.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		events, err := st.Store.ServiceEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(events, func(e store.ServiceEvent) bool { return e.Kind == "mail" && strings.Contains(e.Message, "terminated") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the termination mail is not in the service's timeline: %+v", events)
		}
	}
	again := workflows.OpInput{ServiceID: id, Op: workflows.ProvisionOp{Kind: workflows.OpTerminate, Reason: "customer left"}, WorkflowID: workflows.ProvisionID(id)}
	if err := st.Provisioning.NotifyTerminated(ctx, again); err != nil {
		t.Fatalf("the mail step run again: %v", err)
	}
	n := 0
	for _, m := range st.Sink.Messages() {
		if terminated(m) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d termination mails to %s, want exactly 1", n, cust.Email)
	}
}

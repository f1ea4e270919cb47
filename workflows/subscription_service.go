package workflows

// What a subscription asks of its service: suspension, unsuspension and the other operations of
// provision:<service>.

import (
	"fmt"

	"github.com/ezscale/billing/billing"
	"go.temporal.io/sdk/workflow"
)

// suspend suspends the subscription and its service. write records the change: record in the
// main loop (dunning), tryRecord for staff, whose Update fails when the write does, with the
// service left running.
func (s *subscriber) suspend(ctx workflow.Context, write func(workflow.Context, SubscriptionRecord) error, by, reason string) error {
	if err := write(ctx, SubscriptionRecord{Status: billing.SubscriptionSuspended, Kind: "suspended", Message: "suspended: " + reason, Actor: by}); err != nil {
		return err
	}
	s.st.Suspended, s.st.SuspendedBy = true, by
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpSuspend, reason, by)
	}
	return nil
}

// unsuspend lifts a suspension; write as for suspend.
func (s *subscriber) unsuspend(ctx workflow.Context, write func(workflow.Context, SubscriptionRecord) error, by, reason string) error {
	status := billing.SubscriptionActive
	if s.st.OpenInvoiceID != 0 && s.st.Status == billing.SubscriptionSuspended {
		status = billing.SubscriptionPastDue
	}
	if err := write(ctx, SubscriptionRecord{Status: status, Kind: "unsuspended", Message: "unsuspended: " + reason, Actor: by}); err != nil {
		return err
	}
	s.st.Suspended, s.st.SuspendedBy = false, ""
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpUnsuspend, reason, by)
	}
	return nil
}

// provision asks provision:<service> for an operation; a refusal is noted, not fatal.
func (s *subscriber) provision(ctx workflow.Context, kind OpKind, reason, actor string) {
	s.seq++
	op := ProvisionOp{Kind: kind, Reason: reason, Actor: actor, RequestID: fmt.Sprintf("%s:op:%d", s.wfID, s.seq)}
	err := s.exec(ctx, "provisioning: "+string(kind), ActivityRequestProvisioning,
		ProvisioningRequest{ServiceID: s.st.ServiceID, CustomerID: s.st.CustomerID, Op: op}, nil)
	if err != nil {
		s.note(ctx, "provisioning-refused", fmt.Sprintf("%s refused by provisioning: %v", kind, err))
	}
}

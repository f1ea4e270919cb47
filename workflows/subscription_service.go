package workflows

// What a subscription asks of its service: suspension, unsuspension and the other operations of
// provision:<service>.

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

func (s *subscriber) suspend(ctx workflow.Context, by, reason string) {
	s.st.Suspended, s.st.SuspendedBy = true, by
	s.record(ctx, SubscriptionRecord{Status: SubSuspended, Kind: "suspended", Message: "suspended: " + reason, Actor: by})
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpSuspend, reason, by)
	}
}

func (s *subscriber) unsuspend(ctx workflow.Context, by, reason string) {
	s.st.Suspended, s.st.SuspendedBy = false, ""
	status := SubActive
	if s.st.OpenInvoiceID != 0 && s.st.Status == SubSuspended {
		status = SubPastDue
	}
	s.record(ctx, SubscriptionRecord{Status: status, Kind: "unsuspended", Message: "unsuspended: " + reason, Actor: by})
	if s.st.ServiceID > 0 {
		s.provision(ctx, OpUnsuspend, reason, by)
	}
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

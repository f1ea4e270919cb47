package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/payments"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// subscriptionStatuses are the filter choices of the admin subscription list.
var subscriptionStatuses = billing.AllSubscriptionStatuses()

func (s *server) adminSubscriptions(w http.ResponseWriter, r *http.Request) {
	status := billing.SubscriptionStatus(r.URL.Query().Get("status"))
	if status != "" && !slices.Contains(subscriptionStatuses, status) {
		status = ""
	}
	subs, err := s.Store.Subscriptions(r.Context(), store.SubscriptionFilter{Status: status, Limit: 500})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminSubscriptions{Filter: status, Statuses: subscriptionStatuses}
	for _, sub := range subs {
		v.Subscriptions = append(v.Subscriptions, adminSubscriptionRow(sub))
	}
	s.render(w, r, http.StatusOK, "admin_subscriptions", s.page(r, "Subscriptions", v))
}

func adminSubscriptionRow(sub store.Subscription) web.AdminSubscriptionRow {
	return web.AdminSubscriptionRow{SubscriptionRow: subscriptionRow(sub), Customer: sub.CustomerName,
		CustomerEmail: sub.CustomerEmail, CustomerID: sub.CustomerID}
}

// adminLoadSubscription loads the path's subscription for the admin pages.
func (s *server) adminLoadSubscription(w http.ResponseWriter, r *http.Request) (store.Subscription, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.Subscription{}, false
	}
	sub, err := s.Store.SubscriptionByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return store.Subscription{}, false
	}
	return sub, true
}

func (s *server) adminSubscription(w http.ResponseWriter, r *http.Request) {
	if sub, ok := s.adminLoadSubscription(w, r); ok {
		s.renderAdminSubscription(w, r, sub, http.StatusOK, "")
	}
}

// renderAdminSubscription shows a subscription with its live workflow state and the actions that apply.
func (s *server) renderAdminSubscription(w http.ResponseWriter, r *http.Request, sub store.Subscription, status int, errMsg string) {
	ctx := r.Context()
	events, err := s.Store.SubscriptionEvents(ctx, sub.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	invs, err := s.Store.SubscriptionInvoices(ctx, sub.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminSubscription{Subscription: web.AdminSubscriptionRow{SubscriptionRow: s.subscriptionWithNext(ctx, sub),
		Customer: sub.CustomerName, CustomerEmail: sub.CustomerEmail, CustomerID: sub.CustomerID}, WorkflowURL: s.workflowURL(workflows.SubscriptionID(sub.ID)),
		ServiceID: sub.ServiceID.Int64, Gateway: sub.Gateway, PaymentMethod: sub.PaymentMethodRef, CancelReason: sub.CancelReason}
	if sub.PeriodStart.Valid {
		v.PeriodStart, v.PeriodEnd = sub.PeriodStart.Time, sub.PeriodEnd.Time
	}
	for _, e := range events {
		v.Timeline = append(v.Timeline, web.EventRow{At: e.At, Kind: e.Kind, Message: e.Message, Actor: e.Actor})
	}
	for _, inv := range invs {
		v.Invoices = append(v.Invoices, invoiceRow(inv, nil))
	}
	if live, ok := s.liveSubscription(ctx, sub.ID); ok {
		v.Live = true
		v.Suspended, v.OpenInvoiceID = live.Suspended, live.OpenInvoiceID
		// The workflow's own rules: what it would refuse is not offered.
		v.CanSuspend = live.CanSuspend()
		v.CanUnsuspend = live.CanUnsuspend()
		v.CanRetry = live.CanRetryPayment()
		v.CanCancel = !live.Ended()
	}
	p := s.page(r, "Subscription #"+strconv.FormatInt(sub.ID, 10), v)
	p.Error = errMsg
	if p.Flash == "" {
		p.Flash = adminSubscriptionNotice(r.URL.Query().Get("done"))
	}
	s.render(w, r, status, "admin_subscription", p)
}

// liveSubscription asks the running workflow for its state; false when it does not run or answer.
func (s *server) liveSubscription(ctx context.Context, id int64) (workflows.SubscriptionState, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := s.Workflows.QueryWorkflow(ctx, workflows.SubscriptionID(id), "", workflows.QuerySubscriptionState)
	if err != nil {
		return workflows.SubscriptionState{}, false
	}
	var st workflows.SubscriptionState
	if v.Get(&st) != nil {
		return workflows.SubscriptionState{}, false
	}
	return st, true
}

func adminSubscriptionNotice(code string) string {
	switch code {
	case "suspend":
		return "Suspended. The service is suspended on its panel."
	case "unsuspend":
		return "Unsuspended."
	case "retry-payment":
		return "The payment attempt finished; the timeline shows its outcome."
	case "cancel":
		return "The cancellation is recorded."
	}
	return ""
}

// subscriptionActionPermission is the permission each staff action on a subscription needs.
func subscriptionActionPermission(r *http.Request) permission {
	switch chi.URLParam(r, "action") {
	case "suspend", "unsuspend":
		return permServicesOperate
	case "retry-payment":
		return permInvoicesManage
	}
	return permServicesManage // cancel, and anything unknown
}

// adminSubscriptionAction sends a staff action to subscription:<id> as an Update and shows the
// workflow's refusal when it has one.
func (s *server) adminSubscriptionAction(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.adminLoadSubscription(w, r)
	if !ok {
		return
	}
	action := chi.URLParam(r, "action")
	actor := "admin:" + strconv.FormatInt(currentUser(r).ID, 10)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if err := workflows.CheckText("the reason", reason); err != nil {
		s.renderAdminSubscription(w, r, sub, http.StatusBadRequest, "Nothing was changed: "+err.Error()+".")
		return
	}
	var name string
	var arg any
	var result any
	switch action {
	case "suspend":
		name, arg, result = workflows.UpdateSuspend, workflows.StaffAction{Actor: actor, Reason: reason}, &workflows.SubscriptionState{}
	case "unsuspend":
		name, arg, result = workflows.UpdateUnsuspend, workflows.StaffAction{Actor: actor, Reason: reason}, &workflows.SubscriptionState{}
	case "retry-payment":
		name, arg, result = workflows.UpdateRetryPayment, workflows.StaffAction{Actor: actor}, &workflows.PaymentOutcome{}
	case "cancel":
		if reason == "" {
			s.renderAdminSubscription(w, r, sub, http.StatusUnprocessableEntity, "Give a reason for cancelling.")
			return
		}
		name, arg, result = workflows.UpdateCancel, workflows.CancelRequest{AtPeriodEnd: r.PostFormValue("when") != "now", Reason: reason, Actor: actor}, &workflows.SubscriptionState{}
	default:
		s.notFound(w, r)
		return
	}
	if err := s.updateSubscription(r.Context(), sub.ID, name, arg, result); err != nil {
		s.renderAdminSubscription(w, r, sub, http.StatusConflict, updateMessage(err))
		return
	}
	details, _ := json.Marshal(map[string]any{"action": action, "reason": reason, "result": result})
	s.audit(r, "subscription."+action, "subscription:"+strconv.FormatInt(sub.ID, 10), details)
	http.Redirect(w, r, fmt.Sprintf("/admin/subscriptions/%d?done=%s", sub.ID, action), http.StatusSeeOther)
}

// adminRefundInvoice refunds all or part of an invoice's latest refundable payment through the
// gateway that took it (or records a manual refund for a manual payment). The form's nonce
// makes a double submission one refund.
func (s *server) adminRefundInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.adminLoadInvoice(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	nonce := r.PostFormValue("nonce")
	if len(nonce) < 8 || len(nonce) > 64 {
		s.renderAdminInvoice(w, r, inv, http.StatusBadRequest, "The refund form expired; open the invoice again.")
		return
	}
	amount := billing.Money{Currency: inv.Currency}
	if v := strings.TrimSpace(r.PostFormValue("amount")); v != "" {
		var err error
		amount, err = billing.ParseDecimal(v, inv.Currency)
		if err != nil || !amount.IsPositive() {
			s.renderAdminInvoice(w, r, inv, http.StatusUnprocessableEntity, fmt.Sprintf("%q is not an amount in %s.", v, inv.Currency))
			return
		}
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	res, err := s.Payments.Refund(ctx, payments.RefundRequest{InvoiceID: inv.ID, Amount: amount, Reason: reason, Key: nonce,
		By: "admin:" + strconv.FormatInt(currentUser(r).ID, 10), ToCredit: r.PostFormValue("to") == "credit"})
	switch {
	case errors.Is(err, payments.ErrNothingToRefund):
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, "Nothing is left to refund on this invoice.")
		return
	case errors.Is(err, billing.ErrRefundExceedsPaid):
		s.renderAdminInvoice(w, r, inv, http.StatusUnprocessableEntity, fmt.Sprintf("At most %s of this payment can be refunded.", res.Left))
		return
	case errors.Is(err, payments.ErrGatewayMissing):
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, fmt.Sprintf("The %s gateway is not configured here; refund it there and record it by hand.", res.Payment.Gateway))
		return
	case errors.Is(err, payments.ErrGatewayRefused):
		s.renderAdminInvoice(w, r, inv, http.StatusBadGateway, "The gateway refused the refund: "+err.Error())
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if !res.AlreadyRecorded {
		details, _ := json.Marshal(map[string]any{"payment_id": res.Payment.ID, "amount": res.Refund.Amount.String(),
			"refund": res.Refund.GatewayRefundID, "status": res.Refund.Status, "reason": reason})
		s.audit(r, "invoice.refund", invoiceTarget(inv.ID), details)
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/invoices/%d?done=refunded", inv.ID), http.StatusSeeOther)
}

// adminAddCredit grants a customer account credit; the form's nonce makes it idempotent.
func (s *server) adminAddCredit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	back := localPath(r.PostFormValue("back"), "/admin/invoices")
	currency := strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency")))
	amount, err := billing.ParseDecimal(strings.TrimSpace(r.PostFormValue("amount")), currency)
	nonce := r.PostFormValue("nonce")
	note := strings.TrimSpace(r.PostFormValue("note"))
	switch {
	case err != nil || !amount.IsPositive():
		http.Redirect(w, r, back+"?done=credit-invalid", http.StatusSeeOther)
		return
	case note == "" || len(nonce) < 8:
		http.Redirect(w, r, back+"?done=credit-note", http.StatusSeeOther)
		return
	}
	u, err := s.Store.UserByID(r.Context(), id)
	if err != nil || u.Staff() {
		s.notFound(w, r)
		return
	}
	entry, err := s.Payments.AddCredit(r.Context(), store.CreditChange{CustomerID: u.ID, Amount: amount, Note: note,
		CreatedBy: "admin:" + strconv.FormatInt(currentUser(r).ID, 10), IdempotencyKey: "admin-credit:" + nonce})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !entry.AlreadyRecorded {
		details, _ := json.Marshal(map[string]any{"amount": amount.String(), "note": note})
		s.audit(r, "customer.credit", "user:"+strconv.FormatInt(u.ID, 10), details)
	}
	http.Redirect(w, r, back+"?done=credited", http.StatusSeeOther)
}

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
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pricing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
	"github.com/ezscale/billing/workflows"
)

// The customer's subscriptions: list, detail with the next 12 invoices, plan change with a
// proration preview, and cancellation. Changes go to the subscription workflow as Updates; the
// workflow owns every state change.

// scheduleLength is how many future invoices the subscription page previews.
const scheduleLength = 12

// maxReasonLength bounds a cancellation reason.
const maxReasonLength = 500

var subscriptionBadges = map[billing.SubscriptionStatus]string{
	billing.SubscriptionActive: "success", billing.SubscriptionPending: "primary", billing.SubscriptionPastDue: "warning",
	billing.SubscriptionSuspended: "warning", billing.SubscriptionCancelled: "neutral", billing.SubscriptionTerminated: "danger",
}

// running reports whether a subscription is paid for and billed: its workflow renews it.
func running(sub store.Subscription) bool {
	switch sub.Status {
	case billing.SubscriptionActive, billing.SubscriptionPastDue, billing.SubscriptionSuspended:
		return true
	}
	return false
}

// ended reports whether a subscription is over.
func ended(sub store.Subscription) bool {
	return sub.Status == billing.SubscriptionCancelled || sub.Status == billing.SubscriptionTerminated
}

// renews reports whether another invoice will come.
func renews(sub store.Subscription) bool {
	return running(sub) && !sub.CancelAtPeriodEnd && sub.Cycle != billing.OneTime
}

// subscriptionRow is the row as Postgres knows it: the next invoice is the period end at the
// plan's price, before discounts and tax.
func subscriptionRow(sub store.Subscription) web.SubscriptionRow {
	row := web.SubscriptionRow{
		ID: sub.ID, Product: sub.ProductName, Status: sub.Status, Badge: subscriptionBadges[sub.Status],
		Cycle: cycleLabel(sub.Cycle), Price: money(sub.Price()), CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
	}
	if row.Badge == "" {
		row.Badge = "neutral"
	}
	if renews(sub) && sub.PeriodEnd.Valid {
		row.NextDue, row.NextAmount = sub.PeriodEnd.Time, money(sub.Price())
	}
	return row
}

// withLiveNextInvoices asks the running workflows for their next invoice, all at once and
// briefly; a workflow that does not answer in time keeps the Postgres figures.
func (s *server) withLiveNextInvoices(ctx context.Context, subs []store.Subscription, rows []web.SubscriptionRow) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, sub := range subs {
		if !running(sub) {
			continue
		}
		wg.Go(func() {
			v, err := s.Workflows.QueryWorkflow(ctx, workflows.SubscriptionID(sub.ID), "", workflows.QueryNextInvoice)
			if err != nil {
				return
			}
			var next workflows.NextInvoice
			if v.Get(&next) != nil {
				return
			}
			if next.Due.IsZero() && !next.None {
				return // not worked out yet: the Postgres figures stand
			}
			rows[i].Live = true
			if next.None {
				rows[i].NextDue, rows[i].NextAmount = time.Time{}, ""
				return
			}
			rows[i].NextDue, rows[i].NextAmount = next.Due, money(next.Total)
		})
	}
	wg.Wait()
}

// subscriptionWithNext is one subscription's row with its next invoice as its workflow prices it
// (discounts and tax included). The portal and the admin show this one figure.
func (s *server) subscriptionWithNext(ctx context.Context, sub store.Subscription) web.SubscriptionRow {
	row := []web.SubscriptionRow{subscriptionRow(sub)}
	s.withLiveNextInvoices(ctx, []store.Subscription{sub}, row)
	return row[0]
}

// subscriptionRows lists a customer's subscriptions with their next invoices.
func (s *server) subscriptionRows(ctx context.Context, customerID int64) ([]web.SubscriptionRow, error) {
	subs, err := s.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: customerID, Limit: 200})
	if err != nil {
		return nil, err
	}
	rows := make([]web.SubscriptionRow, len(subs))
	for i, sub := range subs {
		rows[i] = subscriptionRow(sub)
	}
	s.withLiveNextInvoices(ctx, subs, rows)
	return rows, nil
}

func (s *server) accountSubscriptions(w http.ResponseWriter, r *http.Request) {
	rows, err := s.subscriptionRows(r.Context(), currentUser(r).ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_subscriptions", s.page(r, "Subscriptions", web.AccountSubscriptions{Subscriptions: rows}))
}

// customerSubscription loads the path's subscription only when it belongs to the logged-in
// customer; anyone else's is a 404, so its existence stays private.
func (s *server) customerSubscription(w http.ResponseWriter, r *http.Request) (store.Subscription, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.Subscription{}, false
	}
	sub, err := s.Store.CustomerSubscription(r.Context(), currentUser(r).ID, id)
	if err != nil {
		s.fail(w, r, err)
		return store.Subscription{}, false
	}
	return sub, true
}

func (s *server) accountSubscription(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.customerSubscription(w, r)
	if !ok {
		return
	}
	p, err := s.subscriptionPage(r, sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Flash = subscriptionNotice(r.URL.Query().Get("done"))
	s.render(w, r, http.StatusOK, "account_subscription", p)
}

// subscriptionNotice is the one-line notice after a change (?done=code); only fixed texts.
func subscriptionNotice(code string) string {
	switch code {
	case "changed":
		return "Your plan has been changed."
	case "credited":
		return "Your plan has been changed; the unused part of the old plan was credited to your account."
	case "cancelled":
		return "Your subscription is cancelled."
	case "cancel-scheduled":
		return "Your subscription will end at the end of the current period."
	}
	return ""
}

// subscriptionPage is the detail page: figures, invoices, timeline, schedule and the forms.
func (s *server) subscriptionPage(r *http.Request, sub store.Subscription) (web.Page, error) {
	ctx := r.Context()
	v := web.AccountSubscription{Subscription: s.subscriptionWithNext(ctx, sub), CancelReason: sub.CancelReason, ServiceStatus: billing.ServiceStatus(sub.ServiceStatus.String),
		AlreadyCancelsAtPeriodEnd: sub.CancelAtPeriodEnd && running(sub)}
	if sub.PeriodStart.Valid && sub.PeriodEnd.Valid {
		v.PeriodStart, v.PeriodEnd = sub.PeriodStart.Time, sub.PeriodEnd.Time
	}
	if sub.ServiceID.Valid {
		v.ServiceID = sub.ServiceID.Int64
	}
	invs, err := s.Store.SubscriptionInvoices(ctx, sub.ID)
	if err != nil {
		return web.Page{}, err
	}
	for _, inv := range invs {
		v.Invoices = append(v.Invoices, invoiceRow(inv, nil))
	}
	events, err := s.Store.SubscriptionEvents(ctx, sub.ID)
	if err != nil {
		return web.Page{}, err
	}
	for _, e := range events {
		v.Timeline = append(v.Timeline, web.EventRow{At: e.At, Kind: e.Kind, Message: e.Message})
	}
	switch {
	case ended(sub):
		v.ScheduleNote = "This subscription has ended; no more invoices will be issued."
	case sub.Cycle == billing.OneTime:
		v.ScheduleNote = "This is a one-time purchase; it does not renew."
	case sub.CancelAtPeriodEnd:
		v.ScheduleNote = "This subscription ends at the end of the current period; no more invoices will be issued."
	case !sub.PeriodEnd.Valid:
		v.ScheduleNote = "The schedule starts once the first invoice is paid."
	default:
		sched, err := s.Pricer.Schedule(ctx, sub, sub.PeriodEnd.Time, scheduleLength, time.Now())
		if err != nil {
			s.Log.Error("invoice schedule", "subscription", sub.ID, "err", err)
			v.ScheduleNote = "The upcoming invoices cannot be shown right now."
		}
		for _, si := range sched {
			v.Schedule = append(v.Schedule, web.ScheduleRow{Due: si.Due, PeriodEnd: si.PeriodEnd, Total: money(si.Quote.Total())})
		}
	}
	if v.ChangeTo, v.ChangeNote, err = s.changeOptions(ctx, sub); err != nil {
		return web.Page{}, err
	}
	v.CanChange = len(v.ChangeTo) > 0
	v.CanCancel = !ended(sub)
	if !v.CanCancel {
		v.CancelNote = "This subscription has already ended."
	}
	p := s.page(r, sub.ProductName, v)
	p.Form["when"] = "period_end"
	return p, nil
}

// changeOptions are the products the subscription can move to: the same type, orderable, with
// a price in its cycle and currency. The note says why there are none.
func (s *server) changeOptions(ctx context.Context, sub store.Subscription) ([]web.Option, string, error) {
	switch {
	case sub.Status != billing.SubscriptionActive:
		return nil, "The plan can be changed while the subscription is active and paid up.", nil
	case sub.CancelAtPeriodEnd:
		return nil, "The plan cannot be changed while the subscription is set to end.", nil
	case !sub.PeriodStart.Valid || !sub.PeriodEnd.Valid || sub.Cycle == billing.OneTime:
		return nil, "This subscription has no billing period to change within.", nil
	}
	products, err := s.Store.CatalogProducts(ctx)
	if err != nil {
		return nil, "", err
	}
	prices, err := s.Store.CatalogPrices(ctx)
	if err != nil {
		return nil, "", err
	}
	var out []web.Option
	for _, p := range products {
		if p.ID == sub.ProductID || p.Type != sub.ProductType || !orderable(p, prices[p.ID]) {
			continue
		}
		i := slices.IndexFunc(prices[p.ID], func(pr store.Price) bool { return pr.Cycle == string(sub.Cycle) && pr.Currency == sub.Currency })
		if i < 0 {
			continue
		}
		pr := prices[p.ID][i]
		out = append(out, web.Option{Value: strconv.FormatInt(p.ID, 10),
			Label: fmt.Sprintf("%s · %s %s", p.Name, priceMoney(pr.Amount, pr.Currency), strings.ToLower(cycleLabel(sub.Cycle)))})
	}
	if len(out) == 0 {
		return nil, "There is no other plan of this kind to change to.", nil
	}
	return out, "", nil
}

// refuseOnSubscription shows the subscription page again with a message and the cancel form's values.
func (s *server) refuseOnSubscription(w http.ResponseWriter, r *http.Request, sub store.Subscription, status int, msg string, form, errs map[string]string) {
	p, err := s.subscriptionPage(r, sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Error = msg
	for k, v := range form {
		p.Form[k] = v
	}
	for k, v := range errs {
		p.Errors[k] = v
	}
	s.render(w, r, status, "account_subscription", p)
}

// chosenProduct reads the product to change to and checks it is one of the offered plans.
func (s *server) chosenProduct(ctx context.Context, sub store.Subscription, value string) (int64, string, error) {
	opts, note, err := s.changeOptions(ctx, sub)
	if err != nil {
		return 0, "", err
	}
	if len(opts) == 0 {
		return 0, note, nil
	}
	if !slices.ContainsFunc(opts, func(o web.Option) bool { return o.Value == value }) {
		return 0, "Choose one of the plans listed.", nil
	}
	id, _ := strconv.ParseInt(value, 10, 64)
	return id, "", nil
}

// planChangePreview shows what changing plan now costs or credits, with the confirm form.
func (s *server) planChangePreview(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.customerSubscription(w, r)
	if !ok {
		return
	}
	productID, problem, err := s.chosenProduct(r.Context(), sub, r.URL.Query().Get("product"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if problem != "" {
		s.refuseOnSubscription(w, r, sub, http.StatusUnprocessableEntity, problem, nil, map[string]string{"product": problem})
		return
	}
	now := time.Now()
	ch, err := s.Pricer.PlanChange(r.Context(), sub, productID, now)
	if errors.Is(err, pricing.ErrNoPrice) || errors.Is(err, pricing.ErrNotOrderable) || errors.Is(err, billing.ErrChangeOutsidePeriod) {
		s.refuseOnSubscription(w, r, sub, http.StatusConflict, "This plan change cannot be priced right now. Please contact support.", nil, nil)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	row := []web.SubscriptionRow{subscriptionRow(sub)}
	pr := ch.Proration
	v := web.PlanChangePreview{
		Subscription: row[0], From: sub.ProductName, To: ch.Product.Name, ToProductID: ch.Product.ID,
		OldPrice: money(sub.Price()), NewPrice: money(ch.NewPrice), ChangeAt: now,
		PeriodStart: sub.PeriodStart.Time, PeriodEnd: sub.PeriodEnd.Time, TotalDays: pr.TotalDays, RemainingDays: pr.RemainingDays,
		Credit: money(pr.Credit), Charge: money(pr.Charge), Net: money(pr.Net),
	}
	if pr.Net.IsPositive() {
		v.Lines, v.Totals = quoteLines(ch.Quote.Invoice)
		v.Total = money(ch.Quote.Total())
	} else if pr.Net.IsNegative() {
		v.Credited = money(ch.CreditTotal) // tax included
	}
	s.render(w, r, http.StatusOK, "account_plan_change", s.page(r, "Change plan", v))
}

// changePlan asks the subscription workflow to change plan and waits for the outcome.
func (s *server) changePlan(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.customerSubscription(w, r)
	if !ok {
		return
	}
	productID, problem, err := s.chosenProduct(r.Context(), sub, r.PostFormValue("product"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if problem != "" {
		s.refuseOnSubscription(w, r, sub, http.StatusUnprocessableEntity, problem, nil, map[string]string{"product": problem})
		return
	}
	var res workflows.PlanChangeResult
	err = s.updateSubscription(r.Context(), sub.ID, workflows.UpdateChangePlan,
		workflows.PlanChangeRequest{ProductID: productID, Actor: "customer:" + strconv.FormatInt(sub.CustomerID, 10)}, &res)
	if err != nil {
		s.Log.Warn("change plan", "subscription", sub.ID, "product", productID, "err", err)
		s.refuseOnSubscription(w, r, sub, http.StatusConflict, "Your plan was not changed. "+updateMessage(err), nil, nil)
		return
	}
	details, _ := json.Marshal(map[string]any{"product": productID, "net": money(res.Net)})
	s.audit(r, "subscription.change_plan", "subscription:"+strconv.FormatInt(sub.ID, 10), details)
	switch {
	case res.InvoiceID > 0 && res.Net.IsPositive():
		http.Redirect(w, r, fmt.Sprintf("/account/invoices/%d", res.InvoiceID), http.StatusSeeOther)
	case res.Net.IsNegative():
		http.Redirect(w, r, fmt.Sprintf("/account/subscriptions/%d?done=credited", sub.ID), http.StatusSeeOther)
	default:
		http.Redirect(w, r, fmt.Sprintf("/account/subscriptions/%d?done=changed", sub.ID), http.StatusSeeOther)
	}
}

// cancelSubscription asks the workflow to cancel now or at the period end, with the reason.
func (s *server) cancelSubscription(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.customerSubscription(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	when := r.PostFormValue("when")
	if err := workflows.CheckText("the reason", reason); err != nil { // no form sends this: refuse, change nothing
		s.refuseOnSubscription(w, r, sub, http.StatusBadRequest, "Your subscription was not cancelled: "+err.Error()+".",
			map[string]string{"when": when}, map[string]string{"reason": "Remove the control characters (such as a NUL byte) from the reason."})
		return
	}
	form, errs := map[string]string{"reason": reason, "when": when}, map[string]string{}
	switch {
	case reason == "":
		errs["reason"] = "Tell us why you are cancelling."
	case len(reason) > maxReasonLength:
		errs["reason"] = "Use up to 500 characters."
	}
	if when != "period_end" && when != "now" {
		errs["when"] = "Choose when the subscription should end."
	}
	if ended(sub) {
		s.refuseOnSubscription(w, r, sub, http.StatusConflict, "This subscription has already ended.", form, nil)
		return
	}
	if len(errs) > 0 {
		s.refuseOnSubscription(w, r, sub, http.StatusUnprocessableEntity, "Your subscription was not cancelled. Please correct the highlighted fields.", form, errs)
		return
	}
	var state workflows.SubscriptionState
	err := s.updateSubscription(r.Context(), sub.ID, workflows.UpdateCancel,
		workflows.CancelRequest{AtPeriodEnd: when == "period_end", Reason: reason, Actor: "customer:" + strconv.FormatInt(sub.CustomerID, 10)}, &state)
	if err != nil {
		s.Log.Warn("cancel subscription", "subscription", sub.ID, "err", err)
		s.refuseOnSubscription(w, r, sub, http.StatusConflict, "Your subscription was not cancelled. "+updateMessage(err), form, nil)
		return
	}
	details, _ := json.Marshal(map[string]any{"when": when, "reason": reason})
	s.audit(r, "subscription.cancel", "subscription:"+strconv.FormatInt(sub.ID, 10), details)
	done := "cancelled"
	if when == "period_end" {
		done = "cancel-scheduled"
	}
	http.Redirect(w, r, fmt.Sprintf("/account/subscriptions/%d?done=%s", sub.ID, done), http.StatusSeeOther)
}

// updateSubscription sends an Update to subscription:<id> and waits until it completed; a
// validator's refusal or the handler's failure is the error.
func (s *server) updateSubscription(ctx context.Context, id int64, name string, arg, result any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := s.Workflows.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.SubscriptionID(id), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, result)
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", name, workflows.SubscriptionID(id), err)
	}
	return nil
}

// updateMessage is what the customer reads when an Update is refused or fails: the workflow's
// own message for a refusal (its validators word them for customers), else a general one.
func updateMessage(err error) string {
	var app *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &app) && app.Message() != "":
		return sentence(app.Message())
	case errors.As(err, &nf):
		return "This subscription is not being billed right now; please contact support."
	case errors.Is(err, context.DeadlineExceeded):
		return "The billing system did not answer in time. Please check the subscription in a minute before trying again."
	}
	return "The billing system could not be reached. Please try again in a minute."
}

// sentence capitalises a message and ends it with a full stop.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

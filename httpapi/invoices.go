package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/payments"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/pdf"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// invoiceStatuses are the statuses the admin list can be filtered by.
var invoiceStatuses = billing.AllInvoiceStatuses()

func invoiceTarget(id int64) string { return "invoice:" + strconv.FormatInt(id, 10) }

// invoiceBadge is the badge variant an invoice status is shown with.
func invoiceBadge(st billing.Status) string {
	switch st {
	case billing.StatusPaid:
		return "success"
	case billing.StatusUnpaid:
		return "warning"
	case billing.StatusRefunded, billing.StatusPartiallyRefunded:
		return "danger"
	}
	return "neutral"
}

// money formats an amount; a zero Money with no currency (a figure never set) is blank.
func money(m billing.Money) string {
	if m.Currency == "" {
		return ""
	}
	return m.String()
}

func invoiceRow(inv store.Invoice, customer *store.User) web.InvoiceRow {
	row := web.InvoiceRow{
		ID: inv.ID, Number: inv.Number, CustomerID: inv.CustomerID, Status: inv.Status, Badge: invoiceBadge(inv.Status),
		DueAt: inv.DueAt, Total: money(inv.Totals.Total), Due: money(inv.Totals.Due),
	}
	if inv.IssuedAt.Valid {
		row.IssuedAt = inv.IssuedAt.Time
	}
	if customer != nil {
		row.Customer, row.CustomerEmail = customer.Name, customer.Email
	}
	return row
}

// invoiceLines are the lines table and the figures under it.
func invoiceLines(inv store.Invoice) ([]web.InvoiceLineRow, []web.InvoiceTotalRow) {
	var lines []web.InvoiceLineRow
	for _, l := range inv.Lines {
		lines = append(lines, web.InvoiceLineRow{Kind: string(l.Kind), Description: l.Description, Amount: money(l.Amount)})
	}
	t := inv.Totals
	totals := []web.InvoiceTotalRow{{Label: "Subtotal", Amount: money(t.Subtotal)}}
	if !t.Discount.IsZero() {
		totals = append(totals, web.InvoiceTotalRow{Label: "Discount", Amount: money(t.Discount)})
	}
	totals = append(totals, web.InvoiceTotalRow{Label: "Tax", Amount: money(t.Tax)})
	if !t.Credit.IsZero() {
		totals = append(totals, web.InvoiceTotalRow{Label: "Credit applied", Amount: money(t.Credit)})
	}
	totals = append(totals, web.InvoiceTotalRow{Label: "Total", Amount: money(t.Total), Strong: true})
	if !t.Paid.IsZero() {
		totals = append(totals, web.InvoiceTotalRow{Label: "Paid", Amount: money(t.Paid)})
	}
	if !t.Refunded.IsZero() {
		totals = append(totals, web.InvoiceTotalRow{Label: "Refunded", Amount: money(t.Refunded)})
	}
	totals = append(totals, web.InvoiceTotalRow{Label: "Amount due", Amount: money(t.Due), Strong: true})
	return lines, totals
}

// invoiceDone is the one-line notice a redirect after an admin action asks for (?done=code).
func invoiceDone(code string) string {
	switch code {
	case "paid":
		return "The invoice is marked paid."
	case "already-paid":
		return "The invoice was already paid; nothing changed."
	case "cancelled":
		return "The invoice is cancelled."
	case "refunded":
		return "The refund is recorded."
	case "credited":
		return "The credit was added to the customer's account."
	case "credit-invalid":
		return "The credit was not added: enter a positive amount."
	case "credit-note":
		return "The credit was not added: say why in the note."
	}
	return ""
}

// customerInvoice loads the path's invoice only when it belongs to the logged-in customer.
func (s *server) customerInvoice(w http.ResponseWriter, r *http.Request) (store.Invoice, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.Invoice{}, false
	}
	inv, err := s.Store.CustomerInvoice(r.Context(), currentUser(r).ID, id)
	if err != nil {
		s.fail(w, r, err) // someone else's invoice is a 404, never a 403
		return store.Invoice{}, false
	}
	return inv, true
}

func (s *server) accountInvoices(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Invoices(r.Context(), store.InvoiceFilter{CustomerID: currentUser(r).ID, Limit: 500})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v web.AccountInvoices
	for _, inv := range list {
		v.Invoices = append(v.Invoices, invoiceRow(inv, nil))
	}
	s.render(w, r, http.StatusOK, "account_invoices", s.page(r, "Invoices", v))
}

func (s *server) accountInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.customerInvoice(w, r)
	if !ok {
		return
	}
	var notice string
	if q := r.URL.Query(); q.Get("checkout") == "done" {
		inv, notice = s.afterCheckout(r, inv, q.Get("from"), q.Get("token"))
	}
	lines, totals := invoiceLines(inv)
	notes, err := s.invoiceCreditNotes(r, inv.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AccountInvoice{Invoice: invoiceRow(inv, nil), Lines: lines, Totals: totals, Notes: inv.Notes, CreditNotes: notes}
	p := s.page(r, "Invoice "+inv.Number, v)
	if notice != "" {
		p.Flash = notice
	}
	s.render(w, r, http.StatusOK, "account_invoice", p)
}

// capturer is a gateway whose hosted page only approves a payment, which we then capture
// (PayPal orders).
type capturer interface {
	Capture(ctx context.Context, orderID, idempotencyKey string) (gateways.Charge, error)
}

// afterCheckout runs when the customer comes back from a gateway's hosted page. Gateways that
// capture on their side (the sandbox, Stripe) report the payment by webhook; for a capturing
// gateway (PayPal) the approved order is captured here, once (the idempotency key is the order
// id), and recorded if the gateway says it pays this very invoice, in its exact amount due.
func (s *server) afterCheckout(r *http.Request, inv store.Invoice, from, token string) (store.Invoice, string) {
	const pending = "Thank you: the payment is being confirmed and this page will show it shortly."
	if inv.Paid() {
		return inv, "Thank you: the invoice is paid."
	}
	g, err := s.Gateways.Get(from)
	c, ok := g.(capturer)
	if err != nil || !ok || token == "" {
		return inv, pending
	}
	ctx := r.Context()
	ch, err := c.Capture(ctx, token, "capture:"+token)
	if err != nil {
		s.Log.Warn("capture after checkout failed", "invoice", inv.ID, "gateway", from, "err", err)
		return inv, "The payment was not completed: " + err.Error() + ". You can try again."
	}
	if ch.InvoiceID != inv.ID || ch.Status != gateways.ChargeSucceeded {
		s.Log.Warn("captured payment does not pay this invoice", "invoice", inv.ID, "charge_invoice", ch.InvoiceID, "status", ch.Status)
		return inv, pending // the webhook records it against the invoice it names
	}
	res, err := s.Payments.Record(ctx, payments.Payment{InvoiceID: inv.ID, Gateway: g.Name(), Ref: ch.Ref,
		Amount: ch.Amount, By: "checkout:" + token, Exact: true, CheckoutRef: token, EventID: "checkout:" + token})
	if err != nil || res.Review != "" {
		s.Log.Warn("captured payment not recorded", "invoice", inv.ID, "review", res.Review, "err", err)
		return inv, pending
	}
	if fresh, err := s.Store.Invoice(ctx, inv.ID); err == nil {
		inv = fresh
	}
	return inv, "Thank you: the invoice is paid."
}

func (s *server) accountInvoicePDF(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.customerInvoice(w, r)
	if !ok {
		return
	}
	s.writeInvoicePDF(w, r, inv)
}

// writeInvoicePDF answers with the invoice rendered as a PDF attachment named after its number.
func (s *server) writeInvoicePDF(w http.ResponseWriter, r *http.Request, inv store.Invoice) {
	out, err := pdf.ForInvoice(r.Context(), s.Store, inv, s.Settings.Seller)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", inv.Number+".pdf"))
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (s *server) adminInvoices(w http.ResponseWriter, r *http.Request) {
	filter := billing.Status(r.URL.Query().Get("status"))
	v := web.AdminInvoices{}
	known := false
	for _, st := range invoiceStatuses {
		v.Statuses = append(v.Statuses, st)
		known = known || st == filter
	}
	if !known {
		filter = ""
	}
	v.Filter = filter
	p := s.page(r, "Invoices", nil)
	search := store.InvoiceSearch{Status: filter, Query: strings.TrimSpace(r.URL.Query().Get("q")), Overdue: r.URL.Query().Get("overdue") == "on", Limit: 500}
	if search.Query != "" {
		p.Form["q"] = search.Query
	}
	if search.Overdue {
		p.Form["overdue"] = "on"
	}
	v.FilterQuery = listQuery(r, []string{"q", "overdue"})
	list, err := s.Store.SearchInvoices(r.Context(), search)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	customers := map[int64]*store.User{}
	for _, inv := range list {
		c, seen := customers[inv.CustomerID]
		if !seen {
			if u, err := s.Store.UserByID(r.Context(), inv.CustomerID); err == nil {
				c = &u
			} else if !errors.Is(err, store.ErrNotFound) {
				s.fail(w, r, err)
				return
			}
			customers[inv.CustomerID] = c
		}
		v.Invoices = append(v.Invoices, invoiceRow(inv, c))
	}
	p.Data = v
	s.render(w, r, http.StatusOK, "admin_invoices", p)
}

// adminLoadInvoice loads the path's invoice for the admin pages.
func (s *server) adminLoadInvoice(w http.ResponseWriter, r *http.Request) (store.Invoice, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.Invoice{}, false
	}
	inv, err := s.Store.Invoice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return store.Invoice{}, false
	}
	return inv, true
}

func (s *server) adminInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.adminLoadInvoice(w, r)
	if !ok {
		return
	}
	s.renderAdminInvoice(w, r, inv, http.StatusOK, "")
}

func (s *server) renderAdminInvoice(w http.ResponseWriter, r *http.Request, inv store.Invoice, status int, errMsg string) {
	var customer *store.User
	if u, err := s.Store.UserByID(r.Context(), inv.CustomerID); err == nil {
		customer = &u
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	lines, totals := invoiceLines(inv)
	v := web.AdminInvoice{
		Invoice: invoiceRow(inv, customer), Lines: lines, Totals: totals, Notes: inv.Notes,
		CanPay:    inv.Status != billing.StatusDraft && inv.Status != billing.StatusCancelled && inv.Totals.Due.IsPositive(),
		CanCancel: (inv.Status == billing.StatusDraft || inv.Status == billing.StatusUnpaid) && inv.Totals.Paid.IsZero(),
	}
	v.Currency, v.Nonce, v.SubscriptionID = inv.Currency, rand.Text(), inv.SubscriptionID.Int64
	pays, err := s.Store.InvoicePayments(r.Context(), inv.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refunds, err := s.Store.InvoiceRefunds(r.Context(), inv.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, pay := range pays {
		row := web.PaymentRow{Gateway: pay.Gateway, Ref: pay.GatewayTxnID, Amount: money(pay.Amount), At: pay.CreatedAt}
		var back int64
		for _, rf := range refunds {
			if rf.PaymentID == pay.ID && rf.Counts() {
				back += rf.Amount.Amount
			}
		}
		if back > 0 {
			row.Refunded = money(billing.Money{Amount: back, Currency: pay.Amount.Currency})
		}
		v.Payments = append(v.Payments, row)
	}
	if _, left, ok := payments.RefundablePayment(pays, refunds); ok {
		v.RefundLeft = left.Decimal()
	}
	if v.Alerts, err = s.moneyAlerts(r.Context(), inv.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if hasPermission(currentUser(r).Role, permCreditNotesView) {
		if v.CreditNotes, err = s.invoiceCreditNotes(r, inv.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	p := s.page(r, "Invoice "+inv.Number, v)
	p.Error = errMsg
	if p.Flash == "" {
		p.Flash = invoiceDone(r.URL.Query().Get("done"))
	}
	s.render(w, r, status, "admin_invoice", p)
}

func (s *server) adminInvoicePDF(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.adminLoadInvoice(w, r)
	if !ok {
		return
	}
	s.writeInvoicePDF(w, r, inv)
}

// adminMarkInvoicePaid records a manual payment of the amount due. The payment's transaction
// id is fixed per invoice, so submitting the form twice (or two admins at once) records one
// payment.
func (s *server) adminMarkInvoicePaid(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.adminLoadInvoice(w, r)
	if !ok {
		return
	}
	switch {
	case inv.Status == billing.StatusCancelled:
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, "A cancelled invoice cannot be paid.")
		return
	case inv.Status == billing.StatusDraft:
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, "A draft invoice cannot be paid; issue it first.")
		return
	case !inv.Totals.Due.IsPositive():
		http.Redirect(w, r, fmt.Sprintf("/admin/invoices/%d?done=already-paid", inv.ID), http.StatusSeeOther)
		return
	}
	res, err := s.Payments.Record(r.Context(), payments.Payment{
		InvoiceID: inv.ID, Gateway: "manual", Ref: "manual-" + strconv.FormatInt(inv.ID, 10),
		Amount: inv.Totals.Due, By: "admin:" + strconv.FormatInt(currentUser(r).ID, 10), Manual: true,
	})
	switch {
	case errors.Is(err, store.ErrChargeInFlight):
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, "The saved card is being charged for this invoice right now; wait a minute and look again.")
		return
	case errors.Is(err, store.ErrInvoiceState), errors.Is(err, store.ErrConflict), errors.Is(err, billing.ErrCurrencyMismatch):
		if fresh, lerr := s.Store.Invoice(r.Context(), inv.ID); lerr == nil {
			inv = fresh
		}
		s.renderAdminInvoice(w, r, inv, http.StatusConflict, "This invoice cannot be marked paid in its current state.")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	done := "paid"
	if res.AlreadyRecorded {
		done = "already-paid"
	} else {
		details, _ := json.Marshal(map[string]any{"payment_id": res.Payment.ID, "amount": res.Payment.Amount.String(), "status": res.Status})
		s.audit(r, "invoice.mark_paid", invoiceTarget(inv.ID), details)
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/invoices/%d?done=%s", inv.ID, done), http.StatusSeeOther)
}

// adminCancelInvoice withdraws a draft or unpaid invoice; a paid one is refused with 409.
func (s *server) adminCancelInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.adminLoadInvoice(w, r)
	if !ok {
		return
	}
	if err := s.Payments.CancelInvoice(r.Context(), inv.ID); err != nil {
		if errors.Is(err, store.ErrInvoiceState) {
			s.renderAdminInvoice(w, r, inv, http.StatusConflict, "A paid or refunded invoice cannot be cancelled; refund it instead.")
			return
		}
		s.fail(w, r, err)
		return
	}
	if inv.Status != billing.StatusCancelled {
		s.audit(r, "invoice.cancel", invoiceTarget(inv.ID), nil)
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/invoices/%d?done=cancelled", inv.ID), http.StatusSeeOther)
}

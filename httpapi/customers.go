package httpapi

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

// customersPageSize is how many customers one page of the list shows.
const customersPageSize = 50

// customerTimelineCap is the most entries the customer page's unified timeline shows; each
// source contributes its newest entries up to it.
const customerTimelineCap = 100

// productTypes are the catalog's product types, for filters.
var productTypes = []web.Option{
	{Value: "vps", Label: "VPS"}, {Value: "dedicated", Label: "Dedicated"},
	{Value: "web_hosting", Label: "Web hosting"}, {Value: "game_server", Label: "Game server"},
}

// panelTypeChoices are the control panel types, for the services filter.
var panelTypeChoices = []web.Option{
	{Value: "virtfusion", Label: "VirtFusion"}, {Value: "pterodactyl", Label: "Pterodactyl"},
	{Value: "synergycp", Label: "SynergyCP"}, {Value: "enhance", Label: "Enhance"},
}

func knownProductType(t string) bool {
	return slices.ContainsFunc(productTypes, func(o web.Option) bool { return o.Value == t })
}

// adminCustomers is the customer list: search, filters, sorting and offset pagination.
func (s *server) adminCustomers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := s.page(r, "Customers", nil)
	f := store.CustomerFilter{Search: strings.TrimSpace(q.Get("q")), Overdue: q.Get("overdue") == "on", Limit: customersPageSize}
	if v := q.Get("status"); v == store.CustomerActive || v == store.CustomerClosed {
		f.Status = v
	}
	if v := q.Get("type"); knownProductType(v) {
		f.ProductType = v
	}
	if v := q.Get("sort"); slices.Contains(store.CustomerSorts(), v) {
		f.Sort = v
	}
	pageNo, _ := strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	f.Offset = (pageNo - 1) * customersPageSize
	kept := url.Values{}
	for k, v := range map[string]string{"q": f.Search, "status": f.Status, "type": f.ProductType, "sort": f.Sort} {
		if v != "" {
			kept.Set(k, v)
			p.Form[k] = v
		}
	}
	if f.Overdue {
		kept.Set("overdue", "on")
		p.Form["overdue"] = "on"
	}
	ctx := r.Context()
	list, err := s.Store.SearchCustomers(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts, err := s.Store.CountCustomers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminCustomers{Total: list.Total, All: counts.Active + counts.Closed, Active: counts.Active, Closed: counts.Closed, ProductTypes: productTypes,
		Sorts:      []web.Option{{Value: "name", Label: "Name"}, {Value: "email", Label: "Email"}, {Value: "created", Label: "Newest first"}},
		Filtered:   f.Search != "" || f.Status != "" || f.Overdue || f.ProductType != "",
		StatusURLs: map[string]string{}}
	for _, c := range list.Customers {
		v.Customers = append(v.Customers, customerRow(c))
	}
	if len(v.Customers) > 0 {
		v.From, v.To = f.Offset+1, f.Offset+len(v.Customers)
	}
	link := func(page int) string {
		l := url.Values{}
		for k, vs := range kept {
			l[k] = vs
		}
		if page > 1 {
			l.Set("page", strconv.Itoa(page))
		}
		if len(l) == 0 {
			return "/admin/customers"
		}
		return "/admin/customers?" + l.Encode()
	}
	if pageNo > 1 {
		v.PrevURL = link(pageNo - 1)
	}
	if f.Offset+len(v.Customers) < list.Total {
		v.NextURL = link(pageNo + 1)
	}
	for _, st := range []string{"", store.CustomerActive, store.CustomerClosed} {
		l := url.Values{}
		for k, vs := range kept {
			l[k] = vs
		}
		l.Del("status")
		if st != "" {
			l.Set("status", st)
		}
		v.StatusURLs[st] = "/admin/customers"
		if len(l) > 0 {
			v.StatusURLs[st] += "?" + l.Encode()
		}
	}
	p.Data = v
	s.render(w, r, http.StatusOK, "admin_customers", p)
}

func customerRow(c store.CustomerSummary) web.CustomerRow {
	row := web.CustomerRow{ID: c.ID, Name: c.Name, Email: c.Email, Company: c.Company, Country: c.Country,
		CreatedAt: c.CreatedAt, Closed: c.ClosedAt.Valid, Services: c.Services, Overdue: c.Overdue}
	var spend []string
	for _, m := range c.MonthlySpend {
		spend = append(spend, m.String()+"/mo")
	}
	row.MonthlySpend = strings.Join(spend, ", ")
	return row
}

// adminCustomer is the customer page: profile, everything the customer has, notes, history and
// the actions staff may take.
func (s *server) adminCustomer(w http.ResponseWriter, r *http.Request) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return
	}
	p := s.page(r, u.Name, nil)
	if err := s.fillProfileForm(r.Context(), u, p.Form); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAdminCustomer(w, r, u, http.StatusOK, p)
}

// adminLoadCustomer loads the path's customer; staff accounts and unknown ids are 404.
func (s *server) adminLoadCustomer(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return store.User{}, false
	}
	u, err := s.Store.Customer(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return store.User{}, false
	}
	return u, true
}

// fillProfileForm puts the customer's stored profile into the edit form's values.
func (s *server) fillProfileForm(ctx context.Context, u store.User, form map[string]string) error {
	prof, err := s.Store.ProfileByUser(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	bp, err := s.Store.BillingProfileOf(ctx, u.ID)
	if err != nil {
		return err
	}
	for k, v := range profileForm(u.Name, prof) {
		form[k] = v
	}
	form["email"], form["vat_id"] = u.Email, bp.VATID
	if bp.TaxExempt {
		form["tax_exempt"] = "on"
	}
	if bp.DunningSuspendDays.Valid {
		form["dunning_suspend_days"] = strconv.FormatInt(bp.DunningSuspendDays.Int64, 10)
	}
	if bp.DunningTerminateDays.Valid {
		form["dunning_terminate_days"] = strconv.FormatInt(bp.DunningTerminateDays.Int64, 10)
	}
	return nil
}

// renderAdminCustomer loads every section of the customer page and renders it with p (whose
// Form holds the profile form's values).
func (s *server) renderAdminCustomer(w http.ResponseWriter, r *http.Request, u store.User, status int, p web.Page) {
	v, err := s.customerView(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.EditOpen = len(p.Errors) > 0
	p.Data = v
	if p.Flash == "" {
		p.Flash = customerDone(r.URL.Query().Get("done"))
	}
	if p.Flash == "" {
		p.Flash = invoiceDone(r.URL.Query().Get("done")) // the credit form's outcomes
	}
	s.render(w, r, status, "admin_customer", p)
}

func (s *server) customerView(ctx context.Context, u store.User) (web.AdminCustomer, error) {
	v := web.AdminCustomer{Customer: web.CustomerRow{ID: u.ID, Name: u.Name, Email: u.Email, CreatedAt: u.CreatedAt, Closed: u.Closed()},
		Verified: u.Verified(), Nonce: rand.Text(), Currencies: []string{"USD", "EUR", "GBP"}}
	if u.Closed() {
		v.ClosedAt = u.ClosedAt.Time
	}
	prof, err := s.Store.ProfileByUser(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	v.Customer.Company, v.Customer.Country, v.Phone = prof.Company, prof.Country, prof.Phone
	for _, line := range []string{prof.Address1, prof.Address2, strings.TrimSpace(strings.Join([]string{prof.Postcode, prof.City}, " ")), prof.State, prof.Country} {
		if strings.TrimSpace(line) != "" {
			v.Address = append(v.Address, line)
		}
	}
	bp, err := s.Store.BillingProfileOf(ctx, u.ID)
	if err != nil {
		return v, err
	}
	v.TaxExempt, v.VATID = bp.TaxExempt, bp.VATID
	if bp.DunningSuspendDays.Valid {
		v.DunningSuspend = strconv.FormatInt(bp.DunningSuspendDays.Int64, 10)
	}
	if bp.DunningTerminateDays.Valid {
		v.DunningTerminate = strconv.FormatInt(bp.DunningTerminateDays.Int64, 10)
	}

	svcs, err := s.Store.CustomerServices(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, svc := range svcs {
		v.Services = append(v.Services, web.CustomerServiceRow{ServiceRow: serviceRow(svc), Archived: svc.ArchivedAt.Valid})
		if !svc.ArchivedAt.Valid && svc.Status != billing.ServiceTerminated && svc.Status != billing.ServiceAbandoned {
			v.Customer.Services++
		}
	}
	subs, err := s.Store.Subscriptions(ctx, store.SubscriptionFilter{CustomerID: u.ID, Limit: 200})
	if err != nil {
		return v, err
	}
	var spend []billing.Money
	for _, sub := range subs {
		v.Subscriptions = append(v.Subscriptions, subscriptionRow(sub))
		switch sub.Status {
		case billing.SubscriptionActive, billing.SubscriptionPastDue:
			spend = addMoney(spend, sub.Cycle.MonthlyEquivalent(sub.Price()))
			fallthrough
		case billing.SubscriptionPending, billing.SubscriptionSuspended:
			v.ActiveSubscriptions++
		}
	}
	for _, m := range spend {
		v.Customer.MonthlySpend = strings.TrimPrefix(v.Customer.MonthlySpend+", "+m.String()+"/mo", ", ")
	}
	invs, err := s.Store.Invoices(ctx, store.InvoiceFilter{CustomerID: u.ID, Limit: 100})
	if err != nil {
		return v, err
	}
	now := time.Now()
	for _, inv := range invs {
		v.Invoices = append(v.Invoices, invoiceRow(inv, nil))
		if inv.Status == billing.StatusUnpaid && inv.DueAt.Before(now) {
			v.Customer.Overdue = true
		}
	}
	pays, err := s.Store.CustomerPayments(ctx, u.ID, 100)
	if err != nil {
		return v, err
	}
	for _, pay := range pays {
		row := web.CustomerPaymentRow{At: pay.CreatedAt, InvoiceID: pay.InvoiceID, InvoiceNumber: pay.InvoiceNumber,
			Gateway: pay.Gateway, Ref: pay.GatewayTxnID, Amount: money(pay.Amount)}
		if pay.Refunded.IsPositive() {
			row.Refunded = money(pay.Refunded)
		}
		v.Payments = append(v.Payments, row)
	}
	refunds, err := s.Store.CustomerRefunds(ctx, u.ID, customerTimelineCap)
	if err != nil {
		return v, err
	}
	credit, err := s.Store.CreditOf(ctx, u.ID, 100)
	if err != nil {
		return v, err
	}
	for _, b := range credit.Balances {
		v.CreditBalances = append(v.CreditBalances, money(b))
	}
	for _, e := range credit.Entries {
		v.Credit = append(v.Credit, web.CreditRow{At: e.CreatedAt, Kind: string(e.Kind), Amount: money(e.Amount), Note: e.Note,
			By: e.CreatedBy, InvoiceID: e.InvoiceID.Int64})
	}
	notes, err := s.Store.CustomerNotes(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, n := range notes {
		v.Notes = append(v.Notes, web.NoteRow{ID: n.ID, Body: n.Body, Pinned: n.Pinned, Author: n.AuthorEmail, CreatedAt: n.CreatedAt,
			Edited: n.UpdatedAt.Sub(n.CreatedAt) > time.Second})
	}
	logins, err := s.Store.LoginHistory(ctx, u.ID, 50)
	if err != nil {
		return v, err
	}
	v.Logins = loginRows(logins)
	audit, err := s.Store.CustomerAudit(ctx, u.ID, 50)
	if err != nil {
		return v, err
	}
	v.Audit = auditRows(audit)
	events, err := s.Store.CustomerEvents(ctx, u.ID, customerTimelineCap)
	if err != nil {
		return v, err
	}
	v.Timeline = customerTimeline(events, invs, pays, refunds, notes, logins, audit)
	return v, nil
}

// addMoney adds m to the per-currency sums in list, keeping them sorted by currency.
func addMoney(list []billing.Money, m billing.Money) []billing.Money {
	for i := range list {
		if list[i].Currency == m.Currency {
			list[i].Amount += m.Amount
			return list
		}
	}
	list = append(list, m)
	sort.Slice(list, func(a, b int) bool { return list[a].Currency < list[b].Currency })
	return list
}

// customerTimeline merges everything that happened to a customer into one list, newest first,
// capped at customerTimelineCap.
func customerTimeline(events []store.CustomerEvent, invs []store.Invoice, pays []store.CustomerPayment, refunds []store.CustomerRefund,
	notes []store.CustomerNote, logins []store.LoginAttempt, audit []store.AuditEntry) []web.TimelineRow {
	var out []web.TimelineRow
	for _, e := range events {
		href := fmt.Sprintf("/admin/%ss/%d", e.Source, e.RefID)
		out = append(out, web.TimelineRow{At: e.At, Kind: e.Source, Title: fmt.Sprintf("%s #%d: %s", e.Source, e.RefID, e.Kind),
			Detail: strings.TrimSpace(e.Message + " " + actorSuffix(e.Actor)), Href: href})
	}
	for _, inv := range invs {
		at := inv.CreatedAt
		title := "Invoice " + inv.Number + " created"
		if inv.IssuedAt.Valid {
			at, title = inv.IssuedAt.Time, "Invoice "+inv.Number+" issued"
		}
		out = append(out, web.TimelineRow{At: at, Kind: "invoice", Title: title, Detail: money(inv.Totals.Total) + " · " + inv.Status.Label(),
			Href: fmt.Sprintf("/admin/invoices/%d", inv.ID)})
	}
	for _, p := range pays {
		out = append(out, web.TimelineRow{At: p.CreatedAt, Kind: "payment", Title: "Payment of " + money(p.Amount),
			Detail: p.Gateway + " · invoice " + p.InvoiceNumber, Href: fmt.Sprintf("/admin/invoices/%d", p.InvoiceID)})
	}
	for _, rf := range refunds {
		out = append(out, web.TimelineRow{At: rf.CreatedAt, Kind: "refund", Title: "Refund of " + money(rf.Amount),
			Detail: strings.TrimSpace("invoice " + rf.InvoiceNumber + " " + rf.Reason), Href: fmt.Sprintf("/admin/invoices/%d", rf.InvoiceID)})
	}
	for _, n := range notes {
		out = append(out, web.TimelineRow{At: n.CreatedAt, Kind: "note", Title: "Note by " + or(n.AuthorEmail, "staff"), Detail: truncate(n.Body, 140)})
	}
	for _, l := range logins {
		title, detail := "Logged in", l.IP
		if !l.Success {
			title, detail = "Failed login", strings.TrimSpace(l.IP+" "+l.Reason)
		}
		out = append(out, web.TimelineRow{At: l.At, Kind: "login", Title: title, Detail: detail})
	}
	for _, e := range audit {
		detail := e.Target
		if e.ImpersonatorEmail != "" {
			detail += " · by " + e.ImpersonatorEmail + " as the customer"
		} else if e.ActorEmail != "" {
			detail += " · " + e.ActorEmail
		}
		out = append(out, web.TimelineRow{At: e.At, Kind: "audit", Title: e.Action, Detail: strings.TrimPrefix(detail, " · ")})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > customerTimelineCap {
		out = out[:customerTimelineCap]
	}
	return out
}

func actorSuffix(actor string) string {
	if actor == "" {
		return ""
	}
	return "(" + actor + ")"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// customerDone is the notice a redirect after a customer action asks for (?done=code).
func customerDone(code string) string {
	switch code {
	case "profile":
		return "The profile is saved."
	case "closed":
		return "The account is closed: the customer cannot log in and their sessions have ended."
	case "reopened":
		return "The account is open again; the customer can log in."
	case "note-added":
		return "The note is added."
	case "note-edited":
		return "The note is saved."
	case "note-pinned":
		return "The note is pinned."
	case "note-unpinned":
		return "The note is unpinned."
	}
	return ""
}

// profileFields are the customer profile form's text inputs.
var profileFields = []string{"name", "email", "company", "phone", "address1", "address2", "city", "state", "postcode", "country",
	"vat_id", "dunning_suspend_days", "dunning_terminate_days"}

// adminUpdateCustomer validates and saves the profile form. A rejected form changes nothing
// and shows the page again with each problem under its field.
func (s *server) adminUpdateCustomer(w http.ResponseWriter, r *http.Request) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return
	}
	p := s.page(r, u.Name, nil)
	f := p.Form
	for _, k := range profileFields {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	f["email"] = store.NormalizeEmail(f["email"])
	f["country"] = strings.ToUpper(f["country"])
	f["vat_id"] = strings.ToUpper(strings.ReplaceAll(f["vat_id"], " ", ""))
	if r.PostFormValue("tax_exempt") == "on" {
		f["tax_exempt"] = "on"
	}
	for k, v := range f {
		if len(v) > maxNameLength {
			p.Errors[k] = "Use up to 200 characters."
		}
	}
	if f["name"] == "" {
		p.Errors["name"] = "Enter the customer's name."
	}
	if !validEmail(f["email"]) {
		p.Errors["email"] = "Enter a valid email address, such as ana@example.com."
	}
	if f["country"] != "" && !countryCode.MatchString(f["country"]) {
		p.Errors["country"] = "Use the two-letter country code, such as US, GB or DE."
	}
	if len(f["vat_id"]) > 32 {
		p.Errors["vat_id"] = "A VAT id has at most 32 characters."
	}
	days := map[string]sql.NullInt64{}
	for _, k := range []string{"dunning_suspend_days", "dunning_terminate_days"} {
		if f[k] == "" {
			continue
		}
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil || n < 0 || n > 365 {
			p.Errors[k] = "Enter a number of days from 0 to 365, or leave it empty for the default."
			continue
		}
		days[k] = sql.NullInt64{Int64: n, Valid: true}
	}
	if d, t := days["dunning_suspend_days"], days["dunning_terminate_days"]; d.Valid && t.Valid && t.Int64 < d.Int64 {
		p.Errors["dunning_terminate_days"] = "Terminate on or after the suspension day."
	}
	if len(p.Errors) == 0 {
		err := s.Store.UpdateCustomer(r.Context(), store.CustomerUpdate{ID: u.ID, Name: f["name"], Email: f["email"],
			Profile: store.Profile{Company: f["company"], Phone: f["phone"], Address1: f["address1"], Address2: f["address2"],
				City: f["city"], State: f["state"], Postcode: f["postcode"], Country: f["country"]},
			TaxExempt: f["tax_exempt"] == "on", VATID: f["vat_id"],
			DunningSuspendDays: days["dunning_suspend_days"], DunningTerminateDays: days["dunning_terminate_days"]})
		switch {
		case errors.Is(err, store.ErrConflict):
			p.Errors["email"] = "Another account uses this address."
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			details, _ := json.Marshal(map[string]any{"before": map[string]string{"name": u.Name, "email": u.Email}, "after": f})
			s.audit(r, "customer.update", userTarget(u.ID), details)
			http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=profile", u.ID), http.StatusSeeOther)
			return
		}
	}
	p.Error = "The profile was not saved: please correct the highlighted fields."
	s.renderAdminCustomer(w, r, u, http.StatusUnprocessableEntity, p)
}

// adminCloseCustomer closes the account: the customer cannot log in and every session ends.
// Subscriptions keep running; the page says so, and staff cancel them separately.
func (s *server) adminCloseCustomer(w http.ResponseWriter, r *http.Request) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		p := s.page(r, u.Name, nil)
		if err := s.fillProfileForm(r.Context(), u, p.Form); err != nil {
			s.fail(w, r, err)
			return
		}
		p.Error = "Tick the confirmation box to close the account."
		s.renderAdminCustomer(w, r, u, http.StatusUnprocessableEntity, p)
		return
	}
	closed, ended, err := s.Store.CloseCustomer(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if closed {
		details, _ := json.Marshal(map[string]any{"sessions_ended": ended, "reason": strings.TrimSpace(r.PostFormValue("reason"))})
		s.audit(r, "customer.close", userTarget(u.ID), details)
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=closed", u.ID), http.StatusSeeOther)
}

// adminReopenCustomer lets a closed customer log in again.
func (s *server) adminReopenCustomer(w http.ResponseWriter, r *http.Request) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return
	}
	reopened, err := s.Store.ReopenCustomer(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if reopened {
		s.audit(r, "customer.reopen", userTarget(u.ID), nil)
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=reopened", u.ID), http.StatusSeeOther)
}

// adminAddNote adds a staff note, pinned when the box is ticked.
func (s *server) adminAddNote(w http.ResponseWriter, r *http.Request) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	n, err := s.Store.AddCustomerNote(r.Context(), u.ID, *currentUser(r), body, r.PostFormValue("pinned") == "on")
	if errors.Is(err, store.ErrInvalid) {
		s.noteRefused(w, r, u, "The note was not added: write something (at most 10,000 characters).")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]any{"note_id": n.ID, "pinned": n.Pinned, "body": truncate(n.Body, 500)})
	s.audit(r, "customer.note_add", userTarget(u.ID), details)
	http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=note-added#notes", u.ID), http.StatusSeeOther)
}

// adminEditNote replaces a note's text.
func (s *server) adminEditNote(w http.ResponseWriter, r *http.Request) {
	u, noteID, ok := s.adminLoadNote(w, r)
	if !ok {
		return
	}
	n, err := s.Store.EditCustomerNote(r.Context(), u.ID, noteID, strings.TrimSpace(r.PostFormValue("body")))
	if errors.Is(err, store.ErrInvalid) {
		s.noteRefused(w, r, u, "The note was not saved: write something (at most 10,000 characters).")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	details, _ := json.Marshal(map[string]any{"note_id": n.ID, "body": truncate(n.Body, 500)})
	s.audit(r, "customer.note_edit", userTarget(u.ID), details)
	http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=note-edited#notes", u.ID), http.StatusSeeOther)
}

// adminPinNote pins (pinned=on) or unpins a note.
func (s *server) adminPinNote(w http.ResponseWriter, r *http.Request) {
	u, noteID, ok := s.adminLoadNote(w, r)
	if !ok {
		return
	}
	pinned := r.PostFormValue("pinned") == "on"
	if err := s.Store.PinCustomerNote(r.Context(), u.ID, noteID, pinned); err != nil {
		s.fail(w, r, err)
		return
	}
	action, done := "customer.note_unpin", "note-unpinned"
	if pinned {
		action, done = "customer.note_pin", "note-pinned"
	}
	details, _ := json.Marshal(map[string]any{"note_id": noteID})
	s.audit(r, action, userTarget(u.ID), details)
	http.Redirect(w, r, fmt.Sprintf("/admin/customers/%d?done=%s#notes", u.ID, done), http.StatusSeeOther)
}

func (s *server) adminLoadNote(w http.ResponseWriter, r *http.Request) (store.User, int64, bool) {
	u, ok := s.adminLoadCustomer(w, r)
	if !ok {
		return store.User{}, 0, false
	}
	noteID, err := strconv.ParseInt(chi.URLParam(r, "note"), 10, 64)
	if err != nil || noteID <= 0 {
		s.notFound(w, r)
		return store.User{}, 0, false
	}
	return u, noteID, true
}

func (s *server) noteRefused(w http.ResponseWriter, r *http.Request, u store.User, msg string) {
	p := s.page(r, u.Name, nil)
	if err := s.fillProfileForm(r.Context(), u, p.Form); err != nil {
		s.fail(w, r, err)
		return
	}
	p.Error = msg
	s.renderAdminCustomer(w, r, u, http.StatusUnprocessableEntity, p)
}

package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// customerFixture is a customer with one order (subscription, service and invoice), a paid
// invoice, credit, a staff note and a login: something in every section of the customer page.
type customerFixture struct {
	customer       store.User
	order          store.Order
	paid           store.Invoice
	serviceHost    string
	note           string
	customerClient *browser
}

func newCustomerFixture(t *testing.T, st *testenv.Stack, email string) customerFixture {
	t.Helper()
	ctx := context.Background()
	f := customerFixture{customer: createUser(t, st, email, "password 12345", store.RoleCustomer), note: "Prefers email over phone"}
	f.customerClient = newBrowser(t, st)
	if r := f.customerClient.login(email, "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("customer login: %d", r.Status)
	}
	vps := productID(t, st, "vps-2gb")
	panel, err := st.Store.PickPanelServer(ctx, "virtfusion")
	if err != nil {
		t.Fatal(err)
	}
	f.serviceHost = strings.Split(email, "@")[0] + ".web.example.com"
	usd := func(n int64) billing.Money { return billing.Money{Amount: n, Currency: "USD"} }
	line := []billing.Line{{Kind: billing.LineProduct, Description: "VPS 2 GB", Amount: usd(1200)}}
	f.order, err = st.Store.PlaceOrder(ctx, store.NewOrder{CustomerID: f.customer.ID, IdempotencyKey: "fixture-" + email, ProductID: vps,
		Cycle: billing.Cycle("monthly"), Price: usd(1200), Gateway: "sandbox", PanelServerID: panel.ID, Hostname: f.serviceHost,
		Invoice: store.NewInvoice{Currency: "USD", Lines: line, DueAt: time.Now().Add(-72 * time.Hour)}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.paid, err = st.Store.CreateInvoice(ctx, store.NewInvoice{CustomerID: f.customer.ID, Currency: "USD", Lines: line,
		DueAt: time.Now().Add(24 * time.Hour), IdempotencyKey: "paid-" + email, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.RecordPayment(ctx, store.Payment{InvoiceID: f.paid.ID, Gateway: "manual", GatewayTxnID: "fixture-" + email,
		Amount: usd(1200), CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.AddCredit(ctx, store.CreditChange{CustomerID: f.customer.ID, Amount: usd(500), Note: "goodwill",
		CreatedBy: "test", IdempotencyKey: "credit-" + email}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAdminCustomersListSearchFiltersAndPages(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	f := newCustomerFixture(t, st, "zed.target@acme-hosting.test")
	for i := range 55 {
		createUser(t, st, fmt.Sprintf("filler%02d@example.com", i), "password 12345", store.RoleCustomer)
	}
	closed := createUser(t, st, "gone@example.com", "password 12345", store.RoleCustomer)
	if _, _, err := st.Store.CloseCustomer(context.Background(), closed.ID); err != nil {
		t.Fatal(err)
	}
	admin := newBrowser(t, st)
	admin.login("boss@example.com", "password 12345")

	r := admin.get("/admin/customers?q=" + url.QueryEscape("ACME-HOST"))
	if r.Status != http.StatusOK || strings.Count(r.Body, `data-testid="customer-row"`) != 1 ||
		!strings.Contains(r.Body, fmt.Sprintf(`data-customer-id="%d"`, f.customer.ID)) {
		t.Fatalf("search by part of the email: status %d, %d rows\n%s", r.Status, strings.Count(r.Body, `data-testid="customer-row"`), r.Body)
	}
	r = admin.get("/admin/customers?overdue=on")
	if strings.Count(r.Body, `data-testid="customer-row"`) != 1 || !strings.Contains(r.Body, f.customer.Email) {
		t.Fatalf("overdue filter: %d rows, want only the fixture customer", strings.Count(r.Body, `data-testid="customer-row"`))
	}
	r = admin.get("/admin/customers?type=vps")
	if strings.Count(r.Body, `data-testid="customer-row"`) != 1 {
		t.Fatalf("product type vps: %d rows, want 1", strings.Count(r.Body, `data-testid="customer-row"`))
	}
	r = admin.get("/admin/customers?status=closed")
	if strings.Count(r.Body, `data-testid="customer-row"`) != 1 || !strings.Contains(r.Body, "gone@example.com") {
		t.Fatalf("closed filter: %d rows", strings.Count(r.Body, `data-testid="customer-row"`))
	}
	// 57 customers: 50 on the first page (with a next link), 7 on the second.
	r = admin.get("/admin/customers?sort=email")
	if n := strings.Count(r.Body, `data-testid="customer-row"`); n != 50 || !strings.Contains(r.Body, "1–50 of 57 customers") ||
		!strings.Contains(r.Body, `href="/admin/customers?page=2&amp;sort=email"`) {
		t.Fatalf("first page: %d rows; count or next link missing\n%s", n, r.Body[strings.Index(r.Body, "customer-count"):][:200]+r.Body[strings.LastIndex(r.Body, "</section>"):])
	}
	r = admin.get("/admin/customers?page=2&sort=email")
	if n := strings.Count(r.Body, `data-testid="customer-row"`); n != 7 || !strings.Contains(r.Body, "51–57 of 57 customers") || strings.Contains(r.Body, `data-testid="customers-next"`) {
		t.Fatalf("second page: %d rows, want 7 and no next link", n)
	}
}

func TestAdminCustomerPageShowsEverySectionAndNotesAreAudited(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	sup := createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	f := newCustomerFixture(t, st, "ana@example.com")
	c := newBrowser(t, st)
	c.login("sup@example.com", "password 12345")
	page := fmt.Sprintf("/admin/customers/%d", f.customer.ID)

	add := c.post(page+"/notes", page, url.Values{"body": {f.note}})
	if add.Status != http.StatusSeeOther {
		t.Fatalf("add note: status %d\n%s", add.Status, add.Body)
	}
	second := c.post(page+"/notes", page, url.Values{"body": {"Second note"}})
	if second.Status != http.StatusSeeOther {
		t.Fatalf("add second note: %d", second.Status)
	}
	notes, _ := st.Store.CustomerNotes(ctx, f.customer.ID)
	if len(notes) != 2 || notes[0].Body != "Second note" {
		t.Fatalf("notes newest first: %+v", notes)
	}
	first := notes[1]
	if r := c.post(fmt.Sprintf("%s/notes/%d/pin", page, first.ID), page, url.Values{"pinned": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pin: %d", r.Status)
	}
	if r := c.post(fmt.Sprintf("%s/notes/%d", page, first.ID), page, url.Values{"body": {f.note + " (mornings)"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d", r.Status)
	}
	if r := c.post(page+"/notes", page, url.Values{"body": {"  "}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("blank note: status %d, want 422", r.Status)
	}
	notes, _ = st.Store.CustomerNotes(ctx, f.customer.ID)
	if notes[0].ID != first.ID || !notes[0].Pinned || notes[0].Body != f.note+" (mornings)" {
		t.Fatalf("after pin and edit, notes = %+v", notes)
	}
	entries, _, _ := st.Store.SearchAudit(ctx, store.AuditFilter{Target: fmt.Sprintf("user:%d", f.customer.ID), ActionPrefix: "customer.note"})
	if got := actions(entries); strings.Join(got, ",") != "customer.note_edit,customer.note_pin,customer.note_add,customer.note_add" {
		t.Fatalf("note audit entries %v", got)
	}
	for _, e := range entries {
		if e.ActorID.Int64 != sup.ID {
			t.Fatalf("note audited under actor %d, want %d", e.ActorID.Int64, sup.ID)
		}
	}

	r := c.get(page)
	if r.Status != http.StatusOK {
		t.Fatalf("customer page: %d", r.Status)
	}
	inv, _ := st.Store.Invoice(ctx, f.order.InvoiceID)
	for section, want := range map[string]string{
		"customer-profile":       "taxed",
		"customer-services":      f.serviceHost,
		"customer-subscriptions": fmt.Sprintf(`/admin/subscriptions/%d"`, f.order.SubscriptionID),
		"customer-invoices":      inv.Number,
		"customer-payments":      f.paid.Number,
		"customer-credit":        "goodwill",
		"customer-notes":         "Prefers email over phone (mornings)",
		"customer-logins":        `data-testid="login-row"`,
		"customer-audit":         "customer.note_pin",
		"customer-timeline":      `data-kind="payment"`,
	} {
		if !strings.Contains(sectionOf(r.Body, section), want) {
			t.Errorf("section %s does not show %q", section, want)
		}
	}
	for _, want := range []string{`data-testid="credit-balance">USD 5.00`, `data-testid="customer-overdue-badge"`, `data-testid="impersonate"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("customer page lacks %s", want)
		}
	}
	// The pinned note comes first.
	if strings.Index(r.Body, "Prefers email") > strings.Index(r.Body, "Second note") {
		t.Error("the pinned note is not shown first")
	}
	// Support may not edit the profile or add credit: the forms are not shown.
	if strings.Contains(r.Body, `data-testid="customer-edit-form"`) || strings.Contains(r.Body, `data-testid="credit-form"`) {
		t.Error("support sees the profile or credit form")
	}
}

// sectionOf is the part of body from the element with data-testid=id to the next section.
func sectionOf(body, id string) string {
	i := strings.Index(body, `data-testid="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest[1:], "<section"); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

func TestClosingAnAccountBlocksLoginEndsSessionsAndReopens(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "bill@example.com", "password 12345", store.RoleBilling)
	f := newCustomerFixture(t, st, "ana@example.com")
	admin := newBrowser(t, st)
	admin.login("bill@example.com", "password 12345")
	page := fmt.Sprintf("/admin/customers/%d", f.customer.ID)

	if r := admin.get(page); !strings.Contains(r.Body, `name="back" value="/admin/customers/`+itoa(f.customer.ID)+`"`) ||
		!strings.Contains(r.Body, `name="nonce"`) || !strings.Contains(r.Body, `action="/admin/customers/`+itoa(f.customer.ID)+`/credit"`) {
		t.Fatal("billing staff do not see the credit form posting to /credit with a nonce and back")
	}
	if r := admin.post(page+"/close", page, url.Values{}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("close without confirmation: status %d, want 422", r.Status)
	}
	if r := admin.post(page+"/close", page, url.Values{"confirm": {"yes"}, "reason": {"asked to leave"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("close: status %d\n%s", r.Status, r.Body)
	}
	if r := f.customerClient.get("/account"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/login") {
		t.Fatalf("the customer's open session after closing: status %d, location %q; want a redirect to log in", r.Status, r.Location)
	}
	again := newBrowser(t, st)
	if r := again.login("ana@example.com", "password 12345"); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "This account is closed") {
		t.Fatalf("login to a closed account: status %d, want 403 with the closed message", r.Status)
	}
	if again.cookie("ezscale_session") != "" {
		t.Fatal("a closed account's login set a session cookie")
	}
	r := admin.get(page)
	if !strings.Contains(r.Body, `data-testid="customer-closed"`) || !strings.Contains(r.Body, `data-testid="closed-subscriptions-warning"`) ||
		strings.Contains(r.Body, `data-testid="impersonate"`) {
		t.Fatalf("closed customer's page lacks the closed badge or the running-subscriptions warning, or offers impersonation")
	}
	sub, _ := st.Store.SubscriptionByID(ctx, f.order.SubscriptionID)
	if sub.Status == billing.SubscriptionCancelled || sub.Status == billing.SubscriptionTerminated {
		t.Fatalf("closing the account touched the subscription: %s", sub.Status)
	}
	if r := admin.post(page+"/reopen", page, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("reopen: %d", r.Status)
	}
	if r := again.login("ana@example.com", "password 12345"); r.Status != http.StatusSeeOther {
		t.Fatalf("login after reopening: %d", r.Status)
	}
	entries, _, _ := st.Store.SearchAudit(ctx, store.AuditFilter{Target: fmt.Sprintf("user:%d", f.customer.ID), ActionPrefix: "customer."})
	if got := strings.Join(actions(entries), ","); got != "customer.reopen,customer.close" {
		t.Fatalf("audit %s, want customer.reopen,customer.close", got)
	}
	failed, _ := st.Store.LoginHistory(ctx, f.customer.ID, 10)
	if !slicesContainReason(failed, "account closed") {
		t.Fatal("the refused login is not in the login history with reason \"account closed\"")
	}
}

func slicesContainReason(in []store.LoginAttempt, reason string) bool {
	for _, a := range in {
		if !a.Success && a.Reason == reason {
			return true
		}
	}
	return false
}

func TestEditProfileRejectsBadEmailAndCountryAndChangesNothing(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "bill@example.com", "password 12345", store.RoleBilling)
	ana := createUser(t, st, "ana@example.com", "password 12345", store.RoleCustomer)
	createUser(t, st, "bo@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("bill@example.com", "password 12345")
	page := fmt.Sprintf("/admin/customers/%d", ana.ID)
	base := url.Values{"name": {"Ana Lima"}, "email": {"ana@example.com"}, "country": {"PT"}, "company": {"Lima Lda"}}
	for _, tc := range []struct {
		field, value, message string
	}{
		{"email", "not-an-address", "Enter a valid email address"},
		{"email", "bo@example.com", "Another account uses this address."},
		{"country", "Portugal", "Use the two-letter country code"},
		{"dunning_suspend_days", "-3", "Enter a number of days from 0 to 365"},
		{"name", "", "Enter the customer&#39;s name."},
	} {
		form := url.Values{}
		for k, v := range base {
			form[k] = v
		}
		form.Set(tc.field, tc.value)
		r := c.post(page+"/profile", page, form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.message) || !strings.Contains(r.Body, `id="f-`+tc.field+`-error"`) {
			t.Errorf("%s=%q: status %d; want 422 with %q under the field", tc.field, tc.value, r.Status, tc.message)
		}
	}
	u, _ := st.Store.UserByID(ctx, ana.ID)
	prof, _ := st.Store.ProfileByUser(ctx, ana.ID)
	if u.Name != "Test customer" || u.Email != "ana@example.com" || prof.Company != "" || prof.Country != "" {
		t.Fatalf("rejected forms changed the customer: %+v %+v", u, prof)
	}
	form := url.Values{"name": {"Ana Lima"}, "email": {"Ana.Lima@Example.com"}, "country": {"pt"}, "company": {"Lima Lda"},
		"tax_exempt": {"on"}, "vat_id": {"PT 123456789"}, "dunning_suspend_days": {"5"}, "dunning_terminate_days": {"20"}}
	if r := c.post(page+"/profile", page, form); r.Status != http.StatusSeeOther {
		t.Fatalf("valid profile: status %d\n%s", r.Status, r.Body)
	}
	bp, _ := st.Store.BillingProfileOf(ctx, ana.ID)
	if bp.Name != "Ana Lima" || bp.Email != "ana.lima@example.com" || bp.Country != "PT" || !bp.TaxExempt || bp.VATID != "PT123456789" ||
		bp.DunningSuspendDays.Int64 != 5 || bp.DunningTerminateDays.Int64 != 20 {
		t.Fatalf("saved profile = %+v", bp)
	}
	entries, _, _ := st.Store.SearchAudit(ctx, store.AuditFilter{Target: fmt.Sprintf("user:%d", ana.ID), ActionPrefix: "customer.update"})
	if len(entries) != 1 {
		t.Fatalf("%d customer.update audit entries, want 1", len(entries))
	}
}

func TestBulkActionsReportEachRowAndArchiveIsAudited(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	createUser(t, st, "boss@example.com", "password 12345", store.RoleAdmin)
	a := newCustomerFixture(t, st, "ana@example.com")
	b := newCustomerFixture(t, st, "bo@example.com")
	admin := newBrowser(t, st)
	admin.login("boss@example.com", "password 12345")

	// Invoices: a's order invoice is unpaid (can be paid), b's paid invoice is refused.
	r := admin.post("/admin/invoices/bulk/mark-paid", "/admin/invoices", url.Values{"id": {itoa(a.order.InvoiceID), itoa(b.paid.ID), "999999"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "1 done, 2 refused.") {
		t.Fatalf("bulk mark paid: status %d\n%s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, "Nothing is due: already paid.") || !strings.Contains(r.Body, "No such invoice.") {
		t.Fatalf("bulk mark paid does not say why rows were refused\n%s", r.Body)
	}
	if inv, _ := st.Store.Invoice(ctx, a.order.InvoiceID); inv.Status != billing.StatusPaid {
		t.Fatalf("invoice after bulk mark paid: %s", inv.Status)
	}
	r = admin.post("/admin/invoices/bulk/cancel", "/admin/invoices", url.Values{"id": {itoa(b.order.InvoiceID), itoa(b.paid.ID)}})
	if !strings.Contains(r.Body, "1 done, 1 refused.") || !strings.Contains(r.Body, "cannot be cancelled") {
		t.Fatalf("bulk cancel\n%s", r.Body)
	}
	if r := admin.post("/admin/invoices/bulk/cancel", "/admin/invoices", url.Values{}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bulk with nothing ticked: %d, want 422", r.Status)
	}

	// Services: archiving a live service is refused per row; a terminated one is archived.
	svcA, svcB := a.order.ServiceID.Int64, b.order.ServiceID.Int64
	if err := st.Store.SetServiceStatus(ctx, svcB, "terminated", "", store.ServiceEvent{Kind: "status", Message: "terminated"}); err != nil {
		t.Fatal(err)
	}
	r = admin.post("/admin/services/bulk/archive", "/admin/services", url.Values{"id": {itoa(svcA), itoa(svcB)}})
	if !strings.Contains(r.Body, "1 done, 1 refused.") || !strings.Contains(r.Body, "terminate it before archiving") {
		t.Fatalf("bulk archive\n%s", r.Body)
	}
	list := admin.get("/admin/services")
	if strings.Contains(list.Body, fmt.Sprintf(`data-service-id="%d"`, svcB)) || !strings.Contains(list.Body, fmt.Sprintf(`data-service-id="%d"`, svcA)) {
		t.Fatal("the default services list shows the archived service or hides the live one")
	}
	if archived := admin.get("/admin/services?archived=on"); !strings.Contains(archived.Body, fmt.Sprintf(`data-service-id="%d"`, svcB)) {
		t.Fatal("the archived filter does not list the archived service")
	}
	if r := admin.post(fmt.Sprintf("/admin/services/%d/restore", svcB), "/admin/services", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("restore: %d\n%s", r.Status, r.Body)
	}
	if r := admin.post(fmt.Sprintf("/admin/services/%d/archive", svcA), "/admin/services", url.Values{}); r.Status != http.StatusConflict {
		t.Fatalf("archiving a live service from its page: %d, want 409", r.Status)
	}
	entries, _, _ := st.Store.SearchAudit(ctx, store.AuditFilter{Target: fmt.Sprintf("service:%d", svcB), ActionPrefix: "service."})
	if got := strings.Join(actions(entries), ","); got != "service.restore,service.archive" {
		t.Fatalf("service audit %s, want service.restore,service.archive", got)
	}
	// Suspend goes to each workflow; with no provisioning workflow running each row is refused, with the reason.
	r = admin.post("/admin/services/bulk/suspend", "/admin/services", url.Values{"id": {itoa(svcA)}})
	if r.Status != http.StatusOK || strings.Count(r.Body, `data-testid="bulk-row"`) != 1 {
		t.Fatalf("bulk suspend: %d\n%s", r.Status, r.Body)
	}
}

func TestPaletteIsScopedByRoleAndByCustomer(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	a := newCustomerFixture(t, st, "ana@example.com")
	b := newCustomerFixture(t, st, "bo@example.com")
	staff := newBrowser(t, st)
	staff.login("sup@example.com", "password 12345")

	palette := func(c *browser, path string) []map[string]string {
		t.Helper()
		r := c.get(path)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: status %d, type %q\n%s", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		var ans struct{ Results []map[string]string }
		if err := json.Unmarshal([]byte(r.Body), &ans); err != nil {
			t.Fatal(err)
		}
		return ans.Results
	}
	got := palette(staff, "/admin/palette?q=bo%40ex")
	if len(got) != 1 || got[0]["kind"] != "customer" || got[0]["href"] != "/admin/customers/"+itoa(b.customer.ID) {
		t.Fatalf("staff palette for bo@ex: %v", got)
	}
	got = palette(staff, "/admin/palette?q=web.example")
	if len(got) != 2 || got[0]["kind"] != "service" {
		t.Fatalf("staff palette by hostname: %v", got)
	}
	inv, _ := st.Store.Invoice(context.Background(), b.paid.ID)
	got = palette(staff, "/admin/palette?q="+url.QueryEscape(inv.Number))
	if len(got) != 1 || got[0]["href"] != "/admin/invoices/"+itoa(inv.ID) {
		t.Fatalf("staff palette by invoice number: %v", got)
	}

	// Ana's palette never shows Bo's records, whatever she types.
	for _, q := range []string{"bo", "web.example", inv.Number, itoa(b.order.ServiceID.Int64), itoa(b.paid.ID), itoa(b.order.SubscriptionID), "VPS"} {
		for _, res := range palette(a.customerClient, "/account/palette?q="+url.QueryEscape(q)) {
			for _, foreign := range []string{"/account/services/" + itoa(b.order.ServiceID.Int64), "/account/invoices/" + itoa(b.paid.ID),
				"/account/invoices/" + itoa(b.order.InvoiceID), "/account/subscriptions/" + itoa(b.order.SubscriptionID)} {
				if res["href"] == foreign {
					t.Fatalf("Ana's palette for %q offers Bo's %s", q, foreign)
				}
			}
			if strings.HasPrefix(res["href"], "/admin/") {
				t.Fatalf("the customer palette links into admin: %v", res)
			}
		}
	}
	got = palette(a.customerClient, "/account/palette?q=VPS")
	kinds := map[string]bool{}
	for _, res := range got {
		kinds[res["kind"]] = true
	}
	if !kinds["service"] || !kinds["subscription"] {
		t.Fatalf("Ana's palette for VPS: %v; want her service and subscription", got)
	}
	if r := a.customerClient.get("/admin/palette?q=bo"); r.Status != http.StatusForbidden {
		t.Fatalf("a customer on /admin/palette: %d, want 403", r.Status)
	}
	if r := newBrowser(t, st).get("/account/palette?q=bo"); r.Status != http.StatusSeeOther {
		t.Fatalf("anonymous /account/palette: %d, want a redirect to log in", r.Status)
	}
}

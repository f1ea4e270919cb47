package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func namedCustomer(t *testing.T, s *store.Store, name, email, company string) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.NewUser{Email: email, Name: name, PasswordHash: "$argon2id$x",
		Role: store.RoleCustomer, Profile: store.Profile{Company: company, Country: "GB"}})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func customerIDs(list []store.CustomerSummary) []int64 {
	out := make([]int64, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

func TestSearchCustomersMatchesPartsOfNameEmailCompanyAndID(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	ana := namedCustomer(t, s, "Ana Lima", "ana.lima@example.com", "Lima Hosting")
	bo := namedCustomer(t, s, "Bo Chen", "bo@chen-web.io", "Acme 100% Ltd")
	namedCustomer(t, s, "Cy Ortiz", "cy@example.org", "")
	if _, err := s.CreateStaff(ctx, store.NewUser{Email: "lima-staff@example.com", Name: "Lima Staff", PasswordHash: "x", Role: store.RoleSupport}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		search string
		want   []int64
	}{
		{"LIMA@EX", []int64{ana.ID}},  // part of the email, any case
		{"chen-web", []int64{bo.ID}},  // middle of the address
		{"lima", []int64{ana.ID}},     // name, email and company of one customer; staff never listed
		{"acme 100%", []int64{bo.ID}}, // % is a literal, not a wildcard
		{"100%%", nil},                // ... so this matches nothing
		{fmt.Sprint(bo.ID), []int64{bo.ID}},
		{"#" + fmt.Sprint(ana.ID), []int64{ana.ID}},
		{"nobody", nil},
	} {
		page, err := s.SearchCustomers(ctx, store.CustomerFilter{Search: tc.search})
		if err != nil {
			t.Fatal(err)
		}
		if got := customerIDs(page.Customers); fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) || page.Total != len(tc.want) {
			t.Errorf("search %q found %v (total %d), want %v", tc.search, got, page.Total, tc.want)
		}
	}
}

func TestSearchCustomersFiltersSortsAndPages(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	var all []store.User
	for i := range 7 {
		all = append(all, namedCustomer(t, s, fmt.Sprintf("Customer %02d", 7-i), fmt.Sprintf("c%d@example.com", i), ""))
	}
	// Closed: the first one.
	if closed, _, err := s.CloseCustomer(ctx, all[0].ID); err != nil || !closed {
		t.Fatalf("close: %v %v", closed, err)
	}
	// Overdue: the second one has an unpaid invoice past due.
	in := newInvoice(all[1].ID, "overdue-1")
	in.DueAt = time.Now().Add(-48 * time.Hour)
	if _, err := s.CreateInvoice(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateInvoice(ctx, newInvoice(all[2].ID, "not-yet-due")); err != nil {
		t.Fatal(err)
	}

	page, err := s.SearchCustomers(ctx, store.CustomerFilter{Status: store.CustomerClosed})
	if err != nil || page.Total != 1 || page.Customers[0].ID != all[0].ID || !page.Customers[0].ClosedAt.Valid {
		t.Fatalf("closed filter: %+v %v", page, err)
	}
	page, _ = s.SearchCustomers(ctx, store.CustomerFilter{Status: store.CustomerActive})
	if page.Total != 6 {
		t.Fatalf("active filter: total %d, want 6", page.Total)
	}
	page, _ = s.SearchCustomers(ctx, store.CustomerFilter{Overdue: true})
	if page.Total != 1 || page.Customers[0].ID != all[1].ID || !page.Customers[0].Overdue {
		t.Fatalf("overdue filter: %+v", page.Customers)
	}
	// By name: "Customer 01" is the last one created.
	page, _ = s.SearchCustomers(ctx, store.CustomerFilter{Limit: 3})
	if page.Total != 7 || len(page.Customers) != 3 || page.Customers[0].ID != all[6].ID {
		t.Fatalf("first page by name: total %d, ids %v", page.Total, customerIDs(page.Customers))
	}
	seen := map[int64]bool{}
	for off := 0; off < 7; off += 3 {
		p, _ := s.SearchCustomers(ctx, store.CustomerFilter{Limit: 3, Offset: off, Sort: "email"})
		for _, c := range p.Customers {
			if seen[c.ID] {
				t.Fatalf("customer %d on two pages", c.ID)
			}
			seen[c.ID] = true
		}
	}
	if len(seen) != 7 {
		t.Fatalf("paging by email saw %d customers, want 7", len(seen))
	}
	page, _ = s.SearchCustomers(ctx, store.CustomerFilter{Sort: "created", Limit: 1})
	if page.Customers[0].ID != all[6].ID {
		t.Fatalf("newest first: %d, want %d", page.Customers[0].ID, all[6].ID)
	}
	counts, err := s.CountCustomers(ctx)
	if err != nil || counts.Active != 6 || counts.Closed != 1 {
		t.Fatalf("counts %+v %v", counts, err)
	}
}

func TestCloseCustomerEndsSessionsAndReopenLetsThemBack(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	u := namedCustomer(t, s, "Ana", "ana@example.com", "")
	for i := range 2 {
		if err := s.CreateSession(ctx, store.Session{IDHash: []byte(fmt.Sprint("sess", i)), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	closed, ended, err := s.CloseCustomer(ctx, u.ID)
	if err != nil || !closed || ended != 2 {
		t.Fatalf("close: closed %v, sessions ended %d, err %v; want true, 2", closed, ended, err)
	}
	if _, _, err := s.SessionUser(ctx, []byte("sess0"), time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after close: %v, want ErrNotFound", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if !got.Closed() {
		t.Fatal("user not marked closed")
	}
	if again, _, _ := s.CloseCustomer(ctx, u.ID); again {
		t.Fatal("closing twice reported a change")
	}
	if reopened, err := s.ReopenCustomer(ctx, u.ID); err != nil || !reopened {
		t.Fatalf("reopen: %v %v", reopened, err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Closed() {
		t.Fatal("still closed after reopen")
	}
	staff, _ := s.CreateStaff(ctx, store.NewUser{Email: "st@example.com", Name: "St", PasswordHash: "x", Role: store.RoleSupport})
	if _, _, err := s.CloseCustomer(ctx, staff.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("closing staff: %v, want ErrNotFound", err)
	}
}

func TestCustomerNotesArePinnedFirstAndScopedToTheirCustomer(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	ana := namedCustomer(t, s, "Ana", "ana@example.com", "")
	bo := namedCustomer(t, s, "Bo", "bo@example.com", "")
	author := store.User{ID: 0, Email: "sup@example.com"}
	first, err := s.AddCustomerNote(ctx, ana.ID, author, "first", false)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := s.AddCustomerNote(ctx, ana.ID, author, "second", false)
	if _, err := s.AddCustomerNote(ctx, ana.ID, author, "   ", false); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("blank note: %v, want ErrInvalid", err)
	}
	if err := s.PinCustomerNote(ctx, ana.ID, first.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditCustomerNote(ctx, ana.ID, second.ID, "second, edited"); err != nil {
		t.Fatal(err)
	}
	notes, _ := s.CustomerNotes(ctx, ana.ID)
	if len(notes) != 2 || notes[0].ID != first.ID || !notes[0].Pinned || notes[1].Body != "second, edited" || notes[0].AuthorEmail != "sup@example.com" {
		t.Fatalf("notes = %+v", notes)
	}
	if err := s.PinCustomerNote(ctx, bo.ID, first.ID, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pinning Ana's note through Bo: %v, want ErrNotFound", err)
	}
	if _, err := s.EditCustomerNote(ctx, bo.ID, first.ID, "hijack"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("editing Ana's note through Bo: %v, want ErrNotFound", err)
	}
}

func TestUpdateCustomerRefusesATakenAddressAndChangesNothing(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	ana := namedCustomer(t, s, "Ana", "ana@example.com", "Old Co")
	namedCustomer(t, s, "Bo", "bo@example.com", "")
	err := s.UpdateCustomer(ctx, store.CustomerUpdate{ID: ana.ID, Name: "Ana New", Email: "BO@example.com", Profile: store.Profile{Company: "New Co"}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken address: %v, want ErrConflict", err)
	}
	if u, _ := s.UserByID(ctx, ana.ID); u.Name != "Ana" || u.Email != "ana@example.com" {
		t.Fatalf("after refused update: %+v", u)
	}
	if p, _ := s.ProfileByUser(ctx, ana.ID); p.Company != "Old Co" {
		t.Fatalf("company changed to %q by a refused update", p.Company)
	}
	err = s.UpdateCustomer(ctx, store.CustomerUpdate{ID: ana.ID, Name: "Ana New", Email: "ana.new@example.com", TaxExempt: true, VATID: "DE123456789",
		Profile: store.Profile{Company: "New Co", Country: "DE"}, DunningSuspendDays: nullID(3)})
	if err != nil {
		t.Fatal(err)
	}
	bp, _ := s.BillingProfileOf(ctx, ana.ID)
	if bp.Email != "ana.new@example.com" || bp.Company != "New Co" || bp.Country != "DE" || !bp.TaxExempt || bp.VATID != "DE123456789" || bp.DunningSuspendDays.Int64 != 3 {
		t.Fatalf("billing profile after update = %+v", bp)
	}
}

func TestArchiveServiceOnlyWhenGoneAndHiddenFromDefaultSearch(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	svc, err := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID, Hostname: "gone.example.com", CreatedBy: "admin:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ArchiveService(ctx, svc.ID, "admin:1"); !errors.Is(err, store.ErrServiceLive) {
		t.Fatalf("archiving a pending service: %v, want ErrServiceLive", err)
	}
	if err := s.SetServiceStatus(ctx, svc.ID, "terminated", "", store.ServiceEvent{Kind: "status", Message: "terminated"}); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.ArchiveService(ctx, svc.ID, "admin:1"); err != nil || !changed {
		t.Fatalf("archive: %v %v", changed, err)
	}
	if list, _ := s.SearchServices(ctx, store.ServiceSearch{Query: "gone"}); len(list) != 0 {
		t.Fatalf("default search lists the archived service: %+v", list)
	}
	if list, _ := s.SearchServices(ctx, store.ServiceSearch{Query: "gone", Archived: true}); len(list) != 1 {
		t.Fatalf("archived search: %d services, want 1", len(list))
	}
	if _, err := s.CustomerService(ctx, u.ID, svc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the customer still reaches the archived service: %v", err)
	}
	if changed, err := s.RestoreService(ctx, svc.ID, "admin:1"); err != nil || !changed {
		t.Fatalf("restore: %v %v", changed, err)
	}
	events, _ := s.ServiceEvents(ctx, svc.ID)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.HasSuffix(got, "archived,restored") {
		t.Fatalf("timeline kinds %s, want archived then restored at the end", got)
	}
}

func TestPaletteScopesByCustomer(t *testing.T) {
	s, ana, p, ps := servicesFixture(t)
	ctx := context.Background()
	bo := namedCustomer(t, s, "Bo", "bo@example.com", "")
	mine, _ := s.CreateService(ctx, store.NewService{CustomerID: ana.ID, ProductID: p.ID, PanelServerID: ps.ID, Hostname: "shared-name.ana.example", CreatedBy: "t"})
	theirs, _ := s.CreateService(ctx, store.NewService{CustomerID: bo.ID, ProductID: p.ID, PanelServerID: ps.ID, Hostname: "shared-name.bo.example", CreatedBy: "t"})
	invBo, err := s.CreateInvoice(ctx, newInvoice(bo.ID, "bo-1"))
	if err != nil {
		t.Fatal(err)
	}
	hits, _ := s.PaletteServices(ctx, "shared-name", ana.ID, 8)
	if len(hits) != 1 || hits[0].ID != mine.ID {
		t.Fatalf("Ana's palette services: %+v", hits)
	}
	if hits, _ := s.PaletteServices(ctx, fmt.Sprint(theirs.ID), ana.ID, 8); len(hits) != 0 {
		t.Fatalf("Ana finds Bo's service by id: %+v", hits)
	}
	if hits, _ := s.PaletteInvoices(ctx, invBo.Number, ana.ID, 8); len(hits) != 0 {
		t.Fatalf("Ana finds Bo's invoice: %+v", hits)
	}
	if hits, _ := s.PaletteServices(ctx, "shared-name", 0, 8); len(hits) != 2 {
		t.Fatalf("staff palette services: %d, want 2", len(hits))
	}
	if hits, _ := s.PaletteInvoices(ctx, strings.TrimPrefix(invBo.Number, "INV-"), 0, 8); len(hits) != 1 || hits[0].Label != invBo.Number {
		t.Fatalf("staff palette invoices: %+v", hits)
	}
	if hits, _ := s.PaletteCustomers(ctx, "bo@ex", 8); len(hits) != 1 || hits[0].ID != bo.ID {
		t.Fatalf("palette customers: %+v", hits)
	}
	if _, err := s.PaletteSubscriptions(ctx, "x", 0, 8); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unscoped subscription search: %v, want ErrInvalid", err)
	}
}

package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func newStaff(t *testing.T, s *store.Store, email, role string) store.User {
	t.Helper()
	u, err := s.CreateStaff(context.Background(), store.NewUser{Email: email, Name: "Staff " + role, PasswordHash: "$argon2id$x", Role: role})
	if err != nil {
		t.Fatalf("create staff %s (%s): %v", email, role, err)
	}
	return u
}

func TestSetStaffRoleNeverLeavesThePlatformWithoutAnAdministrator(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	first := newStaff(t, s, "first@example.com", store.RoleAdmin)

	if _, err := s.SetStaffRole(ctx, first.ID, store.RoleBilling); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("demote the only administrator: err = %v, want ErrLastAdmin", err)
	}
	if u, _ := s.UserByID(ctx, first.ID); u.Role != store.RoleAdmin {
		t.Fatalf("after a refused demotion the role is %q, want admin", u.Role)
	}

	second := newStaff(t, s, "second@example.com", store.RoleSupport)
	if u, err := s.SetStaffRole(ctx, second.ID, store.RoleAdmin); err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("promote support to admin = %+v, %v", u, err)
	}
	if u, err := s.SetStaffRole(ctx, first.ID, store.RoleSupport); err != nil || u.Role != store.RoleSupport || !u.Staff() {
		t.Fatalf("demote one of two administrators = %+v, %v; want support staff", u, err)
	}
	if _, err := s.SetStaffRole(ctx, second.ID, store.RoleBilling); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("demote the remaining administrator: err = %v, want ErrLastAdmin", err)
	}
}

func TestStaffRolesAreOnlyForStaff(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	customer := newCustomer(t, s, "ana@example.com")
	admin := newStaff(t, s, "root@example.com", store.RoleAdmin)
	newStaff(t, s, "bill@example.com", store.RoleBilling)

	if _, err := s.SetStaffRole(ctx, customer.ID, store.RoleAdmin); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("give a customer a staff role: err = %v, want ErrNotFound", err)
	}
	if _, err := s.SetStaffRole(ctx, admin.ID, store.RoleCustomer); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("turn staff into a customer: err = %v, want ErrInvalid", err)
	}
	if _, err := s.CreateStaff(ctx, store.NewUser{Email: "x@example.com", Name: "X", PasswordHash: "h", Role: store.RoleCustomer}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("create staff with the customer role: err = %v, want ErrInvalid", err)
	}
	staff, err := s.ListStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(staff) != 2 {
		t.Fatalf("ListStaff returned %d users, want the 2 staff (no customers): %+v", len(staff), staff)
	}
	for _, u := range staff {
		if !u.Staff() || !u.Verified() {
			t.Errorf("ListStaff: %s has role %q verified=%v; want verified staff", u.Email, u.Role, u.Verified())
		}
	}
}

func TestImpersonationSessionRecordsTheStaffMember(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	customer := newCustomer(t, s, "ana@example.com")
	support := newStaff(t, s, "sup@example.com", store.RoleSupport)
	hash := []byte("0123456789abcdef0123456789abcdef")
	err := s.CreateSession(ctx, store.Session{IDHash: hash, UserID: customer.ID, ExpiresAt: time.Now().Add(time.Hour), ImpersonatorID: nullID(support.ID)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, u, err := s.SessionUser(ctx, hash, time.Hour)
	if err != nil || u.ID != customer.ID || sess.ImpersonatorID != nullID(support.ID) {
		t.Fatalf("SessionUser = %+v, user %d, %v; want customer %d impersonated by %d", sess, u.ID, err, customer.ID, support.ID)
	}
}

func TestSearchAuditFiltersAndPages(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	ana := newCustomer(t, s, "ana@example.com")
	sup := newStaff(t, s, "sup@example.com", store.RoleSupport)
	entries := []store.AuditEntry{
		{ActorID: nullID(sup.ID), ActorEmail: sup.Email, Action: "auth.login"},
		{ActorID: nullID(sup.ID), ActorEmail: sup.Email, Action: "admin.POST", Target: "/admin/services/7/suspend"},
		{ActorID: nullID(ana.ID), ActorEmail: ana.Email, ImpersonatorID: nullID(sup.ID), ImpersonatorEmail: sup.Email, Action: "impersonation.start", Target: "user:1"},
		{ActorID: nullID(ana.ID), ActorEmail: ana.Email, ImpersonatorID: nullID(sup.ID), ImpersonatorEmail: sup.Email, Action: "account.profile_updated", Target: "user:1"},
		{ActorID: nullID(ana.ID), ActorEmail: ana.Email, Action: "account.profile_updated", Target: "user:1"},
		{Action: "invoice.paid_by_webhook", Target: "invoice:10"},
		{Action: "invoice_x.literal_underscore", Target: "invoice:11"},
	}
	for _, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	cases := []struct {
		name string
		f    store.AuditFilter
		want []string // actions, newest first
	}{
		{"no filter", store.AuditFilter{}, []string{"invoice_x.literal_underscore", "invoice.paid_by_webhook", "account.profile_updated", "account.profile_updated", "impersonation.start", "admin.POST", "auth.login"}},
		{"actor by email matches actor or impersonator", store.AuditFilter{Actor: "SUP@"}, []string{"account.profile_updated", "impersonation.start", "admin.POST", "auth.login"}},
		{"actor by id", store.AuditFilter{Actor: "user:" + strconv.FormatInt(ana.ID, 10)}, []string{"account.profile_updated", "account.profile_updated", "impersonation.start"}},
		{"action prefix is literal", store.AuditFilter{ActionPrefix: "invoice_"}, []string{"invoice_x.literal_underscore"}},
		{"action prefix", store.AuditFilter{ActionPrefix: "invoice."}, []string{"invoice.paid_by_webhook"}},
		{"target prefix", store.AuditFilter{Target: "/admin/services/"}, []string{"admin.POST"}},
		{"impersonated only", store.AuditFilter{Impersonated: true}, []string{"account.profile_updated", "impersonation.start"}},
		{"impersonated and action", store.AuditFilter{Impersonated: true, ActionPrefix: "account."}, []string{"account.profile_updated"}},
		{"from tomorrow", store.AuditFilter{From: now.Add(24 * time.Hour)}, nil},
		{"to yesterday", store.AuditFilter{To: now.Add(-24 * time.Hour)}, nil},
		{"within today", store.AuditFilter{From: now.Add(-time.Hour), To: now.Add(time.Hour), ActionPrefix: "auth."}, []string{"auth.login"}},
	}
	for _, c := range cases {
		got, more, err := s.SearchAudit(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if more || !sameActions(got, c.want) {
			t.Errorf("%s: got %v (more=%v), want %v", c.name, actions(got), more, c.want)
		}
	}

	// Keyset pages of 3 walk the whole log once, newest first.
	var walked []string
	f := store.AuditFilter{Limit: 3}
	for page := 0; ; page++ {
		got, more, err := s.SearchAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, actions(got)...)
		if !more {
			break
		}
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		f.Before = got[len(got)-1].ID
	}
	if !slices.Equal(walked, cases[0].want) {
		t.Fatalf("paging by 3 gave %v, want %v", walked, cases[0].want)
	}
}

func actions(es []store.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func sameActions(es []store.AuditEntry, want []string) bool { return slices.Equal(actions(es), want) }

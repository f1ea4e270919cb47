package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func servicesFixture(t *testing.T) (*store.Store, store.User, store.Product, store.PanelServer) {
	t.Helper()
	s := storetest.New(t)
	ctx := context.Background()
	u := newCustomer(t, s, "svc@example.com")
	p, err := s.UpsertCatalogEntry(ctx, store.CatalogEntry{
		Group:   store.ProductGroup{Slug: "vps", Name: "VPS"},
		Product: store.Product{Slug: "vps-1", Name: "VPS 1", Type: "vps"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetProductPanel(ctx, p.ID, "virtfusion", "3", map[string]string{"os_template": "12"}); err != nil {
		t.Fatal(err)
	}
	ps, err := s.CreatePanelServer(ctx, store.PanelServer{Name: "vf-1", Type: "virtfusion", BaseURL: "http://127.0.0.1:1/api/v1", TokenSealed: []byte{1}, ExtraSealed: []byte{2}, Capacity: 2, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, u, p, ps
}

func TestServiceLifecycleRecordsTimelineAndPanelRefs(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	prod, _ := s.ProductByID(ctx, p.ID)
	if prod.PanelType.String != "virtfusion" || prod.PanelPlanID != "3" || prod.PanelOptions["os_template"] != "12" {
		t.Fatalf("product panel mapping = %+v", prod)
	}
	svc, err := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID, Hostname: "web1.example.com", CreatedBy: "admin:1"})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Status != "pending" || svc.CustomerEmail != u.Email || svc.ProductName != "VPS 1" || svc.PanelType != "virtfusion" {
		t.Fatalf("created service = %+v", svc)
	}
	if err := s.SetServiceStatus(ctx, svc.ID, "needs_attention", "create failed: no capacity", store.ServiceEvent{Kind: "status", Message: "needs attention"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServicePanelRef(ctx, svc.ID, "901", map[string]string{"uuid": "abc"}, store.ServiceEvent{Kind: "panel", Message: "server 901"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServiceAccess(ctx, svc.ID, "", []string{"203.0.113.10"}, nil, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ServiceByID(ctx, svc.ID)
	if got.Status != "needs_attention" || got.Attention != "create failed: no capacity" || got.PanelServiceID != "901" ||
		got.PanelExtra["uuid"] != "abc" || len(got.IPv4) != 1 || got.IPv4[0] != "203.0.113.10" || string(got.PasswordSealed) != "sealed" || got.Hostname != "web1.example.com" {
		t.Fatalf("service after updates = %+v", got)
	}
	ev, _ := s.ServiceEvents(ctx, svc.ID)
	if len(ev) != 3 || ev[0].Kind != "created" || ev[2].Kind != "panel" {
		t.Fatalf("timeline = %+v", ev)
	}
	list, _ := s.Services(ctx, store.ServiceFilter{Status: "needs_attention"})
	if len(list) != 1 || list[0].ID != svc.ID {
		t.Fatalf("needs-attention queue = %+v", list)
	}
	if l, _ := s.Services(ctx, store.ServiceFilter{Status: "active"}); len(l) != 0 {
		t.Fatalf("active filter returned %d", len(l))
	}
}

func TestOnePanelResourceBelongsToOneService(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	a, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	b, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	if err := s.SetServicePanelRef(ctx, a.ID, "77", nil, store.ServiceEvent{Kind: "panel", Message: "adopted 77"}); err != nil {
		t.Fatal(err)
	}
	err := s.SetServicePanelRef(ctx, b.ID, "77", nil, store.ServiceEvent{Kind: "panel", Message: "adopted 77"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second claim of server 77: %v; want ErrConflict", err)
	}
	if ev, _ := s.ServiceEvents(ctx, b.ID); len(ev) != 1 {
		t.Fatalf("refused claim left a timeline entry: %+v", ev)
	}
}

func TestCustomerServiceIsScopedToItsOwner(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	other := newCustomer(t, s, "other@example.com")
	svc, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	if _, err := s.CustomerService(ctx, other.ID, svc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another customer read the service: %v", err)
	}
	if got, err := s.CustomerService(ctx, u.ID, svc.ID); err != nil || got.ID != svc.ID {
		t.Fatalf("owner cannot read the service: %v", err)
	}
}

func TestPickPanelServerRespectsCapacityAndEnabled(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	second, _ := s.CreatePanelServer(ctx, store.PanelServer{Name: "vf-2", Type: "virtfusion", BaseURL: "http://127.0.0.1:2/api/v1", TokenSealed: []byte{1}, ExtraSealed: []byte{2}, Capacity: 1, Enabled: true})
	for range 2 {
		_, _ = s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	}
	got, err := s.PickPanelServer(ctx, "virtfusion")
	if err != nil || got.ID != second.ID {
		t.Fatalf("pick = %+v, %v; want vf-2 (vf-1 is full)", got, err)
	}
	_, _ = s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: second.ID})
	if _, err := s.PickPanelServer(ctx, "virtfusion"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pick with every panel full: %v; want ErrNotFound", err)
	}
	if _, err := s.CreatePanelServer(ctx, store.PanelServer{Name: "vf-2", Type: "virtfusion", BaseURL: "http://x", TokenSealed: []byte{1}, ExtraSealed: []byte{1}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate panel name: %v", err)
	}
	list, _ := s.PanelServers(ctx)
	if len(list) != 2 || list[0].Services != 2 {
		t.Fatalf("registry = %+v", list)
	}
}

func TestAResourceOfAFinishedServiceCanBeReusedByANewOne(t *testing.T) {
	s, u, p, ps := servicesFixture(t)
	ctx := context.Background()
	old, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	if err := s.SetServicePanelRef(ctx, old.ID, "101", nil, store.ServiceEvent{Kind: "panel", Message: "server 101"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServiceStatus(ctx, old.ID, "terminated", "", store.ServiceEvent{Kind: "status", Message: "terminated"}); err != nil {
		t.Fatal(err)
	}
	next, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	if err := s.SetServicePanelRef(ctx, next.ID, "101", nil, store.ServiceEvent{Kind: "panel", Message: "server 101 resold"}); err != nil {
		t.Fatalf("the panel resold server 101 after our termination, but it cannot be recorded again: %v", err)
	}
	third, _ := s.CreateService(ctx, store.NewService{CustomerID: u.ID, ProductID: p.ID, PanelServerID: ps.ID})
	if err := s.SetServicePanelRef(ctx, third.ID, "101", nil, store.ServiceEvent{Kind: "panel", Message: "dup"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("two live services hold server 101: %v", err)
	}
}

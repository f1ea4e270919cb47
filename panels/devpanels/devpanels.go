// Package devpanels runs one simulator of each control panel on loopback, for `ezscale dev` and
// for tests, and says how the demo catalog maps onto the simulators' seeded plans.
package devpanels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ezscale/billing/devenv/simstore"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/connect"
	enhancesim "github.com/ezscale/billing/panels/enhance/sim"
	pterodactylsim "github.com/ezscale/billing/panels/pterodactyl/sim"
	"github.com/ezscale/billing/panels/simkit"
	synergycpsim "github.com/ezscale/billing/panels/synergycp/sim"
	virtfusionsim "github.com/ezscale/billing/panels/virtfusion/sim"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
)

// Sim is what tests ask of any simulator.
type Sim interface {
	http.Handler
	Faults() *simkit.Faults
	ServiceCount() int
	ServicesFor(externalID string) int
}

// Panel is one running simulator and the configuration that reaches it.
type Panel struct {
	Name   string // the registry name, e.g. "dev-virtfusion"
	Config panels.Config
	Sim    Sim
	server *http.Server
}

// Set is the four running simulators.
type Set struct {
	Panels []*Panel
}

// Options tune the simulators.
type Options struct {
	// BuildDelay is how long builds and installs take; default 3 s, so a demo shows "provisioning".
	BuildDelay time.Duration
	// State, when set, keeps the simulators' users, servers, accounts, websites and id counters
	// between runs: each simulator starts from what it saved there and saves every change. Nil
	// keeps them in memory, so every Start begins with the seeded panels.
	State simstore.Store
	// Log records failed saves of the State; nil means slog.Default().
	Log *slog.Logger
}

// Start serves one simulator of each panel type on 127.0.0.1 at free ports.
func Start(ctx context.Context, o Options) (*Set, error) {
	if o.BuildDelay == 0 {
		o.BuildDelay = 3 * time.Second
	}
	vf, err := virtfusionsim.Open(ctx, virtfusionsim.Options{BuildDelay: o.BuildDelay}, o.State, o.Log)
	if err != nil {
		return nil, fmt.Errorf("start the virtfusion simulator: %w", err)
	}
	pt, err := pterodactylsim.Open(ctx, pterodactylsim.Options{BuildDelay: o.BuildDelay, PortsPerNode: 50}, o.State, o.Log)
	if err != nil {
		return nil, fmt.Errorf("start the pterodactyl simulator: %w", err)
	}
	scp, err := synergycpsim.Open(ctx, synergycpsim.Options{BuildDelay: o.BuildDelay}, o.State, o.Log)
	if err != nil {
		return nil, fmt.Errorf("start the synergycp simulator: %w", err)
	}
	en, err := enhancesim.Open(ctx, enhancesim.Options{BuildDelay: o.BuildDelay}, o.State, o.Log)
	if err != nil {
		return nil, fmt.Errorf("start the enhance simulator: %w", err)
	}
	specs := []struct {
		typ   panels.Type
		sim   Sim
		path  string
		token string
		extra map[string]string
	}{
		{panels.VirtFusion, vf, "/api/v1", vf.Token(), map[string]string{"hypervisor_group": "1"}},
		{panels.Pterodactyl, pt, "", pt.Token(), map[string]string{"client_key": pt.ClientKey()}},
		{panels.SynergyCP, scp, "/", scp.Token(), map[string]string{}},
		{panels.Enhance, en, "/api", en.Token(), map[string]string{"org_id": en.OrgID()}},
	}
	set := &Set{}
	for _, sp := range specs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("listen for the %s simulator: %w", sp.typ, err)
		}
		srv := &http.Server{Handler: sp.sim, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		set.Panels = append(set.Panels, &Panel{
			Name:   "dev-" + string(sp.typ),
			Config: panels.Config{Type: sp.typ, BaseURL: "http://" + ln.Addr().String() + sp.path, Token: sp.token, Extra: sp.extra},
			Sim:    sp.sim,
			server: srv,
		})
	}
	return set, nil
}

// Get returns the simulator of a panel type.
func (s *Set) Get(t panels.Type) *Panel {
	for _, p := range s.Panels {
		if p.Config.Type == t {
			return p
		}
	}
	return nil
}

// Close stops every simulator.
func (s *Set) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, p := range s.Panels {
		if err := p.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Mapping is how a demo product maps onto a simulator's seeded plan.
type Mapping struct {
	Type    panels.Type
	PlanID  string
	Options map[string]string
}

// ProductMappings maps the demo catalog's product slugs onto the simulators' seed data: VPS on
// VirtFusion, dedicated servers on SynergyCP, web hosting on Enhance, game servers on Pterodactyl.
func ProductMappings() map[string]Mapping {
	vps := func(pkg string) Mapping {
		return Mapping{Type: panels.VirtFusion, PlanID: pkg, Options: map[string]string{"hypervisor_group": "1", "os_template": "1"}}
	}
	return map[string]Mapping{
		"vps-2gb": vps("2"),
		"vps-8gb": vps("3"),
		"e3-1240": {Type: panels.SynergyCP, PlanID: "RAM-32GB", Options: map[string]string{
			"cpu_billing": "CPU-E3-1230", "disks_billing": "SSD-480GB", "ips_billing": "IP-29",
			"pxe_profile": "os-ubuntu-2404", "port_speed_billing": "speed-1000",
		}},
		"web-starter": {Type: panels.Enhance, PlanID: "1", Options: map[string]string{}},
		"minecraft-4gb": {Type: panels.Pterodactyl, PlanID: "1", Options: map[string]string{
			"nest": "1", "memory": "4096", "disk": "10240", "cpu": "200", "io": "500",
			"databases": "1", "backups": "2", "allocations": "1", "location": "1",
		}},
	}
}

// Register writes the simulators into the panel registry (by name, so a restart with new ports
// updates the same entries) and maps the demo products onto their seeded plans.
func (s *Set) Register(ctx context.Context, st *store.Store, box *secrets.Box) error {
	for _, p := range s.Panels {
		token, extra, err := connect.Seal(box, p.Config.Token, p.Config.Extra)
		if err != nil {
			return err
		}
		entry := store.PanelServer{Name: p.Name, Type: string(p.Config.Type), BaseURL: p.Config.BaseURL, TokenSealed: token, ExtraSealed: extra, Enabled: true}
		existing, err := st.PanelServerByName(ctx, p.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if _, err := st.CreatePanelServer(ctx, entry); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			entry.ID, entry.Capacity, entry.Enabled = existing.ID, existing.Capacity, existing.Enabled
			if err := st.UpdatePanelServer(ctx, entry); err != nil {
				return err
			}
		}
	}
	products, err := st.Products(ctx)
	if err != nil {
		return err
	}
	maps := ProductMappings()
	for _, prod := range products {
		m, ok := maps[prod.Slug]
		if !ok || prod.PanelType.Valid {
			continue // not a demo product, or mapped already (staff may have changed it)
		}
		if err := st.SetProductPanel(ctx, prod.ID, string(m.Type), m.PlanID, m.Options); err != nil {
			return err
		}
	}
	return nil
}

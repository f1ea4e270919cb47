package sim

import (
	"context"
	"log/slog"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
)

// StateName is the name the simulator saves its state under in a simstore.Store.
const StateName = "synergycp"

// Open returns a simulator that continues from the state saved in st (the seeded inventory when
// none is) and saves its state there after every request that changes it. A nil st is New.
func Open(ctx context.Context, o Options, st simstore.Store, log *slog.Logger) (*Sim, error) {
	s := New(o)
	s.keep = simstore.NewKeeper(st, StateName, log)
	var saved state
	if err := s.keep.Resume(ctx, &saved, func() { s.restore(saved) }); err != nil {
		return nil, err
	}
	return s, nil
}

// state is what a restart keeps: clients, their keys, what each inventory server is provisioned
// as (client, access, IP block, installs, power) and the id counters. The hardware catalog and
// the inventory's servers themselves are seed data.
type state struct {
	Clients  []savedClient  `json:"clients"`
	Servers  []savedServer  `json:"servers"`
	Keys     map[string]int `json:"keys"`
	Entities int            `json:"entities"`
	LastID   map[string]int `json:"last_id"`
}

type savedClient struct {
	ID        int    `json:"id"`
	Email     string `json:"email"`
	First     string `json:"first"`
	Last      string `json:"last"`
	BillingID string `json:"billing_id"`
	VIP       bool   `json:"vip"`
}

type savedServer struct {
	ID           int            `json:"id"`
	ClientID     int            `json:"client_id"`
	BillingID    string         `json:"billing_id"`
	MaxBandwidth string         `json:"max_bandwidth"`
	Nickname     string         `json:"nickname"`
	PortSpeed    string         `json:"port_speed"`
	Power        string         `json:"power"`
	Access       *savedAccess   `json:"access"`
	Entity       *savedEntity   `json:"entity"`
	Installs     []savedInstall `json:"installs"`
}

type savedAccess struct {
	ID       int    `json:"id"`
	ClientID int    `json:"client_id"`
	Active   bool   `json:"active"`
	Reason   string `json:"reason"`
	PXE      bool   `json:"pxe"`
	IPMI     bool   `json:"ipmi"`
	Switch   bool   `json:"switch"`
}

type savedEntity struct {
	ID      int    `json:"id"`
	Network string `json:"network"`
	Address string `json:"address"`
	Gateway string `json:"gateway"`
	Prefix  int    `json:"prefix"`
	V6      string `json:"v6"`
	V6GW    string `json:"v6gw"`
}

type savedInstall struct {
	ID       int       `json:"id"`
	Profile  string    `json:"profile"` // its billing id
	ParentID int       `json:"parent_id"`
	QueuedAt time.Time `json:"queued_at"`
	Failed   bool      `json:"failed"`
}

// persist saves the state if a store keeps it; call it holding s.mu.
func (s *Sim) persist(ctx context.Context) {
	if s.keep == nil {
		return
	}
	st := state{Keys: s.keys, Entities: s.entities, LastID: s.lastID}
	for _, c := range s.clients {
		st.Clients = append(st.Clients, savedClient{ID: c.id, Email: c.email, First: c.first, Last: c.last, BillingID: c.billingID, VIP: c.vip})
	}
	for _, srv := range s.servers {
		v := savedServer{ID: srv.id, ClientID: srv.clientID, BillingID: srv.billingID, MaxBandwidth: srv.maxBandwidth,
			Nickname: srv.nickname, PortSpeed: srv.portSpeed, Power: srv.power}
		if a := srv.access; a != nil {
			v.Access = &savedAccess{ID: a.id, ClientID: a.clientID, Active: a.active, Reason: a.reason, PXE: a.pxe, IPMI: a.ipmi, Switch: a.swtch}
		}
		if e := srv.entity; e != nil {
			v.Entity = &savedEntity{ID: e.id, Network: e.network, Address: e.address, Gateway: e.gateway, Prefix: e.prefix, V6: e.v6, V6GW: e.v6gw}
		}
		for _, in := range srv.installs {
			si := savedInstall{ID: in.id, Profile: in.profile.billingID, QueuedAt: in.queuedAt, Failed: in.failed}
			if in.parent != nil {
				si.ParentID = in.parent.id
			}
			v.Installs = append(v.Installs, si)
		}
		st.Servers = append(st.Servers, v)
	}
	s.keep.Save(ctx, st)
}

// restore puts saved state in place of the freshly seeded one New made.
func (s *Sim) restore(st state) {
	s.entities = st.Entities
	for k, v := range st.Keys {
		s.keys[k] = v
	}
	for k, v := range st.LastID {
		s.lastID[k] = v
	}
	for _, c := range st.Clients {
		s.clients = append(s.clients, &client{id: c.ID, email: c.Email, first: c.First, last: c.Last, billingID: c.BillingID, vip: c.VIP})
	}
	for _, v := range st.Servers {
		srv := s.server(v.ID)
		if srv == nil {
			continue // no longer in the seeded inventory
		}
		srv.clientID, srv.billingID, srv.maxBandwidth = v.ClientID, v.BillingID, v.MaxBandwidth
		srv.nickname, srv.portSpeed, srv.power = v.Nickname, v.PortSpeed, v.Power
		if a := v.Access; a != nil {
			srv.access = &access{id: a.ID, clientID: a.ClientID, active: a.Active, reason: a.Reason, pxe: a.PXE, ipmi: a.IPMI, swtch: a.Switch}
		}
		if e := v.Entity; e != nil {
			srv.entity = &entity{id: e.ID, network: e.Network, address: e.Address, gateway: e.Gateway, prefix: e.Prefix, v6: e.V6, v6gw: e.V6GW}
		}
		byID := map[int]*install{}
		for _, si := range v.Installs {
			prof, _ := s.profile(si.Profile)
			in := &install{id: si.ID, profile: prof, parent: byID[si.ParentID], queuedAt: si.QueuedAt, failed: si.Failed}
			byID[in.id] = in
			srv.installs = append(srv.installs, in)
		}
	}
}

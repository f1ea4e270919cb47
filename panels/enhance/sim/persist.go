package sim

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
)

// StateName is the name the simulator saves its state under in a simstore.Store.
const StateName = "enhance"

// Open returns a simulator that continues from the state saved in st (the seeded reseller when
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

// state is what a restart keeps: orgs, logins, members, subscriptions, websites and the id
// counters. Plans are seed data from Options.
type state struct {
	Seq     int64          `json:"seq"`
	NextSub int64          `json:"next_sub"`
	NextSSO int64          `json:"next_sso"`
	Orgs    []savedOrg     `json:"orgs"` // in the order they were created
	Logins  []savedLogin   `json:"logins"`
	Members []savedMember  `json:"members"`
	Subs    []savedSub     `json:"subscriptions"`
	Sites   []savedWebsite `json:"websites"`
}

type savedOrg struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Parent    string    `json:"parent"`
	CreatedAt time.Time `json:"created_at"`
}

type savedLogin struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type savedMember struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	LoginID   string    `json:"login_id"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

type savedSub struct {
	ID           int64     `json:"id"`
	PlanID       int64     `json:"plan_id"`
	Subscriber   string    `json:"subscriber"`
	Vendor       string    `json:"vendor"`
	FriendlyName string    `json:"friendly_name"`
	Deleted      bool      `json:"deleted"`
	Suspended    bool      `json:"suspended"`
	CreatedAt    time.Time `json:"created_at"`
}

type savedWebsite struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	DomainID    string    `json:"domain_id"`
	Domain      string    `json:"domain"`
	ServerGroup string    `json:"server_group"`
	SubID       int64     `json:"subscription_id"`
	Deleted     bool      `json:"deleted"`
	CreatedAt   time.Time `json:"created_at"`
	ReadyAt     time.Time `json:"ready_at"`
}

// persist saves the state if a store keeps it; call it holding s.mu.
func (s *Sim) persist(ctx context.Context) {
	if s.keep == nil {
		return
	}
	st := state{Seq: s.seq, NextSub: s.nextSub, NextSSO: s.nextSSO}
	for _, id := range s.orgOrder {
		if o := s.orgs[id]; o != nil {
			st.Orgs = append(st.Orgs, savedOrg{ID: o.id, Name: o.name, Parent: o.parent, CreatedAt: o.createdAt})
		}
	}
	for _, l := range s.logins {
		st.Logins = append(st.Logins, savedLogin{ID: l.id, Email: l.email, Name: l.name, Password: l.password})
	}
	slices.SortFunc(st.Logins, func(a, b savedLogin) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range s.members {
		st.Members = append(st.Members, savedMember{ID: m.id, OrgID: m.orgID, LoginID: m.loginID, Roles: m.roles, CreatedAt: m.createdAt})
	}
	for _, sub := range s.subs {
		st.Subs = append(st.Subs, savedSub{ID: sub.id, PlanID: sub.planID, Subscriber: sub.subscriber, Vendor: sub.vendor,
			FriendlyName: sub.friendlyName, Deleted: sub.deleted, Suspended: sub.suspended, CreatedAt: sub.createdAt})
	}
	slices.SortFunc(st.Subs, func(a, b savedSub) int { return int(a.ID - b.ID) })
	for _, w := range s.sites {
		st.Sites = append(st.Sites, savedWebsite{ID: w.id, OrgID: w.orgID, DomainID: w.domainID, Domain: w.domain,
			ServerGroup: w.serverGroup, SubID: w.subID, Deleted: w.deleted, CreatedAt: w.createdAt, ReadyAt: w.readyAt})
	}
	s.keep.Save(ctx, st)
}

// restore puts saved state in place of the freshly seeded one New made.
func (s *Sim) restore(st state) {
	s.seq, s.nextSub, s.nextSSO = st.Seq, st.NextSub, st.NextSSO
	for _, o := range st.Orgs {
		if _, seeded := s.orgs[o.ID]; !seeded {
			s.orgOrder = append(s.orgOrder, o.ID)
		}
		s.orgs[o.ID] = &org{id: o.ID, name: o.Name, parent: o.Parent, createdAt: o.CreatedAt}
	}
	for _, l := range st.Logins {
		s.logins[l.ID] = &login{id: l.ID, email: l.Email, name: l.Name, password: l.Password}
	}
	for _, m := range st.Members {
		s.members = append(s.members, &member{id: m.ID, orgID: m.OrgID, loginID: m.LoginID, roles: m.Roles, createdAt: m.CreatedAt})
	}
	for _, sub := range st.Subs {
		s.subs[sub.ID] = &subscription{id: sub.ID, planID: sub.PlanID, subscriber: sub.Subscriber, vendor: sub.Vendor,
			friendlyName: sub.FriendlyName, deleted: sub.Deleted, suspended: sub.Suspended, createdAt: sub.CreatedAt}
	}
	for _, w := range st.Sites {
		s.sites = append(s.sites, &website{id: w.ID, orgID: w.OrgID, domainID: w.DomainID, domain: w.Domain,
			serverGroup: w.ServerGroup, subID: w.SubID, deleted: w.Deleted, createdAt: w.CreatedAt, readyAt: w.ReadyAt})
	}
}

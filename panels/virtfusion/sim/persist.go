package sim

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
)

// StateName is the name the simulator saves its state under in a simstore.Store.
const StateName = "virtfusion"

// Open returns a simulator that continues from the state saved in st (empty when none is) and
// saves its state there after every request that changes it. A nil st is New.
func Open(ctx context.Context, o Options, st simstore.Store, log *slog.Logger) (*Sim, error) {
	s := New(o)
	s.keep = simstore.NewKeeper(st, StateName, log)
	var saved state
	if err := s.keep.Resume(ctx, &saved, func() { s.restore(saved) }); err != nil {
		return nil, err
	}
	return s, nil
}

// state is what a restart keeps: users, servers and every counter, so ids carry on. Seed data
// (packages, groups, templates) comes from Options; hypervisor usage is counted from the servers.
type state struct {
	Users       []savedUser   `json:"users"`
	Servers     []savedServer `json:"servers"`
	NextUser    int           `json:"next_user"`
	NextServer  int           `json:"next_server"`
	NextQueue   int           `json:"next_queue"`
	NextIP      int           `json:"next_ip"`
	NextToken   int           `json:"next_token"`
	PasswordSeq int           `json:"password_seq"`
	FailBuilds  bool          `json:"fail_builds"`
}

type savedUser struct {
	ID            int       `json:"id"`
	ExtRelationID int       `json:"ext_relation_id"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	Created       time.Time `json:"created"`
}

type savedServer struct {
	ID           int       `json:"id"`
	UUID         string    `json:"uuid"`
	OwnerID      int       `json:"owner_id"`
	PackageID    int       `json:"package_id"`
	HypervisorID int       `json:"hypervisor_id"`
	Name         string    `json:"name"`
	Hostname     string    `json:"hostname"`
	State        string    `json:"state"`
	Suspended    bool      `json:"suspended"`
	BuildFailed  bool      `json:"build_failed"`
	WillFail     bool      `json:"will_fail"`
	Memory       int       `json:"memory"`
	Storage      int       `json:"storage"`
	Traffic      int       `json:"traffic"`
	Cores        int       `json:"cores"`
	IPNo         int       `json:"ip_no"`
	OSTemplate   int       `json:"os_template"`
	Password     string    `json:"password"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	BuildStart   time.Time `json:"build_start"`
	Built        time.Time `json:"built"`
	DeleteAt     time.Time `json:"delete_at"`
}

// persist saves the state if a store keeps it; call it holding s.mu.
func (s *Sim) persist(ctx context.Context) {
	if s.keep == nil {
		return
	}
	st := state{NextUser: s.nextUser, NextServer: s.nextServer, NextQueue: s.nextQueue, NextIP: s.nextIP,
		NextToken: s.nextToken, PasswordSeq: s.passwordSeq, FailBuilds: s.failBuilds}
	for _, u := range s.users {
		st.Users = append(st.Users, savedUser{ID: u.id, ExtRelationID: u.extRelationID, Name: u.name, Email: u.email, Created: u.created})
	}
	for _, sv := range s.servers {
		st.Servers = append(st.Servers, savedServer{ID: sv.id, UUID: sv.uuid, OwnerID: sv.owner.id, PackageID: sv.packageID,
			HypervisorID: sv.hv.ID, Name: sv.name, Hostname: sv.hostname, State: sv.state, Suspended: sv.suspended,
			BuildFailed: sv.buildFailed, WillFail: sv.willFail, Memory: sv.memory, Storage: sv.storage, Traffic: sv.traffic,
			Cores: sv.cores, IPNo: sv.ipNo, OSTemplate: sv.osTemplate, Password: sv.password, Created: sv.created,
			Updated: sv.updated, BuildStart: sv.buildStart, Built: sv.built, DeleteAt: sv.deleteAt})
	}
	slices.SortFunc(st.Users, func(a, b savedUser) int { return a.ID - b.ID })
	slices.SortFunc(st.Servers, func(a, b savedServer) int { return a.ID - b.ID })
	s.keep.Save(ctx, st)
}

// restore puts saved state in place of the empty one New made.
func (s *Sim) restore(st state) {
	s.nextUser, s.nextServer, s.nextQueue, s.nextIP = st.NextUser, st.NextServer, st.NextQueue, st.NextIP
	s.nextToken, s.passwordSeq, s.failBuilds = st.NextToken, st.PasswordSeq, st.FailBuilds
	for _, u := range st.Users {
		s.users[u.ID] = &user{id: u.ID, extRelationID: u.ExtRelationID, name: u.Name, email: u.Email, created: u.Created}
	}
	hvs := map[int]*hypervisor{}
	for _, g := range s.groups {
		for _, hv := range g.hvs {
			hvs[hv.ID] = hv
		}
	}
	for _, v := range st.Servers {
		owner, hv := s.users[v.OwnerID], hvs[v.HypervisorID]
		if owner == nil || hv == nil {
			continue // its user or hypervisor is gone from the seed data
		}
		sv := &server{id: v.ID, uuid: v.UUID, owner: owner, packageID: v.PackageID, hv: hv, name: v.Name,
			hostname: v.Hostname, state: v.State, suspended: v.Suspended, buildFailed: v.BuildFailed, willFail: v.WillFail,
			memory: v.Memory, storage: v.Storage, traffic: v.Traffic, cores: v.Cores, ipNo: v.IPNo, osTemplate: v.OSTemplate,
			password: v.Password, created: v.Created, updated: v.Updated, buildStart: v.BuildStart, built: v.Built,
			deleteAt: v.DeleteAt}
		hv.memUsed += sv.memory
		hv.diskUsed += sv.storage
		hv.coresUsed += sv.cores
		hv.servers++
		s.servers[sv.id] = sv
	}
}

package sim

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/ezscale/billing/devenv/simstore"
)

// StateName is the name the simulator saves its state under in a simstore.Store.
const StateName = "pterodactyl"

// Open returns a simulator that continues from the state saved in st (the seeded panel when none
// is) and saves its state there after every request that changes it. A nil st is New.
func Open(ctx context.Context, o Options, st simstore.Store, log *slog.Logger) (*Sim, error) {
	s := New(o)
	s.keep = simstore.NewKeeper(st, StateName, log)
	var saved state
	if err := s.keep.Resume(ctx, &saved, func() { s.restore(saved) }); err != nil {
		return nil, err
	}
	return s, nil
}

// state is what a restart keeps: users, servers, which allocation each server holds, users'
// client keys and the id counters. Locations, nodes and eggs are seed data from Options.
type state struct {
	Users       []savedUser    `json:"users"`
	Servers     []savedServer  `json:"servers"`
	Allocations map[int]int    `json:"allocations"` // allocation id → server id, held ones only
	ClientKeys  map[string]int `json:"client_keys"` // users' client keys → user id
	NextUser    int            `json:"next_user"`
	NextServer  int            `json:"next_server"`
	DaemonDown  bool           `json:"daemon_down"`
}

type savedUser struct {
	ID         int       `json:"id"`
	ExternalID *string   `json:"external_id"`
	UUID       string    `json:"uuid"`
	Username   string    `json:"username"`
	Email      string    `json:"email"`
	FirstName  string    `json:"first_name"`
	LastName   string    `json:"last_name"`
	Language   string    `json:"language"`
	RootAdmin  bool      `json:"root_admin"`
	Password   string    `json:"password"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

type savedServer struct {
	ID                int               `json:"id"`
	ExternalID        *string           `json:"external_id"`
	UUID              string            `json:"uuid"`
	Identifier        string            `json:"identifier"`
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	UserID            int               `json:"user_id"`
	NodeID            int               `json:"node_id"`
	AllocationID      int               `json:"allocation_id"`
	EggID             int               `json:"egg_id"`
	Image             string            `json:"image"`
	Startup           string            `json:"startup"`
	Env               map[string]string `json:"env"`
	Memory            int64             `json:"memory"`
	Swap              int64             `json:"swap"`
	Disk              int64             `json:"disk"`
	IO                int64             `json:"io"`
	CPU               int64             `json:"cpu"`
	Threads           *string           `json:"threads"`
	OOMDisabled       bool              `json:"oom_disabled"`
	Databases         *int64            `json:"databases"`
	AllocationLimit   *int64            `json:"allocation_limit"`
	Backups           *int64            `json:"backups"`
	Suspended         bool              `json:"suspended"`
	InstalledAt       time.Time         `json:"installed_at"`
	InstallFailed     bool              `json:"install_failed"`
	StartOnCompletion bool              `json:"start_on_completion"`
	Power             string            `json:"power"`
	Created           time.Time         `json:"created"`
	Updated           time.Time         `json:"updated"`
}

// persist saves the state if a store keeps it; call it holding s.mu.
func (s *Sim) persist(ctx context.Context) {
	if s.keep == nil {
		return
	}
	st := state{Allocations: map[int]int{}, ClientKeys: map[string]int{}, NextUser: s.nextUser, NextServer: s.nextServer, DaemonDown: s.daemonDown}
	for _, u := range s.users {
		st.Users = append(st.Users, savedUser{ID: u.id, ExternalID: u.externalID, UUID: u.uuid, Username: u.username,
			Email: u.email, FirstName: u.firstName, LastName: u.lastName, Language: u.language, RootAdmin: u.rootAdmin,
			Password: u.password, Created: u.created, Updated: u.updated})
	}
	for _, v := range s.servers {
		st.Servers = append(st.Servers, savedServer{ID: v.id, ExternalID: v.externalID, UUID: v.uuid, Identifier: v.identifier,
			Name: v.name, Description: v.description, UserID: v.userID, NodeID: v.nodeID, AllocationID: v.allocationID,
			EggID: v.eggID, Image: v.image, Startup: v.startup, Env: v.env, Memory: v.memory, Swap: v.swap, Disk: v.disk,
			IO: v.io, CPU: v.cpu, Threads: v.threads, OOMDisabled: v.oomDisabled, Databases: v.databases,
			AllocationLimit: v.allocationLimit, Backups: v.backups, Suspended: v.suspended, InstalledAt: v.installedAt,
			InstallFailed: v.installFailed, StartOnCompletion: v.startOnCompletion, Power: v.power, Created: v.created,
			Updated: v.updated})
	}
	slices.SortFunc(st.Users, func(a, b savedUser) int { return a.ID - b.ID })
	slices.SortFunc(st.Servers, func(a, b savedServer) int { return a.ID - b.ID })
	for _, a := range s.allocations {
		if a.serverID != 0 {
			st.Allocations[a.id] = a.serverID
		}
	}
	for key, k := range s.keys {
		if !k.application && key != s.clientKey {
			st.ClientKeys[key] = k.userID
		}
	}
	s.keep.Save(ctx, st)
}

// restore puts saved state in place of the freshly seeded one New made.
func (s *Sim) restore(st state) {
	s.nextUser, s.nextServer, s.daemonDown = st.NextUser, st.NextServer, st.DaemonDown
	for _, u := range st.Users {
		s.users[u.ID] = &user{id: u.ID, externalID: u.ExternalID, uuid: u.UUID, username: u.Username, email: u.Email,
			firstName: u.FirstName, lastName: u.LastName, language: u.Language, rootAdmin: u.RootAdmin,
			password: u.Password, created: u.Created, updated: u.Updated}
	}
	for _, v := range st.Servers {
		s.servers[v.ID] = &server{id: v.ID, externalID: v.ExternalID, uuid: v.UUID, identifier: v.Identifier,
			name: v.Name, description: v.Description, userID: v.UserID, nodeID: v.NodeID, allocationID: v.AllocationID,
			eggID: v.EggID, image: v.Image, startup: v.Startup, env: v.Env, memory: v.Memory, swap: v.Swap, disk: v.Disk,
			io: v.IO, cpu: v.CPU, threads: v.Threads, oomDisabled: v.OOMDisabled, databases: v.Databases,
			allocationLimit: v.AllocationLimit, backups: v.Backups, suspended: v.Suspended, installedAt: v.InstalledAt,
			installFailed: v.InstallFailed, startOnCompletion: v.StartOnCompletion, power: v.Power, created: v.Created,
			updated: v.Updated}
	}
	for _, a := range s.allocations {
		a.serverID = st.Allocations[a.id]
	}
	for key, uid := range st.ClientKeys {
		s.keys[key] = apiKey{userID: uid}
	}
}

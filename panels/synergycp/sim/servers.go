package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// partView is a hardware part as the API shows it.
type partView struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	BillingID string `json:"billing_id"`
	Cores     int    `json:"cores,omitempty"`
	SizeMB    int    `json:"size_mb,omitempty"`
	SizeGB    int    `json:"size_gb,omitempty"`
}

func (p part) view() partView {
	return partView{ID: p.id, Name: p.name, BillingID: p.billingID, Cores: p.cores, SizeMB: p.sizeMB, SizeGB: p.sizeGB}
}

// serverView is a server as the API shows it.
type serverView struct {
	ID        int               `json:"id"`
	SrvID     string            `json:"srv_id"`
	Nickname  *string           `json:"nickname"`
	CPU       partView          `json:"cpu"`
	Mem       partView          `json:"mem"`
	Disks     []partView        `json:"disks"`
	Addons    []partView        `json:"addons"`
	Group     map[string]string `json:"group"`
	Client    map[string]any    `json:"client"`
	Billing   map[string]any    `json:"billing"`
	Access    map[string]any    `json:"access"`
	PortSpeed map[string]string `json:"port_speed"`
	Switch    map[string]any    `json:"switch"`
	Usage     map[string]int    `json:"usage"`
}

// view renders a server (caller holds mu).
func (s *Sim) view(srv *server) serverView {
	v := serverView{
		ID: srv.id, SrvID: fmt.Sprintf("SRV-%d", srv.id), CPU: srv.cpu.view(), Mem: srv.mem.view(),
		Disks: []partView{}, Addons: []partView{},
		Group:   map[string]string{"billing_id": srv.group, "name": "Dallas"},
		Billing: map[string]any{"id": nil, "max_bandwidth": nil},
		Switch:  map[string]any{"port": map[string]int{"id": 500 + srv.id}},
		Usage:   map[string]int{"used": 0, "max": 0},
	}
	for _, d := range srv.disks {
		v.Disks = append(v.Disks, d.view())
	}
	if srv.clientID != 0 {
		nick := srv.nickname
		v.Nickname = &nick
		c := s.clientByID(srv.clientID)
		v.Client = map[string]any{"id": c.id, "name": strings.TrimSpace(c.first + " " + c.last), "email": c.email}
		v.Billing = map[string]any{"id": srv.billingID, "max_bandwidth": nilIfEmpty(srv.maxBandwidth)}
		if srv.portSpeed != "" {
			v.PortSpeed = map[string]string{"billing_id": srv.portSpeed}
		}
	}
	if srv.access != nil {
		v.Access = map[string]any{"id": srv.access.id, "is_active": srv.access.active}
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listServers is GET server with the filters the WHMCS module uses: billing_id, available,
// integration_id, client, and the inventory parts (exactly when parts[exact]=1). A client key
// sees only its own servers.
func (s *Sim) listServers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	exact := q.Get("parts[exact]") == "1" || strings.EqualFold(q.Get("parts[exact]"), "true")
	mem, cpu := q.Get("mem_billing"), q.Get("cpu_billing")
	disks, addons, groups := arrayParam(q, "disks_billing"), arrayParam(q, "addons_billing"), arrayParam(q, "ip_group_billing")
	noCapacity := s.faults.NoCapacity()

	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []string
	if mem != "" && !s.knownPart(mem) {
		errs = append(errs, "The selected mem billing is invalid.")
	}
	if cpu != "" && !s.knownPart(cpu) {
		errs = append(errs, "The selected cpu billing is invalid.")
	}
	for _, d := range disks {
		if !s.knownPart(d) {
			errs = append(errs, "The selected disks billing is invalid.")
			break
		}
	}
	if len(errs) > 0 {
		fail(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	c := who(r)
	var out []serverView
	for _, srv := range s.servers {
		switch {
		case !c.admin && srv.clientID != c.clientID,
			q.Has("billing_id") && (srv.clientID == 0 || srv.billingID != q.Get("billing_id")),
			q.Get("available") == "1" && (srv.clientID != 0 || noCapacity),
			q.Get("available") == "0" && srv.clientID == 0,
			q.Has("integration_id") && (q.Get("integration_id") != "me" || srv.clientID == 0),
			q.Has("client") && strconv.Itoa(srv.clientID) != q.Get("client"),
			mem != "" && srv.mem.billingID != mem,
			cpu != "" && srv.cpu.billingID != cpu,
			!partsMatch(srv.disks, disks, exact),
			!partsMatch(nil, addons, exact), // the seeded servers have no add-ons
			len(groups) > 0 && !slices.Contains(groups, srv.group):
			continue
		}
		out = append(out, s.view(srv))
	}
	ok(w, paginate(r, out))
}

// knownPart reports whether a billing id is in the hardware catalog (caller holds mu).
func (s *Sim) knownPart(billingID string) bool {
	for _, p := range s.parts {
		if p.billingID == billingID {
			return true
		}
	}
	return false
}

// partsMatch compares a server's parts of one kind with requested billing ids: the same multiset
// when exact, otherwise each requested part present. A kind not asked for does not constrain.
func partsMatch(have []part, want []string, exact bool) bool {
	if len(want) == 0 {
		return true
	}
	var got []string
	for _, p := range have {
		got = append(got, p.billingID)
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if exact {
		return slices.Equal(got, w)
	}
	for _, b := range w {
		i := slices.Index(got, b)
		if i < 0 {
			return false
		}
		got = slices.Delete(got, i, i+1)
	}
	return true
}

// ownServer finds the server the caller may see, answering 404 otherwise (caller holds mu).
func (s *Sim) ownServer(w http.ResponseWriter, r *http.Request) *server {
	srv := s.server(pathID(r, "id"))
	if c := who(r); srv != nil && !c.admin && srv.clientID != c.clientID {
		srv = nil
	}
	if srv == nil {
		fail(w, http.StatusNotFound, "Server not found.")
	}
	return srv
}

// getServer is GET server/{id}.
func (s *Sim) getServer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv := s.ownServer(w, r); srv != nil {
		ok(w, s.view(srv))
	}
}

// provision is POST server/provision: it assigns an inventory server to a client with a primary
// access, an IP block and the billing id, and queues the PXE profile's install when one is given.
func (s *Sim) provision(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID  flexString `json:"client_id"`
		ServerID  flexString `json:"server_id"`
		IPs       string     `json:"ips_billing"`
		PXE       string     `json:"pxe_profile_billing"`
		PortSpeed string     `json:"port_speed_billing"`
		Nickname  string     `json:"nickname"`
		Password  string     `json:"password"`
		Billing   struct {
			ID           flexString `json:"id"`
			MaxBandwidth string     `json:"max_bandwidth"`
		} `json:"billing"`
		Access struct {
			PXE    flexBool `json:"pxe"`
			IPMI   flexBool `json:"ipmi"`
			Switch flexBool `json:"switch"`
		} `json:"access"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []string
	c := s.clientByID(in.ClientID.int())
	if c == nil {
		errs = append(errs, "The selected client id is invalid.")
	}
	srv := s.server(in.ServerID.int())
	switch {
	case srv == nil:
		errs = append(errs, "The selected server id is invalid.")
	case srv.clientID != 0:
		errs = append(errs, "The selected server is not available.")
	}
	if _, known := s.ipBlocks[in.IPs]; in.IPs != "" && !known {
		errs = append(errs, "The selected ips billing is invalid.")
	}
	prof, known := s.profile(in.PXE)
	if in.PXE != "" && !known {
		errs = append(errs, "The selected pxe profile billing is invalid.")
	}
	if in.PortSpeed != "" && !s.portSpeeds[in.PortSpeed] {
		errs = append(errs, "The selected port speed billing is invalid.")
	}
	if len(errs) > 0 {
		fail(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	srv.clientID = c.id
	srv.billingID = string(in.Billing.ID)
	srv.maxBandwidth = in.Billing.MaxBandwidth
	srv.nickname = in.Nickname
	srv.portSpeed = in.PortSpeed
	srv.access = &access{id: s.nextID("access"), clientID: c.id, active: true,
		pxe: in.Access.PXE.val, ipmi: in.Access.IPMI.val, swtch: in.Access.Switch.val}
	if in.IPs != "" {
		srv.entity = s.allocate(s.ipBlocks[in.IPs])
	}
	if in.PXE != "" {
		srv.installs = append(srv.installs, &install{id: s.nextID("install"), profile: prof, queuedAt: s.now()})
	}
	ok(w, map[string]any{"server": s.view(srv)})
}

// allocate hands out the next IP block (caller holds mu).
func (s *Sim) allocate(prefix int) *entity {
	s.entities++
	n := s.entities
	net := fmt.Sprintf("198.18.%d.%d", n/32, (n%32)*8)
	addr := fmt.Sprintf("198.18.%d.%d", n/32, (n%32)*8+2)
	gw := fmt.Sprintf("198.18.%d.%d", n/32, (n%32)*8+1)
	return &entity{id: s.nextID("entity"), network: net, address: addr, gateway: gw, prefix: prefix,
		v6: fmt.Sprintf("2001:db8:%x::2", n), v6gw: fmt.Sprintf("2001:db8:%x::1", n)}
}

// patchServer is PATCH server/{id}; {"wiped": "1"} wipes the server back into inventory. An
// automatic wipe of a VIP client's server is ignored for staff review.
func (s *Sim) patchServer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Wiped    flexBool `json:"wiped"`
		Auto     flexBool `json:"auto"`
		Nickname *string  `json:"nickname"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	if in.Wiped.val && srv.clientID != 0 {
		if c := s.clientByID(srv.clientID); c.vip && in.Auto.val {
			ignoredAnswer(w, "The automatic wipe was ignored because the client is a VIP; it is pending manual review.")
			return
		}
		*srv = server{id: srv.id, cpu: srv.cpu, mem: srv.mem, disks: srv.disks, group: srv.group,
			controlID: srv.controlID, power: "off", installs: srv.installs}
	}
	if in.Nickname != nil && srv.clientID != 0 {
		srv.nickname = *in.Nickname
	}
	ok(w, s.view(srv))
}

// accessView is an access as the API shows it.
func (s *Sim) accessView(srv *server) map[string]any {
	a := srv.access
	return map[string]any{
		"id": a.id, "is_primary": true, "is_active": a.active, "suspension_reason": nilIfEmpty(a.reason),
		"pxe": a.pxe, "ipmi": a.ipmi, "switch": a.swtch,
		"client": map[string]any{"id": a.clientID}, "server": map[string]any{"id": srv.id},
	}
}

// listAccesses is GET server/{id}/access (is_primary honoured; the sim keeps only primaries).
func (s *Sim) listAccesses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	out := []map[string]any{}
	if srv.access != nil && r.URL.Query().Get("is_primary") != "0" {
		out = append(out, s.accessView(srv))
	}
	ok(w, paginate(r, out))
}

// patchAccess is PATCH server/{id}/access/{access}: is_active false suspends (with a reason),
// true unsuspends. An automatic suspension of a VIP client is ignored for staff review.
func (s *Sim) patchAccess(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IsActive flexBool `json:"is_active"`
		Auto     flexBool `json:"auto"`
		Reason   string   `json:"suspension_reason"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	if srv.access == nil || srv.access.id != pathID(r, "access") {
		fail(w, http.StatusNotFound, "Access not found.")
		return
	}
	if !in.IsActive.set {
		fail(w, http.StatusUnprocessableEntity, "The is active field is required.")
		return
	}
	if !in.IsActive.val {
		if c := s.clientByID(srv.clientID); c.vip && in.Auto.val {
			ignoredAnswer(w, "The automatic suspension was ignored because the client is a VIP; it is pending manual review.")
			return
		}
		srv.access.active, srv.access.reason = false, in.Reason
	} else {
		srv.access.active, srv.access.reason = true, ""
	}
	ok(w, s.accessView(srv))
}

// profile finds a PXE profile by billing id (caller holds mu).
func (s *Sim) profile(billingID string) (profile, bool) {
	for _, p := range s.profiles {
		if p.billingID == billingID {
			return p, true
		}
	}
	return profile{}, false
}

// status is an install's state at the sim's now: pending until its parent is done, running for
// BuildDelay, then done; failed when marked or when its parent failed.
func (s *Sim) status(in *install) string {
	if in.failed || (in.parent != nil && s.status(in.parent) == "failed") {
		return "failed"
	}
	now := s.now()
	start := s.startOf(in)
	switch {
	case now.Before(start):
		return "pending"
	case now.Before(start.Add(s.buildDelay)):
		return "running"
	}
	return "done"
}

// startOf is when an install starts: when queued, or when its parent finishes.
func (s *Sim) startOf(in *install) time.Time {
	start := in.queuedAt
	if in.parent != nil {
		if end := s.startOf(in.parent).Add(s.buildDelay); end.After(start) {
			start = end
		}
	}
	return start
}

// installView is an install as the API shows it (caller holds mu).
func (s *Sim) installView(srv *server, in *install) map[string]any {
	v := map[string]any{
		"id": in.id, "status": s.status(in),
		"pxe_profile": map[string]any{"id": in.profile.id, "name": in.profile.name, "billing_id": in.profile.billingID},
		"server":      map[string]any{"id": srv.id},
		"parent":      nil,
		"created_at":  map[string]string{"iso_8601": in.queuedAt.UTC().Format("2006-01-02T15:04:05Z07:00")},
	}
	if in.parent != nil {
		v["parent"] = map[string]any{"id": in.parent.id}
	}
	return v
}

// listInstalls is GET server/{id}/install, oldest first.
func (s *Sim) listInstalls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	out := []map[string]any{}
	for _, in := range srv.installs {
		out = append(out, s.installView(srv, in))
	}
	ok(w, paginate(r, out))
}

// createInstall is POST server/{id}/install: queue a PXE profile, optionally after a parent.
func (s *Sim) createInstall(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PXE      string `json:"pxe_profile_billing"`
		Password string `json:"password"`
		Parent   *struct {
			ID flexString `json:"id"`
		} `json:"parent"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.ownServer(w, r)
	if srv == nil {
		return
	}
	prof, known := s.profile(in.PXE)
	switch {
	case in.PXE == "":
		fail(w, http.StatusUnprocessableEntity, "The pxe profile billing field is required.")
		return
	case !known:
		fail(w, http.StatusUnprocessableEntity, "The selected pxe profile billing is invalid.")
		return
	}
	inst := &install{id: s.nextID("install"), profile: prof, queuedAt: s.now()}
	if in.Parent != nil && in.Parent.ID != "" {
		for _, p := range srv.installs {
			if p.id == in.Parent.ID.int() {
				inst.parent = p
			}
		}
		if inst.parent == nil {
			fail(w, http.StatusUnprocessableEntity, "The selected parent id is invalid.")
			return
		}
	}
	srv.installs = append(srv.installs, inst)
	ok(w, s.installView(srv, inst))
}

// listEntities is GET entity, filtered by server (an id, or "none" for unassigned blocks).
func (s *Sim) listEntities(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("server")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, srv := range s.servers {
		e := srv.entity
		if e == nil || (want != "" && want != strconv.Itoa(srv.id)) {
			continue
		}
		out = append(out, map[string]any{
			"id": e.id, "name": fmt.Sprintf("%s/%d", e.network, e.prefix),
			"address": e.address, "full_ip": fmt.Sprintf("%s/%d", e.address, e.prefix),
			"gateway": e.gateway, "subnet_mask": mask(e.prefix),
			"v6_address": e.v6 + "/64", "v6_gateway": e.v6gw,
			"server": map[string]any{"id": srv.id},
		})
	}
	ok(w, paginate(r, out))
}

// mask is a dotted IPv4 netmask for a prefix length.
func mask(prefix int) string {
	m := ^uint32(0) << (32 - prefix)
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// server is a game server on a node, holding one primary allocation.
type server struct {
	id                int
	externalID        *string
	uuid              string
	identifier        string
	name              string
	description       string
	userID            int
	nodeID            int
	allocationID      int
	eggID             int
	image             string
	startup           string
	env               map[string]string
	memory            int64
	swap              int64
	disk              int64
	io                int64
	cpu               int64
	threads           *string
	oomDisabled       bool
	databases         *int64
	allocationLimit   *int64
	backups           *int64
	suspended         bool
	installedAt       time.Time // install finishes at this time
	installFailed     bool
	startOnCompletion bool
	power             string // "" until a power signal or suspension sets it
	created           time.Time
	updated           time.Time
}

// statusOf is the server's status attribute: nil when installed and normal.
func (s *Sim) statusOf(sv *server) *string {
	var st string
	switch {
	case sv.suspended:
		st = "suspended"
	case sv.installFailed:
		st = "install_failed"
	case s.now().Before(sv.installedAt):
		st = "installing"
	default:
		return nil
	}
	return &st
}

// powerOf is the daemon's view: a server runs once installed when asked to start on completion.
func (s *Sim) powerOf(sv *server) string {
	if st := s.statusOf(sv); st != nil {
		return "offline"
	}
	if sv.power != "" {
		return sv.power
	}
	if sv.startOnCompletion {
		return "running"
	}
	return "offline"
}

func (s *Sim) serverAttrs(sv *server, inc map[string]bool) map[string]any {
	var ext, status any
	if sv.externalID != nil {
		ext = *sv.externalID
	}
	if st := s.statusOf(sv); st != nil {
		status = *st
	}
	installed := 1
	if st := s.statusOf(sv); st != nil && (*st == "installing" || *st == "install_failed") {
		installed = 0
	}
	e := s.egg(sv.eggID)
	env := map[string]any{}
	for k, v := range sv.env {
		env[k] = v
	}
	env["STARTUP"] = sv.startup
	env["P_SERVER_UUID"] = sv.uuid
	env["P_SERVER_LOCATION"] = "de-fra"
	env["SERVER_MEMORY"] = sv.memory
	if a := s.allocation(sv.allocationID); a != nil {
		env["SERVER_IP"] = a.ip
		env["SERVER_PORT"] = a.port
	}
	attrs := map[string]any{
		"id": sv.id, "external_id": ext, "uuid": sv.uuid, "identifier": sv.identifier,
		"name": sv.name, "description": sv.description, "status": status, "suspended": sv.suspended,
		"limits": map[string]any{
			"memory": sv.memory, "swap": sv.swap, "disk": sv.disk, "io": sv.io, "cpu": sv.cpu,
			"threads": sv.threads, "oom_disabled": sv.oomDisabled,
		},
		"feature_limits": map[string]any{"databases": sv.databases, "allocations": sv.allocationLimit, "backups": sv.backups},
		"user":           sv.userID, "node": sv.nodeID, "allocation": sv.allocationID,
		"nest": e.nestID, "egg": sv.eggID,
		"container": map[string]any{
			"startup_command": sv.startup, "image": sv.image, "installed": installed, "environment": env,
		},
		"updated_at": stamp(sv.updated), "created_at": stamp(sv.created),
	}
	rel := map[string]any{}
	if inc["allocations"] {
		var as []map[string]any
		for _, a := range s.allocations {
			if a.serverID == sv.id {
				as = append(as, allocationAttrs(a))
			}
		}
		rel["allocations"] = relation("allocation", as)
	}
	if inc["user"] {
		if u := s.users[sv.userID]; u != nil {
			rel["user"] = wrap("user", s.userAttrs(u))
		}
	}
	if inc["node"] {
		if n := s.node(sv.nodeID); n != nil {
			rel["node"] = wrap("node", s.nodeAttrs(n, nil))
		}
	}
	if len(rel) > 0 {
		attrs["relationships"] = rel
	}
	return attrs
}

func allocationAttrs(a *allocation) map[string]any {
	var alias any
	if a.alias != nil {
		alias = *a.alias
	}
	return map[string]any{"id": a.id, "ip": a.ip, "alias": alias, "port": a.port, "notes": nil, "assigned": a.serverID != 0}
}

func (s *Sim) listServers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	inc := includes(r)
	s.mu.Lock()
	var out []map[string]any
	for _, id := range sortedKeys(s.servers) {
		sv := s.servers[id]
		if f := q.Get("filter[external_id]"); f != "" && (sv.externalID == nil || *sv.externalID != f) {
			continue
		}
		if f := q.Get("filter[uuid]"); f != "" && f != sv.uuid {
			continue
		}
		if f := q.Get("filter[uuidShort]"); f != "" && f != sv.identifier {
			continue
		}
		if f := q.Get("filter[name]"); f != "" && f != sv.name {
			continue
		}
		out = append(out, s.serverAttrs(sv, inc))
	}
	s.mu.Unlock()
	list(w, r, "server", out)
}

func (s *Sim) getServer(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.servers[id]
	if sv == nil {
		notFound(w)
		return
	}
	item(w, http.StatusOK, "server", s.serverAttrs(sv, includes(r)))
}

func (s *Sim) getServerByExternalID(w http.ResponseWriter, r *http.Request) {
	ext := r.PathValue("external_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.servers {
		if sv.externalID != nil && *sv.externalID == ext {
			item(w, http.StatusOK, "server", s.serverAttrs(sv, includes(r)))
			return
		}
	}
	notFound(w)
}

// createServer follows StoreServerRequest, the egg variable validation, then placement by
// allocation.default or a deploy block (FindViableNodesService, AllocationSelectionService).
func (s *Sim) createServer(w http.ResponseWriter, r *http.Request) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	var v validation
	sv := &server{env: map[string]string{}, oomDisabled: true, startOnCompletion: true}
	if ext, ok := v.str(body, "external_id", false, true, 191); ok {
		for _, other := range s.servers {
			if other.externalID != nil && *other.externalID == ext {
				v.fail("external_id", "unique", "The external id has already been taken.")
				break
			}
		}
		sv.externalID = &ext
	}
	sv.name, _ = v.str(body, "name", true, false, 191)
	sv.description, _ = v.str(body, "description", false, true, 0)
	if id, ok := v.integer(body, "user", true, false, 0, 0); ok {
		if s.users[int(id)] == nil {
			v.fail("user", "exists", "The selected user is invalid.")
		}
		sv.userID = int(id)
	}
	if id, ok := v.integer(body, "egg", true, false, 0, 0); ok {
		if s.egg(int(id)) == nil {
			v.fail("egg", "exists", "The selected egg is invalid.")
		}
		sv.eggID = int(id)
	}
	sv.image, _ = v.str(body, "docker_image", true, false, 191)
	sv.startup, _ = v.str(body, "startup", true, false, 0)
	env, hasEnv := lookup(body, "environment")
	envMap, isMap := env.(map[string]any)
	switch {
	case !hasEnv:
		v.fail("environment", "present", "The environment field must be present.")
	case !isMap && env != nil:
		v.fail("environment", "array", "The environment field must be an array.")
	}
	s.limitFields(&v, body, sv, "limits.")
	s.featureFields(&v, body, sv)
	if b, ok := v.boolean(body, "start_on_completion", false); ok {
		sv.startOnCompletion = b
	}
	if b, ok := v.boolean(body, "oom_disabled", false); ok {
		sv.oomDisabled = b
	}
	_, hasDefault := lookup(body, "allocation.default")
	deploy, hasDeploy := body["deploy"]
	if !hasDefault && !hasDeploy {
		v.fail("allocation.default", "required_without", "The allocation.default field is required when deploy is not present.")
		v.fail("deploy", "required_without", "The deploy field is required when allocation.default is not present.")
	}
	var def int64
	if hasDefault {
		def, _ = v.integer(body, "allocation.default", true, false, 0, 0)
	}
	var locations []int64
	var ranges []string
	if hasDeploy && !hasDefault {
		if _, ok := deploy.(map[string]any); !ok {
			v.fail("deploy", "array", "The deploy field must be an array.")
		} else {
			v.boolean(body, "deploy.dedicated_ip", true)
			locations = v.intList(body, "deploy.locations")
			ranges = v.strList(body, "deploy.port_range")
		}
	}
	if v.write(w) {
		return
	}

	// VariableValidatorService: every egg variable is checked against its rules.
	e := s.egg(sv.eggID)
	for _, vr := range e.variables {
		val := ""
		if raw, ok := envMap[vr.env]; ok && raw != nil {
			val = fmt.Sprint(raw)
		}
		if val == "" && strings.Contains("|"+vr.rules+"|", "|required|") {
			v.fail("environment."+vr.env, "required", "The %s variable field is required.", vr.name)
			continue
		}
		sv.env[vr.env] = val
	}
	if v.write(w) {
		return
	}

	var alloc *allocation
	if hasDefault {
		alloc = s.allocation(int(def))
		if alloc == nil || alloc.serverID != 0 {
			v.fail("allocation.default", "unique", "The allocation.default has already been taken.")
			v.write(w)
			return
		}
	} else {
		var code, msg string
		alloc, code, msg = s.deploy(locations, ranges, sv.memory, sv.disk)
		if alloc == nil {
			displayError(w, code, msg)
			return
		}
	}

	now := s.now()
	sv.id = s.nextServer
	s.nextServer++
	sv.uuid = fakeUUID(fmt.Sprintf("server:%d", sv.id))
	sv.identifier = sv.uuid[:8]
	sv.nodeID = alloc.nodeID
	sv.allocationID = alloc.id
	alloc.serverID = sv.id
	sv.installedAt = now.Add(s.buildDelay)
	sv.created, sv.updated = now, now
	s.servers[sv.id] = sv
	item(w, http.StatusCreated, "server", s.serverAttrs(sv, includes(r)))
}

// limitFields validates memory, swap, disk, io and cpu under prefix ("limits." or "" for the
// legacy flat form of the build update).
func (s *Sim) limitFields(v *validation, body map[string]any, sv *server, prefix string) {
	sv.memory, _ = v.integer(body, prefix+"memory", true, false, 0, 0)
	sv.swap, _ = v.integer(body, prefix+"swap", true, false, -1, 0)
	sv.disk, _ = v.integer(body, prefix+"disk", true, false, 0, 0)
	sv.io, _ = v.integer(body, prefix+"io", true, false, 10, 1000)
	sv.cpu, _ = v.integer(body, prefix+"cpu", true, false, 0, 0)
	if t, ok := v.str(body, prefix+"threads", false, true, 191); ok {
		sv.threads = &t
	}
}

// featureFields validates feature_limits: databases and backups present (nullable), allocations optional.
func (s *Sim) featureFields(v *validation, body map[string]any, sv *server) {
	if _, ok := v.object(body, "feature_limits", true); !ok {
		return
	}
	opt := func(field string, present bool) *int64 {
		if n, ok := v.integer(body, field, false, present, 0, 0); ok {
			return &n
		}
		return nil
	}
	sv.databases = opt("feature_limits.databases", true)
	sv.backups = opt("feature_limits.backups", true)
	sv.allocationLimit = opt("feature_limits.allocations", false)
}

// intList reads an optional array of integers.
func (v *validation) intList(body map[string]any, field string) []int64 {
	raw, ok := lookup(body, field)
	if !ok || raw == nil {
		return nil
	}
	items, isList := raw.([]any)
	if !isList {
		v.fail(field, "array", "The %s field must be an array.", attr(field))
		return nil
	}
	var out []int64
	for i, it := range items {
		n, ok := asInt(it)
		if !ok || n < 1 {
			v.fail(fmt.Sprintf("%s.%d", field, i), "integer", "The %s.%d field must be an integer.", attr(field), i)
			continue
		}
		out = append(out, n)
	}
	return out
}

// strList reads an optional array of strings.
func (v *validation) strList(body map[string]any, field string) []string {
	raw, ok := lookup(body, field)
	if !ok || raw == nil {
		return nil
	}
	items, isList := raw.([]any)
	if !isList {
		v.fail(field, "array", "The %s field must be an array.", attr(field))
		return nil
	}
	var out []string
	for i, it := range items {
		str, ok := it.(string)
		if !ok {
			v.fail(fmt.Sprintf("%s.%d", field, i), "string", "The %s.%d field must be a string.", attr(field), i)
			continue
		}
		out = append(out, str)
	}
	return out
}

var portRange = regexp.MustCompile(`^(\d{1,5})(?:-(\d{1,5}))?$`)

// deploy picks the first unassigned allocation on a node that has room, or names the panel's
// exception when none can be found.
func (s *Sim) deploy(locations []int64, ranges []string, memory, disk int64) (*allocation, string, string) {
	type span struct{ lo, hi int }
	var spans []span
	for _, pr := range ranges {
		m := portRange.FindStringSubmatch(strings.TrimSpace(pr))
		if m == nil {
			return nil, "DisplayException", fmt.Sprintf("The mapping provided for %s was invalid and could not be processed.", pr)
		}
		lo, _ := strconv.Atoi(m[1])
		hi := lo
		if m[2] != "" {
			hi, _ = strconv.Atoi(m[2])
		}
		if lo > hi {
			return nil, "DisplayException", fmt.Sprintf("The mapping provided for %s was invalid and could not be processed.", pr)
		}
		spans = append(spans, span{lo, hi})
	}
	viable := map[int]bool{}
	for _, n := range s.nodes {
		if s.nodeViable(n, locations, memory, disk) {
			viable[n.id] = true
		}
	}
	if len(viable) == 0 {
		return nil, "NoViableNodeException", msgNoNode
	}
	for _, a := range s.allocations {
		if a.serverID != 0 || !viable[a.nodeID] {
			continue
		}
		inRange := len(spans) == 0
		for _, sp := range spans {
			if a.port >= sp.lo && a.port <= sp.hi {
				inRange = true
			}
		}
		if inRange {
			return a, "", ""
		}
	}
	return nil, "NoViableAllocationException", msgNoAllocation
}

// nodeViable is FindViableNodesService: public, in one of the locations (any when none given),
// with memory and disk left after overallocation.
func (s *Sim) nodeViable(n *node, locations []int64, memory, disk int64) bool {
	if !n.public || n.maintenance {
		return false
	}
	if len(locations) > 0 {
		found := false
		for _, l := range locations {
			found = found || int(l) == n.locationID
		}
		if !found {
			return false
		}
	}
	usedMem, usedDisk := s.allocated(n)
	fits := func(total, over, used, want int64) bool {
		return over < 0 || used+want <= total*(100+over)/100
	}
	return fits(n.memory, n.memoryOverallocate, usedMem, memory) && fits(n.disk, n.diskOverallocate, usedDisk, disk)
}

// allocated sums the memory and disk of the servers on a node.
func (s *Sim) allocated(n *node) (memory, disk int64) {
	for _, sv := range s.servers {
		if sv.nodeID == n.id {
			memory += sv.memory
			disk += sv.disk
		}
	}
	return memory, disk
}

// updateBuild is PATCH /servers/{id}/build (UpdateServerBuildConfigurationRequest): allocation
// and feature_limits are required; limits nested under "limits" or sent flat.
func (s *Sim) updateBuild(w http.ResponseWriter, r *http.Request) {
	id, _ := pathInt(r, "id")
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.servers[id]
	if sv == nil {
		notFound(w)
		return
	}
	var v validation
	in := &server{}
	alloc, _ := v.integer(body, "allocation", true, false, 0, 0)
	prefix := ""
	if _, nested := body["limits"]; nested {
		prefix = "limits."
	}
	s.limitFields(&v, body, in, prefix)
	s.featureFields(&v, body, in)
	oom, hasOOM := v.boolean(body, "oom_disabled", false)
	if v.write(w) {
		return
	}
	if a := s.allocation(int(alloc)); a == nil || a.serverID != sv.id {
		displayError(w, "DisplayException", "The requested default allocation is not currently assigned to this server.")
		return
	}
	sv.allocationID = int(alloc)
	sv.memory, sv.swap, sv.disk, sv.io, sv.cpu, sv.threads = in.memory, in.swap, in.disk, in.io, in.cpu, in.threads
	sv.databases, sv.allocationLimit, sv.backups = in.databases, in.allocationLimit, in.backups
	if hasOOM {
		sv.oomDisabled = oom
	}
	sv.updated = s.now()
	item(w, http.StatusOK, "server", s.serverAttrs(sv, includes(r)))
}

// suspend is SuspensionService: suspending a suspended server (or the reverse) does nothing;
// suspension stops the server.
func (s *Sim) suspend(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := pathInt(r, "id")
		s.mu.Lock()
		defer s.mu.Unlock()
		sv := s.servers[id]
		if sv == nil {
			notFound(w)
			return
		}
		if sv.suspended != on {
			sv.suspended = on
			sv.power = "offline"
			sv.updated = s.now()
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// deleteServer is ServerDeletionService: without force, a daemon that cannot be reached aborts
// the delete; with force the panel record goes regardless.
func (s *Sim) deleteServer(force bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := pathInt(r, "id")
		s.mu.Lock()
		defer s.mu.Unlock()
		sv := s.servers[id]
		if sv == nil {
			notFound(w)
			return
		}
		if s.daemonDown && !force {
			writeError(w, http.StatusGatewayTimeout, "DaemonConnectionException",
				"There was an exception while attempting to communicate with the daemon resulting in a HTTP/E_CONN_REFUSED response code. This exception has been logged.")
			return
		}
		for _, a := range s.allocations {
			if a.serverID == sv.id {
				a.serverID = 0
			}
		}
		delete(s.servers, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Sim) serverByIdentifier(ident string) *server {
	for _, sv := range s.servers {
		if sv.identifier == ident || sv.uuid == ident {
			return sv
		}
	}
	return nil
}

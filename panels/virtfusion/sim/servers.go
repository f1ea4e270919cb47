package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// server is one VirtFusion server. state runs allocated (created) → queued (build running) →
// complete or failed.
type server struct {
	id          int
	uuid        string
	owner       *user
	packageID   int
	hv          *hypervisor
	name        string
	hostname    string
	state       string
	suspended   bool
	buildFailed bool
	willFail    bool
	memory      int
	storage     int
	traffic     int
	cores       int
	ipNo        int
	osTemplate  int
	password    string
	created     time.Time
	updated     time.Time
	buildStart  time.Time
	built       time.Time
	deleteAt    time.Time // zero unless a delayed delete is pending
}

// advance finishes builds whose BuildDelay has passed and carries out delayed deletes.
func (s *Sim) advance() {
	now := s.now()
	for _, sv := range s.servers {
		if sv.state == "queued" && !now.Before(sv.buildStart.Add(s.buildDelay)) {
			sv.updated = sv.buildStart.Add(s.buildDelay)
			if sv.willFail {
				sv.state, sv.buildFailed = "failed", true
			} else {
				sv.state, sv.built = "complete", sv.updated
			}
		}
		if !sv.deleteAt.IsZero() && !now.Before(sv.deleteAt) {
			s.remove(sv)
		}
	}
}

// remove destroys a server and gives its resources back to its hypervisor.
func (s *Sim) remove(sv *server) {
	sv.hv.memUsed -= sv.memory
	sv.hv.diskUsed -= sv.storage
	sv.hv.coresUsed -= sv.cores
	sv.hv.servers--
	delete(s.servers, sv.id)
}

func (sv *server) commissionStatus() int {
	switch sv.state {
	case "queued":
		return 1
	case "failed":
		return 2
	case "complete":
		return 3
	}
	return 0
}

// view is the server object; the root password is only shown decrypted in the build answer.
func (sv *server) view(decrypted bool) map[string]any {
	var hostname, built any
	if sv.hostname != "" {
		hostname = sv.hostname
	}
	if !sv.built.IsZero() {
		built = stamp(sv.built)
	}
	settings := map[string]any{
		"osTemplateInstall":   sv.osTemplate != 0,
		"osTemplateInstallId": sv.osTemplate,
		"encryptedPassword":   base64.StdEncoding.EncodeToString([]byte("sim:" + sv.password)),
		"backupPlan":          nil,
		"uefi":                false,
		"cloudInit":           true,
		"resources": map[string]any{
			"memory": sv.memory, "storage": sv.storage, "traffic": sv.traffic, "cpuCores": sv.cores,
		},
	}
	if decrypted {
		settings["decryptedPassword"] = sv.password
	}
	n := sv.ipNo
	pending := []any{}
	if sv.state == "queued" {
		pending = append(pending, "build")
	}
	return map[string]any{
		"id": sv.id, "ownerId": sv.owner.id, "hypervisorId": sv.hv.ID, "packageId": sv.packageID,
		"arch": 1, "name": sv.name, "hostname": hostname, "uuid": sv.uuid,
		"state": sv.state, "commissionStatus": sv.commissionStatus(),
		"suspended": sv.suspended, "protected": false, "buildFailed": sv.buildFailed, "rebuild": false,
		"built": built, "created": stamp(sv.created), "updated": stamp(sv.updated),
		"settings": settings,
		"cpu":      map[string]any{"cores": sv.cores, "type": "host-model"},
		"network": map[string]any{"interfaces": []any{map[string]any{
			"id": n, "order": 1, "enabled": true, "name": "eth0", "type": "public",
			"mac": fmt.Sprintf("52:54:00:%02x:%02x:%02x", n>>16&0xff, n>>8&0xff, n&0xff),
			"ipv4": []any{map[string]any{
				"id": n, "order": 1, "enabled": true, "blockId": 1, "address": ipv4(n),
				"gateway": ipv4gw(n), "netmask": "255.255.255.0", "resolver1": "1.1.1.1", "resolver2": "8.8.8.8",
				"rdns": nil, "mac": nil,
			}},
			"ipv6": []any{map[string]any{
				"id": n, "block": map[string]any{"id": 1, "name": "sim v6"}, "order": 1, "enabled": true,
				"addresses": []any{}, "subnet": fmt.Sprintf("2001:db8:%x::", n), "cidr": 64,
				"gateway": "fe80::1", "resolver1": "2606:4700:4700::1111", "resolver2": "2001:4860:4860::8888",
			}},
		}}, "secondaryInterfaces": []any{}},
		"hypervisor": map[string]any{
			"id": sv.hv.ID, "name": sv.hv.Name, "groupId": sv.hv.groupID, "maintenance": false,
			"group": map[string]any{"name": "", "icon": nil},
		},
		"owner": map[string]any{"id": sv.owner.id, "extRelationId": sv.owner.extRelationID, "email": sv.owner.email,
			"name": sv.owner.name, "admin": false},
		"tasks": map[string]any{"active": sv.state == "queued", "actions": map[string]any{"pending": pending}},
		"vnc":   map[string]any{"ip": "127.0.0.1", "port": 5900 + n, "enabled": false},
	}
}

// ipv4 is the n-th address of the simulator's pool, in 100.64.0.0/10 (shared address space).
func ipv4(n int) string   { return fmt.Sprintf("100.64.%d.%d", n/250, n%250+2) }
func ipv4gw(n int) string { return fmt.Sprintf("100.64.%d.1", n/250) }

// lookup finds the path's server or answers 404 {"msg":"server not found"}.
func (s *Sim) lookup(q *request) (*server, bool) {
	id, _ := q.pathID("id")
	sv, ok := s.servers[id]
	if !ok {
		q.json(http.StatusNotFound, msg("server not found"))
	}
	return sv, ok
}

// busy answers 423 when a task holds the server (a running build or a pending delete).
func busy(q *request, sv *server) bool {
	switch {
	case sv.state == "queued":
		q.json(http.StatusLocked, msg("server is locked: a build task is in progress"))
	case !sv.deleteAt.IsZero():
		q.json(http.StatusLocked, msg("server is locked: it is scheduled for deletion"))
	default:
		return false
	}
	return true
}

// POST /servers: validate package, user and hypervisor group, place on the first hypervisor with
// room, and answer 201 with the server "allocated" (not built, no name). ?dryRun=true validates.
func (s *Sim) createServer(q *request) {
	b, ok := q.body()
	if !ok {
		return
	}
	var problems []string
	pid, _ := intField(b, "packageId")
	p, known := s.packages[pid]
	switch {
	case !known:
		problems = append(problems, "The selected package id is invalid.")
	case !p.Enabled:
		problems = append(problems, "The selected package is disabled.")
	}
	uid, _ := intField(b, "userId")
	owner := s.users[uid]
	if owner == nil {
		problems = append(problems, "The selected user id is invalid.")
	}
	gid, _ := intField(b, "hypervisorId")
	g := s.group(gid)
	if g == nil {
		problems = append(problems, "The selected hypervisor id is invalid.")
	}
	if len(problems) > 0 {
		q.json(http.StatusUnprocessableEntity, errs(problems...))
		return
	}
	hv := g.place(p.MemoryMB, p.StorageGB)
	if hv == nil {
		q.json(http.StatusUnprocessableEntity, errs(noCapacityMessage))
		return
	}
	if dry := q.r.URL.Query().Get("dryRun"); dry == "true" || dry == "1" {
		q.json(http.StatusOK, map[string]any{"info": []any{"dry run: the server can be created"}})
		return
	}
	s.nextServer++
	s.nextIP++
	sv := &server{
		id: s.nextServer, uuid: fmt.Sprintf("5f1d0000-0000-4000-8000-%012x", s.nextServer),
		owner: owner, packageID: p.ID, hv: hv, state: "allocated",
		memory: p.MemoryMB, storage: p.StorageGB, traffic: p.TrafficGB, cores: p.CPUCores,
		ipNo: s.nextIP, created: q.now, updated: q.now,
	}
	hv.memUsed += sv.memory
	hv.diskUsed += sv.storage
	hv.coresUsed += sv.cores
	hv.servers++
	s.servers[sv.id] = sv
	q.json(http.StatusCreated, map[string]any{"data": sv.view(false)})
}

// POST /servers/{id}/build: only an "allocated" server can be built; it is named, gets a root
// password and stays "queued" for BuildDelay.
func (s *Sim) buildServer(q *request) {
	sv, ok := s.lookup(q)
	if !ok {
		return
	}
	b, ok := q.body()
	if !ok || busy(q, sv) {
		return
	}
	var problems []string
	if sv.state != "allocated" {
		problems = append(problems, "The server has already been built.")
	}
	if sv.suspended {
		problems = append(problems, "The server is suspended.")
	}
	osID, _ := intField(b, "operatingSystemId")
	if _, known := s.templates[osID]; !known {
		problems = append(problems, "The selected operating system id is invalid.")
	}
	name, hostname := strField(b, "name"), strField(b, "hostname")
	if len(name) > 255 {
		problems = append(problems, "The name may not be greater than 255 characters.")
	}
	if hostname != "" && !validHostname(hostname) {
		problems = append(problems, "The hostname format is invalid.")
	}
	if len(problems) > 0 {
		q.json(http.StatusUnprocessableEntity, errs(problems...))
		return
	}
	if name == "" {
		name = fmt.Sprintf("server-%d", sv.id) // VirtFusion names unnamed builds itself
	}
	s.passwordSeq++
	sv.name, sv.hostname, sv.osTemplate = name, hostname, osID
	sv.password = fmt.Sprintf("Rt%06d-%s", s.passwordSeq, strings.ToUpper(strconv.FormatInt(int64(sv.id)*7919, 36)))
	sv.state, sv.buildStart, sv.updated, sv.willFail = "queued", q.now, q.now, s.failBuilds
	q.json(http.StatusOK, map[string]any{"data": sv.view(true)})
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// GET /servers/{id}
func (s *Sim) getServer(q *request) {
	if sv, ok := s.lookup(q); ok {
		q.json(http.StatusOK, map[string]any{"data": sv.view(false)})
	}
}

func (s *Sim) sorted(keep func(*server) bool) []any {
	var list []*server
	for _, sv := range s.servers {
		if keep(sv) {
			list = append(list, sv)
		}
	}
	slices.SortFunc(list, func(a, b *server) int { return a.id - b.id })
	out := []any{}
	for _, sv := range list {
		out = append(out, sv.view(false))
	}
	return out
}

// GET /servers (paginated)
func (s *Sim) listServers(q *request) {
	if pg, ok := q.paginate(s.sorted(func(*server) bool { return true })); ok {
		q.json(http.StatusOK, pg)
	}
}

// GET /servers/user/{userId}: a simple {"data":[...]} list by VirtFusion user id.
func (s *Sim) userServers(q *request) {
	uid, _ := q.pathID("userId")
	if s.users[uid] == nil {
		q.json(http.StatusNotFound, msg("user not found"))
		return
	}
	q.json(http.StatusOK, map[string]any{"data": s.sorted(func(sv *server) bool { return sv.owner.id == uid })})
}

// DELETE /servers/{id}?delay=<minutes>: 0 destroys at once; no delay means VirtFusion's default
// five-minute grace (UNCONFIRMED), after which the server is gone.
func (s *Sim) deleteServer(q *request) {
	sv, ok := s.lookup(q)
	if !ok {
		return
	}
	delay := 5
	if v := q.r.URL.Query().Get("delay"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 43800 {
			q.json(http.StatusUnprocessableEntity, errs("The delay must be between 0 and 43800."))
			return
		}
		delay = n
	}
	if delay == 0 {
		s.remove(sv)
	} else if sv.deleteAt.IsZero() {
		sv.deleteAt = q.now.Add(time.Duration(delay) * time.Minute)
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// POST /servers/{id}/suspend and /unsuspend: 204, idempotent; 423 while a task runs.
func (s *Sim) setSuspended(q *request, on bool) {
	sv, ok := s.lookup(q)
	if !ok || busy(q, sv) {
		return
	}
	sv.suspended, sv.updated = on, q.now
	q.w.WriteHeader(http.StatusNoContent)
}

// PUT /servers/{id}/package/{packageId}: applies the package's memory, cores and traffic, and its
// disk when larger (disks never shrink), if the server's hypervisor has room.
func (s *Sim) changePackage(q *request) {
	sv, ok := s.lookup(q)
	if !ok {
		return
	}
	if _, ok := q.body(); !ok || busy(q, sv) {
		return
	}
	pid, _ := q.pathID("packageId")
	p, known := s.packages[pid]
	if !known || !p.Enabled {
		q.json(http.StatusUnprocessableEntity, errs("The selected package id is invalid."))
		return
	}
	storage := max(sv.storage, p.StorageGB)
	h := sv.hv
	if h.memUsed-sv.memory+p.MemoryMB > h.MemoryMB || h.diskUsed-sv.storage+storage > h.StorageGB {
		q.json(http.StatusUnprocessableEntity, errs("The hypervisor does not have enough resources for this package."))
		return
	}
	var info []any
	note := func(what string, from, to int) {
		if from == to {
			info = append(info, what+" not updated. It matches the current value")
		} else {
			info = append(info, fmt.Sprintf("%s updated from %d to %d", what, from, to))
		}
	}
	note("Memory", sv.memory, p.MemoryMB)
	note("CPU cores", sv.cores, p.CPUCores)
	note("Traffic", sv.traffic, p.TrafficGB)
	if p.StorageGB < sv.storage {
		info = append(info, "Primary disk not updated. It either matches or is lower than the current value")
	} else {
		note("Primary disk", sv.storage, storage)
	}
	h.memUsed += p.MemoryMB - sv.memory
	h.diskUsed += storage - sv.storage
	h.coresUsed += p.CPUCores - sv.cores
	sv.packageID, sv.memory, sv.storage, sv.cores, sv.traffic, sv.updated = p.ID, p.MemoryMB, storage, p.CPUCores, p.TrafficGB, q.now
	q.json(http.StatusOK, map[string]any{"info": info})
}

// built refuses actions on a server that has no operating system yet, or is suspended.
func built(q *request, sv *server) bool {
	switch {
	case sv.state == "allocated" || sv.state == "failed":
		q.json(http.StatusUnprocessableEntity, errs("The server has not been built."))
	case sv.suspended:
		q.json(http.StatusUnprocessableEntity, errs("The server is suspended."))
	default:
		return true
	}
	return false
}

// POST /servers/{id}/power/{boot|shutdown|restart|poweroff}: 200 with a queue id.
func (s *Sim) power(q *request) {
	sv, ok := s.lookup(q)
	if !ok || busy(q, sv) || !built(q, sv) {
		return
	}
	switch q.r.PathValue("action") {
	case "boot", "shutdown", "restart", "poweroff":
	default:
		q.json(http.StatusUnprocessableEntity, errs("The selected power action is invalid."))
		return
	}
	s.nextQueue++
	q.json(http.StatusOK, map[string]any{"data": map[string]any{"queueId": s.nextQueue}})
}

// POST /servers/{id}/resetPassword {"user":"root"|"Administrator","sendMail":bool}: 200 with the
// queue id and the password the server will have.
func (s *Sim) resetPassword(q *request) {
	sv, ok := s.lookup(q)
	if !ok {
		return
	}
	b, ok := q.body()
	if !ok || busy(q, sv) || !built(q, sv) {
		return
	}
	if u := strField(b, "user"); u != "" && u != "root" && u != "Administrator" {
		q.json(http.StatusUnprocessableEntity, errs("The selected user is invalid."))
		return
	}
	s.passwordSeq++
	s.nextQueue++
	sv.password = fmt.Sprintf("Rs%06d-%s", s.passwordSeq, strings.ToUpper(strconv.FormatInt(int64(sv.id)*104729, 36)))
	sv.updated = q.now
	q.json(http.StatusOK, map[string]any{"data": map[string]any{"queueId": s.nextQueue, "expectedPassword": sv.password}})
}

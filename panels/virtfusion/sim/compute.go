package sim

import (
	"net/http"
	"slices"
)

func (p Package) view() map[string]any {
	return map[string]any{
		"id": p.ID, "name": p.Name, "description": nil, "enabled": p.Enabled,
		"memory": p.MemoryMB, "primaryStorage": p.StorageGB, "traffic": p.TrafficGB, "cpuCores": p.CPUCores,
		"primaryNetworkSpeedIn": 0, "primaryNetworkSpeedOut": 0, "primaryStorageProfile": 1,
		"created": "2024-01-01T00:00:00+00:00",
	}
}

// GET /packages
func (s *Sim) listPackages(q *request) {
	var ids []int
	for id := range s.packages {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := []any{}
	for _, id := range ids {
		out = append(out, s.packages[id].view())
	}
	q.json(http.StatusOK, map[string]any{"data": out})
}

// GET /packages/{id}
func (s *Sim) getPackage(q *request) {
	id, _ := q.pathID("id")
	p, ok := s.packages[id]
	if !ok {
		q.json(http.StatusNotFound, msg("package not found"))
		return
	}
	q.json(http.StatusOK, map[string]any{"data": p.view()})
}

// GET /media/templates/fromServerPackageSpec/{id}: every template suits every package.
func (s *Sim) templatesFor(q *request) {
	id, _ := q.pathID("id")
	if _, ok := s.packages[id]; !ok {
		q.json(http.StatusNotFound, msg("package not found"))
		return
	}
	var ids []int
	for id := range s.templates {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ts := []any{}
	for _, id := range ids {
		t := s.templates[id]
		ts = append(ts, map[string]any{"id": t.ID, "name": t.Name, "version": "", "variant": "", "arch": 1,
			"description": "", "icon": nil, "eol": false, "type": "linux"})
	}
	q.json(http.StatusOK, map[string]any{"data": []any{map[string]any{
		"id": 1, "name": "Linux", "description": "", "icon": nil, "templates": ts,
	}}})
}

func (s *Sim) group(id int) *group {
	for _, g := range s.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func (g *group) view(first bool) map[string]any {
	return map[string]any{
		"id": g.ID, "name": g.Name, "label": nil, "description": g.Name + " hypervisor group",
		"distributionType": 5, "enabled": true, "default": first,
		"created": "2024-01-01T00:00:00+00:00", "updated": "2024-01-01T00:00:00+00:00",
	}
}

// GET /compute/hypervisors/groups (paginated)
func (s *Sim) listGroups(q *request) {
	var items []any
	for i, g := range s.groups {
		items = append(items, g.view(i == 0))
	}
	if pg, ok := q.paginate(items); ok {
		q.json(http.StatusOK, pg)
	}
}

// GET /compute/hypervisors/groups/{id}
func (s *Sim) getGroup(q *request) {
	id, _ := q.pathID("id")
	g := s.group(id)
	if g == nil {
		q.json(http.StatusNotFound, msg("hypervisor group not found"))
		return
	}
	q.json(http.StatusOK, map[string]any{"data": g.view(g == s.groups[0])})
}

// GET /compute/hypervisors/groups/{id}/resources (paginated): what each hypervisor has left.
// With the no-capacity fault switched on, every hypervisor reports itself full.
func (s *Sim) groupResources(q *request) {
	id, _ := q.pathID("id")
	g := s.group(id)
	if g == nil {
		q.json(http.StatusNotFound, msg("hypervisor group not found"))
		return
	}
	full := s.faults.NoCapacity()
	var items []any
	for _, h := range g.hvs {
		memUsed, diskUsed := h.memUsed, h.diskUsed
		if full {
			memUsed, diskUsed = h.MemoryMB, h.StorageGB
		}
		serversFree := -1
		if h.MaxServers > 0 {
			serversFree = h.MaxServers - h.servers
		}
		items = append(items, map[string]any{
			"hypervisor": map[string]any{"id": h.ID, "name": h.Name, "enabled": true, "prohibit": false,
				"accept": true, "commissioned": true},
			"resources": map[string]any{
				"servers":  meter("#", h.MaxServers, h.servers, serversFree),
				"memory":   meter("MB", h.MemoryMB, memUsed, h.MemoryMB-memUsed),
				"cpuCores": meter("#", h.CPUCores, h.coresUsed, h.CPUCores-h.coresUsed),
				"localStorage": func() map[string]any {
					m := meter("GB", h.StorageGB, diskUsed, h.StorageGB-diskUsed)
					m["enabled"], m["name"], m["storageType"] = 1, "Local", 1
					return m
				}(),
				"otherStorage": []any{},
				"network":      map[string]any{"total": map[string]any{"ipv4": map[string]any{"free": 250 - s.nextIP%250}}},
			},
		})
	}
	if pg, ok := q.paginate(items); ok {
		q.json(http.StatusOK, pg)
	}
}

func meter(units string, maxV, allocated, free int) map[string]any {
	var pct any
	if maxV > 0 {
		pct = float64(allocated*1000/maxV) / 10
	}
	return map[string]any{"units": units, "max": maxV, "allocated": allocated, "free": free, "percent": pct}
}

// place picks the first hypervisor of g with room for memMB and diskGB, or nil.
func (g *group) place(memMB, diskGB int) *hypervisor {
	for _, h := range g.hvs {
		if h.MemoryMB-h.memUsed >= memMB && h.StorageGB-h.diskUsed >= diskGB &&
			(h.MaxServers == 0 || h.servers < h.MaxServers) {
			return h
		}
	}
	return nil
}

package sim

import (
	"net/http"
	"strconv"
)

func (s *Sim) nodeAttrs(n *node, inc map[string]bool) map[string]any {
	mem, disk := s.allocated(n)
	attrs := map[string]any{
		"id": n.id, "uuid": n.uuid, "public": n.public, "name": n.name, "description": nil,
		"location_id": n.locationID, "fqdn": n.fqdn, "scheme": "https", "behind_proxy": false,
		"maintenance_mode": n.maintenance, "memory": n.memory, "memory_overallocate": n.memoryOverallocate,
		"disk": n.disk, "disk_overallocate": n.diskOverallocate, "upload_size": 100,
		"daemon_listen": 8080, "daemon_sftp": 2022, "daemon_base": "/var/lib/pterodactyl/volumes",
		"created_at": stamp(n.created), "updated_at": stamp(n.created),
		"allocated_resources": map[string]any{"memory": mem, "disk": disk},
	}
	if s.faults.NoCapacity() {
		// The no-capacity fault shows every node full, so capacity checks agree with creates.
		attrs["allocated_resources"] = map[string]any{"memory": n.memory, "disk": n.disk}
	}
	rel := map[string]any{}
	if inc["allocations"] {
		var as []map[string]any
		for _, a := range s.allocations {
			if a.nodeID == n.id {
				aa := allocationAttrs(a)
				if s.faults.NoCapacity() {
					aa["assigned"] = true
				}
				as = append(as, aa)
			}
		}
		rel["allocations"] = relation("allocation", as)
	}
	if inc["location"] {
		for _, l := range s.locations {
			if l.id == n.locationID {
				rel["location"] = wrap("location", locationAttrs(l))
			}
		}
	}
	if len(rel) > 0 {
		attrs["relationships"] = rel
	}
	return attrs
}

func locationAttrs(l *location) map[string]any {
	return map[string]any{"id": l.id, "short": l.short, "long": l.long}
}

func (s *Sim) listNodes(w http.ResponseWriter, r *http.Request) {
	inc := includes(r)
	s.mu.Lock()
	var out []map[string]any
	for _, n := range s.nodes {
		out = append(out, s.nodeAttrs(n, inc))
	}
	s.mu.Unlock()
	list(w, r, "node", out)
}

func (s *Sim) listLocations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var out []map[string]any
	for _, l := range s.locations {
		out = append(out, locationAttrs(l))
	}
	s.mu.Unlock()
	list(w, r, "location", out)
}

func (s *Sim) eggAttrs(e *egg, inc map[string]bool) map[string]any {
	attrs := map[string]any{
		"id": e.id, "uuid": fakeUUID("egg:" + strconv.Itoa(e.id)), "name": e.name, "nest": e.nestID,
		"author": "support@pterodactyl.io", "description": nil,
		"docker_image": e.dockerImage, "docker_images": map[string]string{e.dockerImage: e.dockerImage},
		"startup": e.startup, "created_at": stamp(e.created), "updated_at": stamp(e.created),
	}
	if inc["variables"] {
		var vs []map[string]any
		for _, v := range e.variables {
			vs = append(vs, map[string]any{
				"id": v.id, "egg_id": e.id, "name": v.name, "description": "", "env_variable": v.env,
				"default_value": v.def, "user_viewable": true, "user_editable": true, "rules": v.rules,
				"created_at": stamp(v.created), "updated_at": stamp(v.created),
			})
		}
		attrs["relationships"] = map[string]any{"variables": relation("egg_variable", vs)}
	}
	return attrs
}

func (s *Sim) listEggs(w http.ResponseWriter, r *http.Request) {
	nestID, _ := pathInt(r, "nest")
	inc := includes(r)
	s.mu.Lock()
	found := false
	var out []map[string]any
	for _, n := range s.nests {
		found = found || n.id == nestID
	}
	for _, e := range s.eggs {
		if e.nestID == nestID {
			out = append(out, s.eggAttrs(e, inc))
		}
	}
	s.mu.Unlock()
	if !found {
		notFound(w)
		return
	}
	list(w, r, "egg", out)
}

func (s *Sim) getEgg(w http.ResponseWriter, r *http.Request) {
	nestID, _ := pathInt(r, "nest")
	eggID, _ := pathInt(r, "egg")
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.egg(eggID)
	if e == nil || e.nestID != nestID {
		notFound(w)
		return
	}
	item(w, http.StatusOK, "egg", s.eggAttrs(e, includes(r)))
}

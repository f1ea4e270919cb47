package synergycp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// Details reads the server, its primary access (inactive = suspended), its latest OS install
// (queued/running = building, done = active, failed = failed) and its IP entities. A server that
// went back to inventory or now serves another order is KindNotFound.
func (c *Client) Details(ctx context.Context, s panels.Service) (panels.Details, error) {
	srv, err := c.ownedServer(ctx, s, "read server")
	if err != nil {
		return panels.Details{}, err
	}
	d := panels.Details{Hostname: srv.Nickname}
	d.CPU, d.MemoryMB, d.DiskGB = srv.resources()

	acc, hasAccess, err := c.primaryAccess(ctx, srv.ID)
	if err != nil {
		return panels.Details{}, err
	}
	latest, hasInstall, err := c.latestInstall(ctx, srv.ID)
	if err != nil {
		return panels.Details{}, err
	}
	if d.IPv4, d.IPv6, err = c.addresses(ctx, srv.ID); err != nil {
		return panels.Details{}, err
	}

	switch {
	case hasAccess && !bool(acc.IsActive):
		d.State = panels.StateSuspended
	case !hasInstall:
		d.State = panels.StateActive
		d.Message = "no OS install is recorded for this server"
	case c.preInstall != "" && latest.Profile == c.preInstall:
		// FindService reports such a server as not found so CreateService queues the OS; seeing it
		// here means the create was never resumed.
		d.State = panels.StateFailed
		d.Message = "only the pre-install profile was queued; the OS install is missing"
	default:
		state, known := installState(latest.Status)
		d.State = state
		switch {
		case !known:
			d.Message = fmt.Sprintf("OS install %s has status %q", latest.ID, latest.Status)
		case state == panels.StateFailed:
			d.Message = fmt.Sprintf("OS install %s failed", latest.ID)
		}
	}
	return d, nil
}

// installState maps an install's status to a state. Only pending/running/done/failed are
// taken from the brief; the other spellings are accepted because the field is UNCONFIRMED.
// Unknown statuses count as building and are reported in Details.Message.
func installState(status string) (panels.State, bool) {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "pending", "queued", "running", "installing", "in_progress", "in-progress", "started":
		return panels.StateBuilding, true
	case "done", "complete", "completed", "finished", "success", "succeeded":
		return panels.StateActive, true
	case "failed", "failure", "error", "errored", "cancelled", "canceled":
		return panels.StateFailed, true
	}
	return panels.StateBuilding, false
}

// Suspend deactivates the client's primary access (and with it the switch port), marked as
// automatic. A VIP client's refusal ("ignored") is KindConflict "pending manual review".
func (c *Client) Suspend(ctx context.Context, s panels.Service, reason string) error {
	return c.setAccess(ctx, s, "suspend server", map[string]any{
		"is_active": false, "auto": true, "suspension_reason": reason,
	})
}

// Unsuspend reactivates the client's primary access.
func (c *Client) Unsuspend(ctx context.Context, s panels.Service) error {
	return c.setAccess(ctx, s, "unsuspend server", map[string]any{"is_active": true})
}

// setAccess patches the primary access of the service's server.
func (c *Client) setAccess(ctx context.Context, s panels.Service, op string, body map[string]any) error {
	if s.ID == "" {
		return invalid(op, "the service has no server id")
	}
	op += " " + s.ID
	accessID := s.Extra["access_id"]
	if accessID == "" {
		// Only look the access up on a server that is still ours: after a wipe and resale the
		// primary access is another customer's.
		if _, err := c.ownedServer(ctx, s, op); err != nil {
			return err
		}
		acc, ok, err := c.primaryAccess(ctx, ref(s.ID))
		if err != nil {
			return err
		}
		if !ok {
			return &panels.Error{Panel: panel, Op: op, Kind: panels.KindNotFound, Message: "the server has no primary access"}
		}
		accessID = string(acc.ID)
	}
	return c.do(ctx, request{op: op, method: http.MethodPatch,
		path: "server/" + url.PathEscape(s.ID) + "/access/" + url.PathEscape(accessID), body: body}, nil)
}

// Terminate wipes the server, which returns it to inventory; it is marked automatic, so a VIP
// client's refusal is KindConflict "pending manual review". A server already wiped, unknown, or
// provisioned to another order since is already gone: success.
func (c *Client) Terminate(ctx context.Context, s panels.Service) error {
	op := "terminate server " + s.ID
	if _, err := c.ownedServer(ctx, s, op); err != nil {
		if isKind(err, panels.KindNotFound) {
			return nil
		}
		return err
	}
	err := c.do(ctx, request{op: op, method: http.MethodPatch, path: "server/" + url.PathEscape(s.ID),
		body: map[string]any{"wiped": "1", "auto": true}}, nil)
	if isKind(err, panels.KindNotFound) {
		return nil
	}
	return err
}

// ChangePackage is unsupported: a dedicated server's hardware cannot change in place, so a
// package change needs a new server (provision the new package, move the data, terminate this one).
func (c *Client) ChangePackage(ctx context.Context, s panels.Service, p panels.Package) error {
	return unsupported("change package of server "+s.ID,
		"a dedicated server's hardware cannot change in place; a package change needs a new server")
}

// ResetPassword is unsupported: the OS and IPMI passwords are set by the install, and SynergyCP
// has no password reset short of reinstalling the server.
func (c *Client) ResetPassword(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	return "", unsupported("reset password of server "+s.ID,
		"the root password is set at OS install; SynergyCP cannot reset it without a reinstall")
}

// ownedServer reads the service's server and checks it is still provisioned for this service:
// SynergyCP recycles wiped servers, so an id alone may now be another customer's machine.
// Without a billing_id in s.Extra it only checks that the server is provisioned at all.
func (c *Client) ownedServer(ctx context.Context, s panels.Service, op string) (server, error) {
	if s.ID == "" {
		return server{}, invalid(op, "the service has no server id")
	}
	var srv server
	err := c.do(ctx, request{op: op, method: http.MethodGet, path: "server/" + url.PathEscape(s.ID)}, &srv)
	if err != nil {
		return server{}, err
	}
	want := s.Extra["billing_id"]
	if srv.clientID() == "" || (want != "" && srv.billingID() != want) {
		return server{}, &panels.Error{Panel: panel, Op: op, Kind: panels.KindNotFound,
			Message: "server " + s.ID + " is back in inventory or serves another order"}
	}
	return srv, nil
}

// primaryAccess is the server's primary access (the customer's grant), if any.
func (c *Client) primaryAccess(ctx context.Context, id ref) (access, bool, error) {
	var p page[access]
	err := c.do(ctx, request{op: "list accesses of server " + string(id), method: http.MethodGet,
		path: "server/" + url.PathEscape(string(id)) + "/access", query: url.Values{"is_primary": {"1"}}}, &p)
	if err != nil {
		return access{}, false, err
	}
	for _, a := range p.Items {
		if a.ID != "" && bool(a.IsPrimary) {
			return a, true, nil
		}
	}
	if len(p.Items) > 0 && p.Items[0].ID != "" {
		return p.Items[0], true, nil // the filter asked for primary ones; the flag may be omitted
	}
	return access{}, false, nil
}

// latestInstall is the server's most recent install (highest id), reading the last page when
// the list spans several.
func (c *Client) latestInstall(ctx context.Context, id ref) (install, bool, error) {
	op := "list installs of server " + string(id)
	path := "server/" + url.PathEscape(string(id)) + "/install"
	var p page[install]
	if err := c.do(ctx, request{op: op, method: http.MethodGet, path: path,
		query: url.Values{"page": {"1"}, "per_page": {"100"}}}, &p); err != nil {
		return install{}, false, err
	}
	if p.LastPage > 1 {
		var last page[install]
		if err := c.do(ctx, request{op: op, method: http.MethodGet, path: path,
			query: url.Values{"page": {strconv.Itoa(p.LastPage)}, "per_page": {"100"}}}, &last); err != nil {
			return install{}, false, err
		}
		p.Items = append(p.Items, last.Items...)
	}
	var latest install
	found := false
	for _, in := range p.Items {
		if in.ID != "" && (!found || newer(in.ID, latest.ID)) {
			latest, found = in, true
		}
	}
	return latest, found, nil
}

// newer compares ids numerically when both are numbers; otherwise the later one in the list wins.
func newer(a, b ref) bool {
	x, errA := strconv.ParseInt(string(a), 10, 64)
	y, errB := strconv.ParseInt(string(b), 10, 64)
	if errA != nil || errB != nil {
		return true
	}
	return x > y
}

// addresses reads the server's IP entities: IPv4 from address (or full_ip), IPv6 from v6_address.
func (c *Client) addresses(ctx context.Context, id ref) (v4, v6 []string, err error) {
	var p page[entity]
	err = c.do(ctx, request{op: "list IPs of server " + string(id), method: http.MethodGet, path: "entity",
		query: url.Values{"server": {string(id)}, "page": {"1"}, "per_page": {"100"}}}, &p)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range p.Items {
		if ip := bare(e.Address); ip != "" {
			v4 = append(v4, ip)
		} else if ip := bare(e.FullIP); ip != "" {
			v4 = append(v4, ip)
		}
		if ip := bare(e.V6Address); ip != "" {
			v6 = append(v6, ip)
		}
	}
	return v4, v6, nil
}

// bare drops a "/prefix" from an address.
func bare(ip string) string {
	ip = strings.TrimSpace(ip)
	if i := strings.IndexByte(ip, '/'); i >= 0 {
		ip = ip[:i]
	}
	return ip
}

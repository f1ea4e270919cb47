package synergycp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// Package.PlanID is the memory billing id (mem_billing). Package.Options keys:
//
//	cpu_billing         CPU billing id the server must have
//	disks_billing       disk billing ids, comma-separated, one per bay ("SSD-480GB,SSD-480GB")
//	addons_billing      add-on billing ids, comma-separated (optional)
//	ip_group_billing    IP group (location) billing ids, comma-separated (optional)
//	ips_billing         IP block billing id to assign (e.g. "IP-29")
//	pxe_profile         PXE profile billing id of the OS to install (required)
//	port_speed_billing  switch port speed billing id (e.g. "speed-1000")
//	max_bandwidth       bandwidth allowance recorded on the billing (e.g. "20000GB", optional)
//
// Inventory is matched exactly on these parts (parts[exact]=1), as the WHMCS module does.

// FindService finds the server provisioned with billing.id = our service id. A server whose OS
// install was never queued (the create stopped between provisioning and queuing the install) is
// reported as not found, so the caller's CreateService resumes it; CreateService looks the server
// up by billing id first and never provisions a second one.
func (c *Client) FindService(ctx context.Context, a panels.Account, serviceID int64) (panels.Service, bool, error) {
	if serviceID <= 0 {
		return panels.Service{}, false, invalid("find server", "service id must be positive")
	}
	srv, ok, err := c.serverFor(ctx, serviceID)
	if err != nil || !ok {
		return panels.Service{}, false, err
	}
	pending, _, err := c.installPending(ctx, srv.ID)
	if err != nil || pending {
		return panels.Service{}, false, err
	}
	svc, err := c.service(ctx, srv, serviceID)
	if err != nil {
		return panels.Service{}, false, err
	}
	return svc, true, nil
}

// CreateService takes a matching server from inventory, provisions it to the client with
// billing.id = our service id and the OS (or the pre-install profile) as its PXE profile, then
// queues the OS install after the pre-install when one is configured. It resumes a server already
// provisioned for the service instead of taking another. No matching inventory is KindNoCapacity.
func (c *Client) CreateService(ctx context.Context, r panels.CreateRequest) (panels.Service, error) {
	const op = "create server"
	switch {
	case r.ServiceID <= 0:
		return panels.Service{}, invalid(op, "service id must be positive")
	case r.Account.ID == "":
		return panels.Service{}, invalid(op, "the client (account) id is required")
	case strings.TrimSpace(r.Package.PlanID) == "":
		return panels.Service{}, invalid(op, "the package's memory billing id (plan id) is required")
	case option(r.Package, "pxe_profile") == "":
		return panels.Service{}, invalid(op, `the package option "pxe_profile" (OS profile billing id) is required`)
	}
	srv, ok, err := c.serverFor(ctx, r.ServiceID)
	if err != nil {
		return panels.Service{}, err
	}
	if !ok {
		if srv, err = c.provision(ctx, r); err != nil {
			return panels.Service{}, err
		}
	}
	if err := c.ensureInstall(ctx, srv.ID, r); err != nil {
		return panels.Service{}, err
	}
	return c.service(ctx, srv, r.ServiceID)
}

// CheckCapacity asks the inventory for a server matching the package's parts.
func (c *Client) CheckCapacity(ctx context.Context, p panels.Package) (panels.Capacity, error) {
	if strings.TrimSpace(p.PlanID) == "" {
		return panels.Capacity{}, invalid("check inventory", "the package's memory billing id (plan id) is required")
	}
	stock, err := c.inventory(ctx, p, 1)
	if err != nil {
		return panels.Capacity{}, err
	}
	if len(stock) == 0 {
		return panels.Capacity{Reason: "no server with this hardware is in stock right now"}, nil
	}
	return panels.Capacity{Available: true}, nil
}

// provision assigns the first matching inventory server to the client.
func (c *Client) provision(ctx context.Context, r panels.CreateRequest) (server, error) {
	op := fmt.Sprintf("provision server for service %d", r.ServiceID)
	stock, err := c.inventory(ctx, r.Package, 100)
	if err != nil {
		return server{}, err
	}
	if len(stock) == 0 {
		return server{}, &panels.Error{Panel: panel, Op: op, Kind: panels.KindNoCapacity,
			Message: "no server in inventory matches " + describe(r.Package)}
	}
	pick := stock[0]
	profile := option(r.Package, "pxe_profile")
	if c.preInstall != "" {
		profile = c.preInstall // the OS install is chained after it by ensureInstall
	}
	billing := map[string]any{"id": r.ServiceID}
	if v := option(r.Package, "max_bandwidth"); v != "" {
		billing["max_bandwidth"] = v
	}
	body := map[string]any{
		"client_id":           number(ref(r.Account.ID)),
		"server_id":           number(pick.ID),
		"pxe_profile_billing": profile,
		"nickname":            r.Hostname,
		"billing":             billing,
		"access":              map[string]bool{"pxe": true, "ipmi": true, "switch": true},
	}
	for _, k := range []string{"ips_billing", "port_speed_billing"} {
		if v := option(r.Package, k); v != "" {
			body[k] = v
		}
	}
	if r.Password != "" {
		body["password"] = r.Password
	}
	var out struct {
		Server server `json:"server"`
	}
	err = c.do(ctx, request{op: op, method: http.MethodPost, path: "server/provision", body: body}, &out)
	if err != nil {
		return server{}, c.explainRefusal(ctx, err, r.Package, pick.ID)
	}
	if out.Server.ID == "" {
		out.Server = pick // the answer did not echo the server; it is the one we asked for
	}
	return out.Server, nil
}

// explainRefusal re-reads the inventory after a refused provision: when the server we picked is
// no longer free another order took it meanwhile, which is worth retrying while other servers are
// left and is no capacity when none are. Otherwise the refusal is about our input and stands.
func (c *Client) explainRefusal(ctx context.Context, err error, p panels.Package, picked ref) error {
	var e *panels.Error
	if !errors.As(err, &e) || (e.Kind != panels.KindValidation && e.Kind != panels.KindConflict) {
		return err
	}
	stock, qerr := c.inventory(ctx, p, 100)
	if qerr != nil {
		return err
	}
	for _, s := range stock {
		if s.ID == picked {
			return err
		}
	}
	if len(stock) == 0 {
		e.Kind = panels.KindNoCapacity
		e.Message = strings.TrimPrefix(e.Message+"; no server in inventory matches "+describe(p), "; ")
	} else {
		e.Kind = panels.KindTemporary
		e.Message = strings.TrimPrefix(e.Message+"; server "+string(picked)+" was taken by another order, others are free", "; ")
	}
	return e
}

// ensureInstall queues the OS install unless it is already queued: after the pre-install when
// one is configured, or when the provision queued nothing.
func (c *Client) ensureInstall(ctx context.Context, id ref, r panels.CreateRequest) error {
	pending, latest, err := c.installPending(ctx, id)
	if err != nil || !pending {
		return err
	}
	body := map[string]any{"pxe_profile_billing": option(r.Package, "pxe_profile")}
	if latest.ID != "" {
		body["parent"] = map[string]any{"id": number(latest.ID)} // runs after the pre-install
	}
	if r.Password != "" {
		body["password"] = r.Password
	}
	return c.do(ctx, request{op: "queue OS install on server " + string(id), method: http.MethodPost,
		path: "server/" + url.PathEscape(string(id)) + "/install", body: body}, nil)
}

// installPending reports whether the server still needs its OS install queued: it has no install
// at all, or its latest install is the pre-install profile.
func (c *Client) installPending(ctx context.Context, id ref) (bool, install, error) {
	latest, ok, err := c.latestInstall(ctx, id)
	if err != nil {
		return false, install{}, err
	}
	return !ok || (c.preInstall != "" && latest.Profile == c.preInstall), latest, nil
}

// serverFor finds the provisioned server whose billing id is our service id.
func (c *Client) serverFor(ctx context.Context, serviceID int64) (server, bool, error) {
	want := strconv.FormatInt(serviceID, 10)
	var p page[server]
	err := c.do(ctx, request{op: "find server for service " + want, method: http.MethodGet, path: "server",
		query: url.Values{"billing_id": {want}, "page": {"1"}, "per_page": {"20"}}}, &p)
	if err != nil {
		return server{}, false, err
	}
	for _, s := range p.Items {
		// Check what the filter promised: a panel that ignored it must not hand us another order's server.
		if s.ID != "" && s.billingID() == want && s.clientID() != "" {
			return s, true, nil
		}
	}
	return server{}, false, nil
}

// service is our reference to a provisioned server, with the ids later calls need.
func (c *Client) service(ctx context.Context, srv server, serviceID int64) (panels.Service, error) {
	acc, ok, err := c.primaryAccess(ctx, srv.ID)
	if err != nil {
		return panels.Service{}, err
	}
	extra := map[string]string{"billing_id": strconv.FormatInt(serviceID, 10)}
	clientID := srv.clientID()
	if ok {
		extra["access_id"] = string(acc.ID)
		if clientID == "" {
			clientID = string(acc.Client.ID)
		}
	}
	if clientID != "" {
		extra["client_id"] = clientID
	}
	if srv.SrvID != "" {
		extra["srv_id"] = string(srv.SrvID)
	}
	return panels.Service{ID: string(srv.ID), Extra: extra}, nil
}

// inventory lists free servers whose parts match the package exactly.
func (c *Client) inventory(ctx context.Context, p panels.Package, perPage int) ([]server, error) {
	q := url.Values{
		"available":    {"1"},
		"parts[exact]": {"1"},
		"mem_billing":  {strings.TrimSpace(p.PlanID)},
		"page":         {"1"},
		"per_page":     {strconv.Itoa(perPage)},
	}
	if v := option(p, "cpu_billing"); v != "" {
		q.Set("cpu_billing", v)
	}
	for _, k := range []string{"disks_billing", "addons_billing", "ip_group_billing"} {
		for _, v := range list(option(p, k)) {
			q.Add(k+"[]", v)
		}
	}
	var pg page[server]
	if err := c.do(ctx, request{op: "list inventory", method: http.MethodGet, path: "server", query: q}, &pg); err != nil {
		return nil, err
	}
	free := pg.Items[:0]
	for _, s := range pg.Items {
		if s.ID != "" && s.clientID() == "" {
			free = append(free, s)
		}
	}
	return free, nil
}

// option is a trimmed package option.
func option(p panels.Package, k string) string { return strings.TrimSpace(p.Options[k]) }

// list splits a comma-separated option, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// describe names a package's parts for a customer-readable "no capacity" message.
func describe(p panels.Package) string {
	parts := []string{"memory " + p.PlanID}
	if v := option(p, "cpu_billing"); v != "" {
		parts = append(parts, "CPU "+v)
	}
	if v := option(p, "disks_billing"); v != "" {
		parts = append(parts, "disks "+v)
	}
	return strings.Join(parts, ", ")
}

// number sends an id as a JSON number when it is one, as SynergyCP's ids are integers.
func number(id ref) any {
	if n, err := strconv.ParseInt(string(id), 10, 64); err == nil {
		return n
	}
	return string(id)
}

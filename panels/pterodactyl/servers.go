package pterodactyl

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ezscale/billing/panels"
)

// serverAttrs are the Application API's server attributes we read.
type serverAttrs struct {
	ID         int64   `json:"id"`
	ExternalID *string `json:"external_id"`
	UUID       string  `json:"uuid"`
	Identifier string  `json:"identifier"`
	Name       string  `json:"name"`
	Status     *string `json:"status"`
	Suspended  bool    `json:"suspended"`
	Limits     struct {
		Memory      int64   `json:"memory"`
		Swap        int64   `json:"swap"`
		Disk        int64   `json:"disk"`
		IO          int64   `json:"io"`
		CPU         int64   `json:"cpu"`
		Threads     *string `json:"threads"`
		OOMDisabled bool    `json:"oom_disabled"`
	} `json:"limits"`
	FeatureLimits featureLimits `json:"feature_limits"`
	User          int64         `json:"user"`
	Allocation    int64         `json:"allocation"`
	Egg           int64         `json:"egg"`
	Relationships struct {
		Allocations struct {
			Data []struct {
				Attributes allocationAttrs `json:"attributes"`
			} `json:"data"`
		} `json:"allocations"`
	} `json:"relationships"`
}

// allocationAttrs are an ip:port's attributes.
type allocationAttrs struct {
	ID       int64   `json:"id"`
	IP       string  `json:"ip"`
	Alias    *string `json:"alias"`
	Port     int     `json:"port"`
	Assigned bool    `json:"assigned"`
}

type serverItem struct {
	Attributes serverAttrs `json:"attributes"`
}

// externalID is the server external_id that marks a server as made for our service.
func externalID(serviceID int64) string { return "svc-" + strconv.FormatInt(serviceID, 10) }

// service is our reference to a server: the id, and what later calls need without a lookup.
func service(a serverAttrs) panels.Service {
	return panels.Service{
		ID: strconv.FormatInt(a.ID, 10),
		Extra: map[string]string{
			"identifier": a.Identifier,
			"uuid":       a.UUID,
			"allocation": strconv.FormatInt(a.Allocation, 10),
		},
	}
}

// server reads a server by id, with the given ?include.
func (c *Client) server(ctx context.Context, op, id, include string) (serverAttrs, error) {
	if id == "" {
		return serverAttrs{}, c.errorf(op, panels.KindValidation, "service has no server id")
	}
	path := "/api/application/servers/" + url.PathEscape(id)
	if include != "" {
		path += "?include=" + url.QueryEscape(include)
	}
	var out serverItem
	if err := c.do(ctx, op, c.appKey, http.MethodGet, path, nil, &out); err != nil {
		return serverAttrs{}, err
	}
	return out.Attributes, nil
}

// FindService looks the server up by its external_id "svc-<serviceID>"; a 404 means none was
// created. Because CreateService sets that external_id in the same request that creates the
// server, a create whose answer was lost is found here.
func (c *Client) FindService(ctx context.Context, _ panels.Account, serviceID int64) (panels.Service, bool, error) {
	var out serverItem
	path := "/api/application/servers/external/" + url.PathEscape(externalID(serviceID))
	err := c.do(ctx, "find server by external id", c.appKey, http.MethodGet, path, nil, &out)
	switch {
	case notFound(err):
		return panels.Service{}, false, nil
	case err != nil:
		return panels.Service{}, false, err
	}
	return service(out.Attributes), true, nil
}

// CreateService creates the server with a deploy block (the panel picks a node and port in the
// package's locations and port range) and external_id "svc-<ServiceID>"; the panel then installs
// it and starts it when done. If the panel answers 422 because that external_id already exists
// (an earlier attempt got through), the existing server is returned.
func (c *Client) CreateService(ctx context.Context, r panels.CreateRequest) (panels.Service, error) {
	const op = "create server"
	pl, err := parsePlan(op, r.Package)
	if err != nil {
		return panels.Service{}, err
	}
	if pl.egg == 0 {
		return panels.Service{}, c.errorf(op, panels.KindValidation, "package has no egg id (PlanID)")
	}
	user, err := strconv.ParseInt(r.Account.ID, 10, 64)
	if err != nil || user <= 0 {
		return panels.Service{}, c.errorf(op, panels.KindValidation, "account id %q is not a panel user id", r.Account.ID)
	}
	if r.ServiceID <= 0 {
		return panels.Service{}, c.errorf(op, panels.KindValidation, "service id %d is not a valid external id", r.ServiceID)
	}
	if pl.nest != 0 {
		if pl, err = c.eggDefaults(ctx, pl); err != nil {
			return panels.Service{}, err
		}
	}
	pl = pl.withDefaults()
	name := r.Hostname
	if name == "" {
		name = externalID(r.ServiceID)
	}
	if rs := []rune(name); len(rs) > 191 {
		name = string(rs[:191])
	}
	body := map[string]any{
		"external_id":    externalID(r.ServiceID),
		"name":           name,
		"user":           user,
		"egg":            pl.egg,
		"docker_image":   pl.image,
		"startup":        pl.startup,
		"environment":    pl.env,
		"limits":         pl.limits,
		"feature_limits": pl.features,
		"deploy": map[string]any{
			"locations":    nonNil(pl.locations),
			"dedicated_ip": pl.dedicatedIP,
			"port_range":   nonNil(pl.ports),
		},
		"start_on_completion": true,
		"skip_scripts":        false,
		"oom_disabled":        true,
	}
	var out serverItem
	err = c.do(ctx, op, c.appKey, http.MethodPost, "/api/application/servers", body, &out)
	if err == nil {
		return service(out.Attributes), nil
	}
	if errors.Is(err, panels.ErrValidation) {
		if s, ok, ferr := c.FindService(ctx, r.Account, r.ServiceID); ferr == nil && ok {
			return s, nil
		}
	}
	return panels.Service{}, err
}

// eggDefaults fills the image, startup command and variable defaults the product leaves out from
// the egg (GET /nests/{nest}/eggs/{egg}?include=variables); the panel does not default them.
func (c *Client) eggDefaults(ctx context.Context, pl plan) (plan, error) {
	var out struct {
		Attributes struct {
			DockerImage   string `json:"docker_image"`
			Startup       string `json:"startup"`
			Relationships struct {
				Variables struct {
					Data []struct {
						Attributes struct {
							Env     string `json:"env_variable"`
							Default string `json:"default_value"`
						} `json:"attributes"`
					} `json:"data"`
				} `json:"variables"`
			} `json:"relationships"`
		} `json:"attributes"`
	}
	path := "/api/application/nests/" + strconv.FormatInt(pl.nest, 10) + "/eggs/" + strconv.FormatInt(pl.egg, 10) + "?include=variables"
	if err := c.do(ctx, "read egg", c.appKey, http.MethodGet, path, nil, &out); err != nil {
		if notFound(err) {
			return pl, c.errorf("read egg", panels.KindValidation, "egg %d is not in nest %d", pl.egg, pl.nest)
		}
		return pl, err
	}
	a := out.Attributes
	if pl.image == "" {
		pl.image = a.DockerImage
	}
	if pl.startup == "" {
		pl.startup = a.Startup
	}
	for _, v := range a.Relationships.Variables.Data {
		if _, set := pl.env[v.Attributes.Env]; !set {
			pl.env[v.Attributes.Env] = v.Attributes.Default
		}
	}
	return pl, nil
}

// nonNil makes an absent list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Details reads the server with its allocations. Status null is active, "installing" building,
// "suspended" (or the older suspended flag) suspended, "install_failed"/"reinstall_failed"
// failed; "restoring_backup" is an installed server, reported active with a message.
func (c *Client) Details(ctx context.Context, s panels.Service) (panels.Details, error) {
	a, err := c.server(ctx, "read server", s.ID, "allocations")
	if err != nil {
		return panels.Details{}, err
	}
	d := panels.Details{
		State:    panels.StateActive,
		Hostname: a.Name,
		MemoryMB: a.Limits.Memory,
		DiskGB:   (a.Limits.Disk + 1023) / 1024,
		CPU:      a.Limits.CPU,
	}
	status := ""
	if a.Status != nil {
		status = *a.Status
	}
	switch {
	case status == "suspended" || a.Suspended:
		d.State = panels.StateSuspended
	case status == "installing":
		d.State = panels.StateBuilding
	case status == "install_failed" || status == "reinstall_failed":
		d.State = panels.StateFailed
		d.Message = "the panel reports " + status
	case status != "":
		d.Message = "the panel reports " + status
	}
	// The primary allocation first, then the others, each address once.
	allocs := a.Relationships.Allocations.Data
	seen := map[string]bool{}
	add := func(al allocationAttrs) {
		ip := net.ParseIP(al.IP)
		if ip == nil || seen[al.IP] {
			return
		}
		seen[al.IP] = true
		if ip.To4() != nil {
			d.IPv4 = append(d.IPv4, al.IP)
		} else {
			d.IPv6 = append(d.IPv6, al.IP)
		}
	}
	for _, al := range allocs {
		if al.Attributes.ID == a.Allocation {
			add(al.Attributes)
		}
	}
	for _, al := range allocs {
		add(al.Attributes)
	}
	return d, nil
}

// Suspend suspends the server (the panel stops it); Pterodactyl keeps no reason.
func (c *Client) Suspend(ctx context.Context, s panels.Service, _ string) error {
	return c.serverAction(ctx, "suspend server", s, "suspend")
}

// Unsuspend lifts a suspension; the server stays stopped until started.
func (c *Client) Unsuspend(ctx context.Context, s panels.Service) error {
	return c.serverAction(ctx, "unsuspend server", s, "unsuspend")
}

func (c *Client) serverAction(ctx context.Context, op string, s panels.Service, action string) error {
	if s.ID == "" {
		return c.errorf(op, panels.KindValidation, "service has no server id")
	}
	return c.do(ctx, op, c.appKey, http.MethodPost, "/api/application/servers/"+url.PathEscape(s.ID)+"/"+action, nil, nil)
}

// Terminate deletes the server; a 404 (already gone) is success. When the node's daemon cannot
// be reached the panel refuses a plain delete (DaemonConnectionException), and the delete is
// forced: the panel record and its allocations go, files left on an unreachable node are the
// node operator's to clean.
func (c *Client) Terminate(ctx context.Context, s panels.Service) error {
	const op = "delete server"
	if s.ID == "" {
		return c.errorf(op, panels.KindValidation, "service has no server id")
	}
	path := "/api/application/servers/" + url.PathEscape(s.ID)
	r, err := c.send(ctx, op, c.appKey, http.MethodDelete, path, nil)
	if err != nil {
		return err
	}
	switch {
	case r.status >= 200 && r.status < 300, r.status == http.StatusNotFound:
		return nil
	case !r.has("DaemonConnectionException"):
		return c.failure(op, r)
	}
	err = c.do(ctx, "force delete server", c.appKey, http.MethodDelete, path+"/force", nil, nil)
	if err == nil || notFound(err) {
		return nil
	}
	return err
}

// ChangePackage updates the build (PATCH /servers/{id}/build). It reads the server first: the
// panel requires the current primary allocation (which an admin may have changed since
// Service.Extra was saved), and options the package leaves out keep their current values.
// Changing the egg is not a package change (it needs a reinstall) and is refused.
func (c *Client) ChangePackage(ctx context.Context, s panels.Service, p panels.Package) error {
	const op = "update server build"
	pl, err := parsePlan(op, p)
	if err != nil {
		return err
	}
	cur, err := c.server(ctx, "read server", s.ID, "")
	if err != nil {
		return err
	}
	if pl.egg != 0 && pl.egg != cur.Egg {
		return c.errorf(op, panels.KindUnsupported, "the server runs egg %d; moving it to egg %d needs a reinstall, not a package change", cur.Egg, pl.egg)
	}
	keep := func(p *int64, v int64) *int64 {
		if p != nil {
			return p
		}
		return &v
	}
	lim := limits{
		Memory:  keep(pl.limits.Memory, cur.Limits.Memory),
		Swap:    keep(pl.limits.Swap, cur.Limits.Swap),
		Disk:    keep(pl.limits.Disk, cur.Limits.Disk),
		IO:      keep(pl.limits.IO, cur.Limits.IO),
		CPU:     keep(pl.limits.CPU, cur.Limits.CPU),
		Threads: cur.Limits.Threads,
	}
	if pl.limits.Threads != nil {
		lim.Threads = pl.limits.Threads
	}
	feat := cur.FeatureLimits
	if pl.features.Databases != nil {
		feat.Databases = pl.features.Databases
	}
	if pl.features.Allocations != nil {
		feat.Allocations = pl.features.Allocations
	}
	if pl.features.Backups != nil {
		feat.Backups = pl.features.Backups
	}
	body := map[string]any{
		"allocation":     cur.Allocation,
		"limits":         lim,
		"feature_limits": feat,
		"oom_disabled":   cur.Limits.OOMDisabled,
	}
	return c.do(ctx, op, c.appKey, http.MethodPatch, "/api/application/servers/"+url.PathEscape(s.ID)+"/build", body, nil)
}

// Power sends a power signal through the Client API with the root admin's client key. A
// suspended or still-installing server is answered 409 by the panel (KindConflict).
func (c *Client) Power(ctx context.Context, s panels.Service, a panels.PowerAction) error {
	const op = "send power signal"
	switch a {
	case panels.PowerStart, panels.PowerStop, panels.PowerRestart:
	default:
		return c.errorf(op, panels.KindValidation, "unknown power action %q", a)
	}
	ident, err := c.identifier(ctx, op, s)
	if err != nil {
		return err
	}
	return c.do(ctx, op, c.clientKey, http.MethodPost, "/api/client/servers/"+url.PathEscape(ident)+"/power",
		map[string]string{"signal": string(a)}, nil)
}

// LoginURL is the server's page in the panel. Pterodactyl has no single sign-on: the customer
// logs in with their panel password (see ResetPassword) and lands on this page.
func (c *Client) LoginURL(ctx context.Context, _ panels.Account, s panels.Service) (string, error) {
	ident, err := c.identifier(ctx, "build server URL", s)
	if err != nil {
		return "", err
	}
	return c.base + "/server/" + url.PathEscape(ident), nil
}

// identifier is the server's 8-char identifier, from Service.Extra or read from the panel.
func (c *Client) identifier(ctx context.Context, op string, s panels.Service) (string, error) {
	if id := s.Extra["identifier"]; id != "" {
		return id, nil
	}
	a, err := c.server(ctx, op, s.ID, "")
	if err != nil {
		return "", err
	}
	return a.Identifier, nil
}

package virtfusion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// ExtraUUID is the Service.Extra key holding the server's VirtFusion uuid (informational; every
// call addresses the server by its integer id in Service.ID).
const ExtraUUID = "uuid"

// Package.Options and Config.Extra keys this client reads.
const (
	// OptionHypervisorGroup is the hypervisor group id to place servers in (Package.Options,
	// falling back to Config.Extra). VirtFusion calls it hypervisorId although it is a group.
	OptionHypervisorGroup = "hypervisor_group"
	// OptionOSTemplate is the operating system template id the build installs.
	OptionOSTemplate = "os_template"
)

// Marker is the server name that ties a VirtFusion server to our service. VirtFusion servers have
// no external id, so the build names the server "ezs-<serviceID>" and FindService looks for it.
func Marker(serviceID int64) string { return "ezs-" + strconv.FormatInt(serviceID, 10) }

// BuildError reports a server that was created but whose build could not be started. Service
// names the created server so a retry adopts it (Adopt) instead of creating a second one. It
// unwraps to the *panels.Error of the failed build call.
type BuildError struct {
	Service panels.Service
	Err     error
}

// Error names the created server and the build failure.
func (e *BuildError) Error() string {
	return fmt.Sprintf("virtfusion: server %s created but not built: %v", e.Service.ID, e.Err)
}

// Unwrap gives the build call's *panels.Error, so errors.As and panels.Retryable see it.
func (e *BuildError) Unwrap() error { return e.Err }

// FindService returns the server of the account's user named Marker(serviceID). Unbuilt servers
// (a create whose answer was lost) carry no name yet and are reported by Orphans instead.
func (c *Client) FindService(ctx context.Context, a panels.Account, serviceID int64) (panels.Service, bool, error) {
	op := fmt.Sprintf("find server for service %d", serviceID)
	servers, err := c.userServers(ctx, op, a)
	if err != nil {
		return panels.Service{}, false, err
	}
	want := Marker(serviceID)
	for _, s := range servers { // sorted by id: the oldest wins if a marker were ever duplicated
		if s.Name == want {
			return service(s), true, nil
		}
	}
	return panels.Service{}, false, nil
}

// Orphans lists the account's servers that were created from packageID but never built: state
// "allocated" and no name. They are what a create leaves behind when its answer is lost. The
// caller claims one in its own database before calling Adopt, so two services never adopt the
// same server.
func (c *Client) Orphans(ctx context.Context, a panels.Account, packageID string) ([]panels.Service, error) {
	op := "list unbuilt servers"
	pid, err := idOf(op, "package id", packageID)
	if err != nil {
		return nil, err
	}
	servers, err := c.userServers(ctx, op, a)
	if err != nil {
		return nil, err
	}
	var out []panels.Service
	for _, s := range servers {
		if isOrphan(s) && int64(s.PackageID) == pid {
			out = append(out, service(s))
		}
	}
	return out, nil
}

func isOrphan(s server) bool { return s.State == "allocated" && strings.TrimSpace(s.Name) == "" }

// userServers lists the servers of the account's VirtFusion user, oldest first. A 404 (no such
// user) means the user has no servers.
func (c *Client) userServers(ctx context.Context, op string, a panels.Account) ([]server, error) {
	uid, err := idOf(op, "account id", a.ID)
	if err != nil {
		return nil, err
	}
	var got envelope[[]server]
	err = c.do(ctx, fmt.Sprintf("%s: list servers of user %d", op, uid), http.MethodGet,
		"/servers/user/"+strconv.FormatInt(uid, 10), nil, nil, &got)
	if errors.Is(err, panels.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(got.Data, func(x, y server) int { return cmp.Compare(x.ID, y.ID) })
	return got.Data, nil
}

// CreateService creates the server (POST /servers) and starts its build (POST
// /servers/{id}/build) with the name Marker(r.ServiceID). When the build call fails after the
// create succeeded, it returns the created Service together with a *BuildError, so the caller can
// record the id and Adopt it on retry instead of creating again.
func (c *Client) CreateService(ctx context.Context, r panels.CreateRequest) (panels.Service, error) {
	op := fmt.Sprintf("create server for service %d", r.ServiceID)
	if r.ServiceID <= 0 {
		return panels.Service{}, invalid(op, "service id must be positive")
	}
	uid, err := idOf(op, "account id", r.Account.ID)
	if err != nil {
		return panels.Service{}, err
	}
	pid, err := idOf(op, "package id", r.Package.PlanID)
	if err != nil {
		return panels.Service{}, err
	}
	gid, err := c.hypervisorGroup(op, r.Package)
	if err != nil {
		return panels.Service{}, err
	}
	if _, err := osTemplate(op, r.Package); err != nil {
		return panels.Service{}, err
	}
	body := map[string]any{"packageId": pid, "userId": uid, "hypervisorId": gid}
	var created envelope[server]
	if err := c.do(ctx, op, http.MethodPost, "/servers", nil, body, &created); err != nil {
		return panels.Service{}, err
	}
	if created.Data.ID <= 0 {
		// The server may exist; with no id we cannot build it. Orphans will find it.
		return panels.Service{}, &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion, Op: op,
			Message: "create answer has no server id"}
	}
	svc := service(created.Data)
	built, err := c.build(ctx, int64(created.Data.ID), r)
	if err != nil {
		return svc, &BuildError{Service: svc, Err: err}
	}
	return mergeService(svc, built), nil
}

// Adopt builds an orphan (see Orphans) for r's service, giving it the service's marker. Adopting
// a server that already carries this service's marker returns it unchanged, so Adopt is safe to
// repeat; a server built for anything else is refused with KindConflict.
func (c *Client) Adopt(ctx context.Context, s panels.Service, r panels.CreateRequest) (panels.Service, error) {
	op := fmt.Sprintf("adopt server %s for service %d", s.ID, r.ServiceID)
	id, err := idOf(op, "server id", s.ID)
	if err != nil {
		return panels.Service{}, err
	}
	if r.ServiceID <= 0 {
		return panels.Service{}, invalid(op, "service id must be positive")
	}
	if _, err := osTemplate(op, r.Package); err != nil {
		return panels.Service{}, err
	}
	cur, err := c.server(ctx, op, id)
	if err != nil {
		return panels.Service{}, err
	}
	if cur.Name == Marker(r.ServiceID) {
		return mergeService(s, service(cur)), nil
	}
	if !isOrphan(cur) {
		return panels.Service{}, &panels.Error{Kind: panels.KindConflict, Panel: panels.VirtFusion, Op: op,
			Message: fmt.Sprintf("server is %q named %q, not an unbuilt orphan", cur.State, cur.Name)}
	}
	if r.Account.ID != "" && strconv.FormatInt(int64(cur.OwnerID), 10) != r.Account.ID {
		return panels.Service{}, &panels.Error{Kind: panels.KindConflict, Panel: panels.VirtFusion, Op: op,
			Message: fmt.Sprintf("server belongs to user %d, not %s", cur.OwnerID, r.Account.ID)}
	}
	built, err := c.build(ctx, id, r)
	if err != nil {
		return panels.Service{}, err
	}
	return mergeService(s, built), nil
}

// build starts the OS install and names the server with the service's marker. The build answer
// carries the root password; it is kept in memory for Details, never in Service.Extra.
func (c *Client) build(ctx context.Context, id int64, r panels.CreateRequest) (panels.Service, error) {
	op := fmt.Sprintf("build server %d for service %d", id, r.ServiceID)
	osID, err := osTemplate(op, r.Package)
	if err != nil {
		return panels.Service{}, err
	}
	body := map[string]any{
		"operatingSystemId": osID,
		"name":              Marker(r.ServiceID),
		"email":             false, // we send our own welcome mail
	}
	if h := strings.TrimSpace(r.Hostname); h != "" {
		body["hostname"] = h
	}
	var got envelope[server]
	if err := c.do(ctx, op, http.MethodPost, fmt.Sprintf("/servers/%d/build", id), nil, body, &got); err != nil {
		return panels.Service{}, err
	}
	if pw := got.Data.Settings.DecryptedPassword; pw != "" {
		c.mu.Lock()
		c.passwords[id] = pw
		c.mu.Unlock()
	}
	got.Data.ID = flexInt(id)
	return service(got.Data), nil
}

func (c *Client) hypervisorGroup(op string, p panels.Package) (int64, error) {
	g := strings.TrimSpace(p.Options[OptionHypervisorGroup])
	if g == "" {
		g = c.group
	}
	if g == "" {
		return 0, invalid(op, "no hypervisor group: set the package option "+OptionHypervisorGroup+
			" or the panel's Extra "+OptionHypervisorGroup)
	}
	return idOf(op, "hypervisor group", g)
}

func osTemplate(op string, p panels.Package) (int64, error) {
	t := p.Options[OptionOSTemplate]
	if strings.TrimSpace(t) == "" {
		return 0, invalid(op, "the package option "+OptionOSTemplate+" (operating system template id) is required")
	}
	return idOf(op, "os template", t)
}

func service(s server) panels.Service {
	svc := panels.Service{ID: strconv.FormatInt(int64(s.ID), 10), Extra: map[string]string{}}
	if s.UUID != "" {
		svc.Extra[ExtraUUID] = s.UUID
	}
	return svc
}

// mergeService keeps what base knows and adds what next learned.
func mergeService(base, next panels.Service) panels.Service {
	out := panels.Service{ID: next.ID, Extra: map[string]string{}}
	if out.ID == "" {
		out.ID = base.ID
	}
	for k, v := range base.Extra {
		out.Extra[k] = v
	}
	for k, v := range next.Extra {
		out.Extra[k] = v
	}
	return out
}

// server reads one server.
func (c *Client) server(ctx context.Context, op string, id int64) (server, error) {
	var got envelope[server]
	if err := c.do(ctx, op, http.MethodGet, fmt.Sprintf("/servers/%d", id), nil, nil, &got); err != nil {
		return server{}, err
	}
	return got.Data, nil
}

// Details reads the server. States: allocated/queued → building, complete → active, failed (or
// buildFailed) → failed, suspended → suspended. Password is the root password when the panel
// returns settings.decryptedPassword, or else the one this client saw in the build answer; the
// latter is handed out until a Details call reports the build finished, then forgotten.
func (c *Client) Details(ctx context.Context, s panels.Service) (panels.Details, error) {
	op := "get server " + s.ID
	id, err := idOf(op, "server id", s.ID)
	if err != nil {
		return panels.Details{}, err
	}
	srv, err := c.server(ctx, op, id)
	if err != nil {
		return panels.Details{}, err
	}
	d := panels.Details{
		Hostname: srv.Hostname,
		MemoryMB: int64(srv.Settings.Resources.Memory),
		DiskGB:   int64(srv.Settings.Resources.Storage),
		CPU:      int64(srv.Settings.Resources.CPUCores),
	}
	d.State, d.Message = state(srv)
	for _, nic := range srv.Network.Interfaces {
		for _, a := range nic.IPv4 {
			if a.Address != "" {
				d.IPv4 = append(d.IPv4, a.Address)
			}
		}
		for _, a := range nic.IPv6 {
			if a.Subnet != "" {
				d.IPv6 = append(d.IPv6, a.Subnet+"/"+strconv.FormatInt(int64(a.CIDR), 10))
			}
		}
	}
	c.mu.Lock()
	d.Password = c.passwords[id]
	if d.State == panels.StateActive || d.State == panels.StateFailed {
		delete(c.passwords, id)
	}
	c.mu.Unlock()
	if srv.Settings.DecryptedPassword != "" {
		d.Password = srv.Settings.DecryptedPassword
	}
	return d, nil
}

// state maps VirtFusion's server state. The full enum is UNCONFIRMED; an unknown state is
// reported as building with the panel's word in the message, so callers keep polling.
func state(s server) (panels.State, string) {
	switch {
	case bool(s.Suspended):
		return panels.StateSuspended, ""
	case bool(s.BuildFailed) || s.State == "failed":
		return panels.StateFailed, "the build failed on the panel"
	case s.State == "complete":
		return panels.StateActive, ""
	case s.State == "allocated" || s.State == "queued":
		return panels.StateBuilding, ""
	}
	return panels.StateBuilding, fmt.Sprintf("panel state %q", s.State)
}

// Suspend suspends the server (POST /servers/{id}/suspend). VirtFusion takes no reason.
func (c *Client) Suspend(ctx context.Context, s panels.Service, reason string) error {
	return c.serverAction(ctx, "suspend", s, http.MethodPost, "/suspend", nil, nil)
}

// Unsuspend lifts a suspension (POST /servers/{id}/unsuspend).
func (c *Client) Unsuspend(ctx context.Context, s panels.Service) error {
	return c.serverAction(ctx, "unsuspend", s, http.MethodPost, "/unsuspend", nil, nil)
}

// Terminate deletes the server at once (DELETE /servers/{id}?delay=0); a server already gone
// (404) is success.
func (c *Client) Terminate(ctx context.Context, s panels.Service) error {
	err := c.serverAction(ctx, "delete", s, http.MethodDelete, "", url.Values{"delay": {"0"}}, nil)
	if errors.Is(err, panels.ErrNotFound) {
		err = nil
	}
	if err == nil {
		if id, perr := positiveID(s.ID); perr == nil {
			c.mu.Lock()
			delete(c.passwords, id)
			c.mu.Unlock()
		}
	}
	return err
}

// ChangePackage moves the server to package p.PlanID (PUT /servers/{id}/package/{packageId}),
// asking VirtFusion to apply every resource of the package; it never shrinks a disk.
func (c *Client) ChangePackage(ctx context.Context, s panels.Service, p panels.Package) error {
	pid, err := idOf("change package of server "+s.ID, "package id", p.PlanID)
	if err != nil {
		return err
	}
	// The spec lists these switches as optional without saying their default (UNCONFIRMED), so
	// we ask for all of them explicitly.
	apply := map[string]bool{}
	for _, k := range []string{"backupPlan", "cpu", "memory", "primaryDiskSize", "primaryDiskReadIOPS",
		"primaryDiskWriteIOPS", "primaryDiskReadThroughput", "primaryDiskWriteThroughput",
		"primaryNetworkInboundSpeed", "primaryNetworkOutboundSpeed", "primaryNetworkTraffic"} {
		apply[k] = true
	}
	return c.serverAction(ctx, fmt.Sprintf("change package to %d", pid), s, http.MethodPut,
		"/package/"+strconv.FormatInt(pid, 10), nil, apply)
}

// Power boots, shuts down or restarts the server (POST /servers/{id}/power/{action}).
func (c *Client) Power(ctx context.Context, s panels.Service, a panels.PowerAction) error {
	action, ok := map[panels.PowerAction]string{
		panels.PowerStart:   "boot",
		panels.PowerStop:    "shutdown",
		panels.PowerRestart: "restart",
	}[a]
	if !ok {
		return &panels.Error{Kind: panels.KindUnsupported, Panel: panels.VirtFusion, Op: "power server " + s.ID,
			Message: fmt.Sprintf("no power action %q", a)}
	}
	return c.serverAction(ctx, "power "+action, s, http.MethodPost, "/power/"+action, nil, nil)
}

// ResetPassword sets a new root password (POST /servers/{id}/resetPassword) and returns the
// expectedPassword VirtFusion queues for the server. VirtFusion sends no mail; we do.
func (c *Client) ResetPassword(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	var got envelope[struct {
		ExpectedPassword string `json:"expectedPassword"`
	}]
	body := map[string]any{"user": "root", "sendMail": false}
	if err := c.serverAction(ctx, "reset root password", s, http.MethodPost, "/resetPassword", nil, body, &got); err != nil {
		return "", err
	}
	if got.Data.ExpectedPassword == "" {
		return "", &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion,
			Op: "reset root password of server " + s.ID, Message: "answer has no expectedPassword"}
	}
	return got.Data.ExpectedPassword, nil
}

// serverAction calls /servers/{id}<suffix>; out, when given, receives the 2xx answer.
func (c *Client) serverAction(ctx context.Context, verb string, s panels.Service, method, suffix string,
	query url.Values, body any, out ...any) error {
	op := verb + " server " + s.ID
	id, err := idOf(op, "server id", s.ID)
	if err != nil {
		return err
	}
	var dst any
	if len(out) > 0 {
		dst = out[0]
	}
	return c.do(ctx, op, method, fmt.Sprintf("/servers/%d%s", id, suffix), query, body, dst)
}

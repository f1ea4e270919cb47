package virtfusion

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ezscale/billing/panels"
)

// maxPages bounds how many paginator pages CheckCapacity reads (200 hypervisors a page).
const maxPages = 50

// noRoom is the reason a customer reads when no hypervisor can take the package.
const noRoom = "No server in this location has room for this plan right now."

// CheckCapacity reads the package's memory and primary storage (GET /packages/{id}) and the group's
// per-hypervisor resources (GET /compute/hypervisors/groups/{id}/resources, every page). The
// package can be placed when one enabled, commissioned, unprohibited hypervisor has that much
// free memory and, where it reports enabled local storage, that much free storage, and is not at its
// server limit (a max of 0 means unlimited). This is advisory: the create may still lose a race.
func (c *Client) CheckCapacity(ctx context.Context, p panels.Package) (panels.Capacity, error) {
	op := "check capacity for package " + p.PlanID
	pid, err := idOf(op, "package id", p.PlanID)
	if err != nil {
		return panels.Capacity{}, err
	}
	gid, err := c.hypervisorGroup(op, p)
	if err != nil {
		return panels.Capacity{}, err
	}
	var pk envelope[pkg]
	if err := c.do(ctx, fmt.Sprintf("get package %d", pid), http.MethodGet, "/packages/"+strconv.FormatInt(pid, 10), nil, nil, &pk); err != nil {
		return panels.Capacity{}, err
	}
	if !pk.Data.Enabled {
		return panels.Capacity{Reason: "This plan is not available right now."}, nil
	}
	for n := 1; n <= maxPages; n++ {
		var pg page[hypervisorResources]
		q := url.Values{"results": {"200"}, "page": {strconv.Itoa(n)}}
		path := fmt.Sprintf("/compute/hypervisors/groups/%d/resources", gid)
		if err := c.do(ctx, fmt.Sprintf("read resources of hypervisor group %d", gid), http.MethodGet, path, q, nil, &pg); err != nil {
			return panels.Capacity{}, err
		}
		for _, h := range pg.Data {
			if fits(h, int64(pk.Data.Memory), int64(pk.Data.PrimaryStorage)) {
				return panels.Capacity{Available: true}, nil
			}
		}
		if int64(pg.LastPage) <= int64(n) || len(pg.Data) == 0 {
			break
		}
	}
	return panels.Capacity{Reason: noRoom}, nil
}

// fits reports whether one hypervisor can take a server of memMB and diskGB.
func fits(h hypervisorResources, memMB, diskGB int64) bool {
	hv := h.Hypervisor
	if (hv.Enabled != nil && !bool(*hv.Enabled)) || bool(hv.Prohibit) || (hv.Commissioned != nil && !bool(*hv.Commissioned)) {
		return false
	}
	r := h.Resources
	if r.Servers.Max > 0 && r.Servers.Free < 1 {
		return false
	}
	if int64(r.Memory.Free) < memMB {
		return false
	}
	// Storage is checked only where the hypervisor reports local storage as enabled; shared
	// storage (otherStorage) is not broken down per package.
	if r.LocalStorage.Enabled != nil && bool(*r.LocalStorage.Enabled) && int64(r.LocalStorage.Free) < diskGB {
		return false
	}
	return true
}

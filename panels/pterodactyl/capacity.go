package pterodactyl

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ezscale/billing/panels"
)

// nodeAttrs are a node's attributes with its allocations included.
type nodeAttrs struct {
	ID                 int64 `json:"id"`
	Public             bool  `json:"public"`
	LocationID         int64 `json:"location_id"`
	MaintenanceMode    bool  `json:"maintenance_mode"`
	Memory             int64 `json:"memory"`
	MemoryOverallocate int64 `json:"memory_overallocate"`
	Disk               int64 `json:"disk"`
	DiskOverallocate   int64 `json:"disk_overallocate"`
	AllocatedResources struct {
		Memory int64 `json:"memory"`
		Disk   int64 `json:"disk"`
	} `json:"allocated_resources"`
	Relationships struct {
		Allocations struct {
			Data []struct {
				Attributes allocationAttrs `json:"attributes"`
			} `json:"data"`
		} `json:"allocations"`
	} `json:"relationships"`
}

// CheckCapacity mirrors the panel's deploy placement, which has no endpoint of its own: some
// public node not in maintenance, in one of the package's locations (any when none is set), must
// have the package's memory and disk left after overallocation, and an unassigned allocation in
// its port range.
func (c *Client) CheckCapacity(ctx context.Context, p panels.Package) (panels.Capacity, error) {
	const op = "check capacity"
	pl, err := parsePlan(op, p)
	if err != nil {
		return panels.Capacity{}, err
	}
	var memory, disk int64
	if pl.limits.Memory != nil {
		memory = *pl.limits.Memory
	}
	if pl.limits.Disk != nil {
		disk = *pl.limits.Disk
	}
	inLocation, roomy := 0, 0
	for page := 1; ; page++ {
		var out struct {
			Data []struct {
				Attributes nodeAttrs `json:"attributes"`
			} `json:"data"`
			Meta struct {
				Pagination struct {
					TotalPages int `json:"total_pages"`
				} `json:"pagination"`
			} `json:"meta"`
		}
		path := "/api/application/nodes?include=allocations&per_page=100&page=" + strconv.Itoa(page)
		if err := c.do(ctx, "list nodes", c.appKey, http.MethodGet, path, nil, &out); err != nil {
			return panels.Capacity{}, err
		}
		for _, d := range out.Data {
			n := d.Attributes
			if !n.Public || n.MaintenanceMode || !pl.inLocation(n.LocationID) {
				continue
			}
			inLocation++
			if !fits(n.Memory, n.MemoryOverallocate, n.AllocatedResources.Memory, memory) ||
				!fits(n.Disk, n.DiskOverallocate, n.AllocatedResources.Disk, disk) {
				continue
			}
			roomy++
			for _, a := range n.Relationships.Allocations.Data {
				if !a.Attributes.Assigned && pl.inPortRange(a.Attributes.Port) {
					return panels.Capacity{Available: true}, nil
				}
			}
		}
		if page >= out.Meta.Pagination.TotalPages {
			break
		}
	}
	switch {
	case inLocation == 0:
		return panels.Capacity{Reason: "There are no servers available in the chosen location."}, nil
	case roomy == 0:
		return panels.Capacity{Reason: "The servers in the chosen location are full."}, nil
	}
	return panels.Capacity{Reason: "No free network port is left in the chosen location."}, nil
}

// fits is FindViableNodesService's test; a negative overallocation disables the check.
func fits(total, overallocate, used, want int64) bool {
	return overallocate < 0 || used+want <= total*(100+overallocate)/100
}

func (pl plan) inLocation(id int64) bool {
	if len(pl.locations) == 0 {
		return true
	}
	for _, l := range pl.locations {
		if l == id {
			return true
		}
	}
	return false
}

func (pl plan) inPortRange(port int) bool {
	if len(pl.ports) == 0 {
		return true
	}
	for _, r := range pl.ports {
		if lo, hi, err := parsePortRange(r); err == nil && port >= lo && port <= hi {
			return true
		}
	}
	return false
}

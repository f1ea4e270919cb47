package virtfusion

import (
	"bytes"
	"strconv"
	"strings"
)

// flexInt reads a JSON number, a numeric string or null: VirtFusion is PHP and types some
// numbers as strings (traffic, extRelationId), so the client accepts both.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = flexInt(f)
	return nil
}

// flexBool reads true/false, 0/1 or their string forms.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(bytes.TrimSpace(b)), `"`) {
	case "true", "1":
		*v = true
	default:
		*v = false
	}
	return nil
}

// user is the part of VirtFusion's user object we use.
type user struct {
	ID            flexInt `json:"id"`
	ExtRelationID flexInt `json:"extRelationId"`
	Email         string  `json:"email"`
}

// server is the part of VirtFusion's server object we use (GET /servers/{id}, the create and
// build answers, and the entries of GET /servers/user/{userId}).
type server struct {
	ID          flexInt  `json:"id"`
	OwnerID     flexInt  `json:"ownerId"`
	PackageID   flexInt  `json:"packageId"`
	Name        string   `json:"name"`
	Hostname    string   `json:"hostname"`
	UUID        string   `json:"uuid"`
	State       string   `json:"state"`
	Suspended   flexBool `json:"suspended"`
	BuildFailed flexBool `json:"buildFailed"`
	Settings    struct {
		DecryptedPassword string `json:"decryptedPassword"`
		Resources         struct {
			Memory   flexInt `json:"memory"`
			Storage  flexInt `json:"storage"`
			CPUCores flexInt `json:"cpuCores"`
		} `json:"resources"`
	} `json:"settings"`
	Network struct {
		Interfaces []struct {
			IPv4 []struct {
				Address string `json:"address"`
			} `json:"ipv4"`
			IPv6 []struct {
				Subnet string  `json:"subnet"`
				CIDR   flexInt `json:"cidr"`
			} `json:"ipv6"`
		} `json:"interfaces"`
	} `json:"network"`
}

// pkg is the part of VirtFusion's package object CheckCapacity needs.
type pkg struct {
	ID             flexInt  `json:"id"`
	Name           string   `json:"name"`
	Enabled        flexBool `json:"enabled"`
	Memory         flexInt  `json:"memory"`
	PrimaryStorage flexInt  `json:"primaryStorage"`
	CPUCores       flexInt  `json:"cpuCores"`
}

// meter is one resource of a hypervisor in the group resources answer.
type meter struct {
	Max       flexInt `json:"max"`
	Allocated flexInt `json:"allocated"`
	Free      flexInt `json:"free"`
}

// hypervisorResources is one entry of GET /compute/hypervisors/groups/{id}/resources.
type hypervisorResources struct {
	Hypervisor struct {
		ID           flexInt   `json:"id"`
		Name         string    `json:"name"`
		Enabled      *flexBool `json:"enabled"`
		Prohibit     flexBool  `json:"prohibit"`
		Commissioned *flexBool `json:"commissioned"`
	} `json:"hypervisor"`
	Resources struct {
		Servers      meter `json:"servers"`
		Memory       meter `json:"memory"`
		CPUCores     meter `json:"cpuCores"`
		LocalStorage struct {
			meter
			Enabled *flexBool `json:"enabled"`
		} `json:"localStorage"`
	} `json:"resources"`
}

// page is a Laravel paginator answer (flat, not wrapped in data).
type page[T any] struct {
	CurrentPage flexInt `json:"current_page"`
	LastPage    flexInt `json:"last_page"`
	Data        []T     `json:"data"`
}

// envelope is VirtFusion's {"data": ...} wrapper.
type envelope[T any] struct {
	Data T `json:"data"`
}

package pterodactyl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// limits are a server's resource limits; nil fields are left out (create) or kept (change).
type limits struct {
	Memory  *int64  `json:"memory,omitempty"` // MB, 0 = unlimited
	Swap    *int64  `json:"swap,omitempty"`   // MB, -1 = unlimited
	Disk    *int64  `json:"disk,omitempty"`   // MB, 0 = unlimited
	IO      *int64  `json:"io,omitempty"`     // block IO weight 10-1000
	CPU     *int64  `json:"cpu,omitempty"`    // percent of one core, 0 = unlimited
	Threads *string `json:"threads"`          // pinned cores, null = any
}

// featureLimits are how many databases, extra allocations and backups the customer may make.
type featureLimits struct {
	Databases   *int64 `json:"databases"`
	Allocations *int64 `json:"allocations"`
	Backups     *int64 `json:"backups"`
}

// plan is a Package read into the panel's terms.
type plan struct {
	egg         int64
	nest        int64 // 0: no egg defaults are read
	image       string
	startup     string
	env         map[string]string
	limits      limits
	features    featureLimits
	locations   []int64
	ports       []string
	dedicatedIP bool
}

// parsePlan reads Package.PlanID (the egg id) and Package.Options; a malformed option is a
// validation error before anything is sent.
func parsePlan(op string, p panels.Package) (plan, error) {
	bad := func(format string, args ...any) (plan, error) {
		return plan{}, &panels.Error{Kind: panels.KindValidation, Panel: panels.Pterodactyl, Op: op, Message: fmt.Sprintf(format, args...)}
	}
	var pl plan
	if s := strings.TrimSpace(p.PlanID); s != "" {
		egg, err := strconv.ParseInt(s, 10, 64)
		if err != nil || egg <= 0 {
			return bad("package plan id %q is not an egg id", p.PlanID)
		}
		pl.egg = egg
	}
	o := p.Options
	num := func(key string) (*int64, error) {
		s := strings.TrimSpace(o[key])
		if s == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("package option %s=%q is not a whole number", key, s)
		}
		return &n, nil
	}
	targets := []struct {
		key string
		dst **int64
	}{
		{"nest", nil}, {"memory", &pl.limits.Memory}, {"swap", &pl.limits.Swap}, {"disk", &pl.limits.Disk},
		{"io", &pl.limits.IO}, {"cpu", &pl.limits.CPU}, {"databases", &pl.features.Databases},
		{"allocations", &pl.features.Allocations}, {"backups", &pl.features.Backups},
	}
	for _, t := range targets {
		n, err := num(t.key)
		if err != nil {
			return bad("%v", err)
		}
		switch {
		case t.dst != nil:
			*t.dst = n
		case n != nil:
			pl.nest = *n
		}
	}
	if s := strings.TrimSpace(o["threads"]); s != "" {
		pl.limits.Threads = &s
	}
	pl.image = strings.TrimSpace(o["docker_image"])
	pl.startup = strings.TrimSpace(o["startup"])
	pl.env = map[string]string{}
	for k, v := range o {
		if name, ok := strings.CutPrefix(k, "env."); ok && name != "" {
			pl.env[name] = v
		}
	}
	for _, s := range splitList(o["location"]) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return bad("package option location=%q must be location ids separated by commas", o["location"])
		}
		pl.locations = append(pl.locations, id)
	}
	for _, s := range splitList(o["port_range"]) {
		if _, _, err := parsePortRange(s); err != nil {
			return bad("package option port_range: %v", err)
		}
		pl.ports = append(pl.ports, s)
	}
	if s := strings.TrimSpace(o["dedicated_ip"]); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad("package option dedicated_ip=%q is not true or false", s)
		}
		pl.dedicatedIP = b
	}
	return pl, nil
}

// withDefaults fills what a new server needs when the product leaves it out: no swap, IO weight
// 500, unlimited CPU, and no databases, extra allocations or backups. Memory and disk have no
// default; the panel's 422 names them if missing.
func (pl plan) withDefaults() plan {
	def := func(p **int64, v int64) {
		if *p == nil {
			*p = &v
		}
	}
	def(&pl.limits.Swap, 0)
	def(&pl.limits.IO, 500)
	def(&pl.limits.CPU, 0)
	def(&pl.features.Databases, 0)
	def(&pl.features.Allocations, 0)
	def(&pl.features.Backups, 0)
	return pl
}

// splitList splits a comma-separated option, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parsePortRange reads "25565" or "25565-25600".
func parsePortRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q is not a port or a range like 25565-25600", s)
	}
	return lo, hi, nil
}

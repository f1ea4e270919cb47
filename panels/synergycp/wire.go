package synergycp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The shapes below are read tolerantly: the reference is a PHP module that reads untyped objects,
// so ids may come as numbers or strings, booleans as 1/"1", and nested parts may be missing.

// ref is an id the panel may send as a JSON number or string, kept as its text.
type ref string

// UnmarshalJSON accepts a number, a string or null.
func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*r = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*r = ref(n.String())
	return nil
}

// link is a related record the panel may embed as {"id": ...} or give as a bare id.
type link struct{ ID ref }

// UnmarshalJSON accepts {"id": N}, N, "N" or null.
func (l *link) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID ref `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		l.ID = o.ID
		return nil
	}
	return l.ID.UnmarshalJSON(b)
}

// flag is a boolean the panel may send as true, 1 or "1".
type flag bool

// UnmarshalJSON reads the value the way PHP decides truth.
func (f *flag) UnmarshalJSON(b []byte) error {
	*f = flag(truthy(b))
	return nil
}

// truthy is PHP's truth of a decoded JSON value: null, false, 0, "", "0" and [] are false.
func truthy(raw json.RawMessage) bool {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		return t != "" && t != "0"
	case []any:
		return len(t) > 0
	}
	return true
}

// isFalse reports whether an envelope's "error" is literally false (the PHP client's test).
func isFalse(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "false" }

// ignored reports whether an error answer's data.ignored is truthy: SynergyCP's "refused for
// manual review" answer to an automatic suspension or wipe of a VIP client.
func ignored(data json.RawMessage) bool {
	var d struct {
		Ignored json.RawMessage `json:"ignored"`
	}
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &d) != nil {
		return false
	}
	return truthy(d.Ignored)
}

// messages joins the texts of an envelope's messages ("text" of each, or a bare string).
func messages(raw []json.RawMessage) string {
	var texts []string
	for _, m := range raw {
		var o struct {
			Text string `json:"text"`
		}
		var s string
		switch {
		case json.Unmarshal(m, &o) == nil && o.Text != "":
			texts = append(texts, o.Text)
		case json.Unmarshal(m, &s) == nil && s != "":
			texts = append(texts, s)
		}
	}
	return strings.Join(texts, "; ")
}

// page is one page of a list: Laravel's paginator (data.data[], last_page), or a bare array from
// an endpoint that does not paginate.
type page[T any] struct {
	Items    []T
	LastPage int
	Total    int
}

// UnmarshalJSON accepts both shapes.
func (p *page[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '[' {
		p.LastPage = 1
		if err := json.Unmarshal(b, &p.Items); err != nil {
			return err
		}
		p.Total = len(p.Items)
		return nil
	}
	var pg struct {
		Data     []T `json:"data"`
		LastPage int `json:"last_page"`
		Total    int `json:"total"`
	}
	if err := json.Unmarshal(b, &pg); err != nil {
		return err
	}
	p.Items, p.LastPage, p.Total = pg.Data, pg.LastPage, pg.Total
	return nil
}

// client is a SynergyCP client (our customer).
type client struct {
	ID        ref    `json:"id"`
	BillingID ref    `json:"billing_id"`
	Email     string `json:"email"`
}

// server is a SynergyCP server as listed or read. Parts are kept raw and read best-effort: their
// exact shape is UNCONFIRMED and must never stop a lookup.
type server struct {
	ID       ref             `json:"id"`
	SrvID    ref             `json:"srv_id"`
	Nickname string          `json:"nickname"`
	Client   *link           `json:"client"`
	Billing  *link           `json:"billing"`
	CPU      json.RawMessage `json:"cpu"`
	Mem      json.RawMessage `json:"mem"`
	Disks    json.RawMessage `json:"disks"`
}

// clientID is the owning client's id, or "" for a server in inventory.
func (s server) clientID() string {
	if s.Client == nil {
		return ""
	}
	return string(s.Client.ID)
}

// billingID is the billing id (our service id) the server was provisioned with, or "".
func (s server) billingID() string {
	if s.Billing == nil {
		return ""
	}
	return string(s.Billing.ID)
}

// part is the sizes a hardware part may carry (UNCONFIRMED field names; zero when absent).
type part struct {
	Cores  int64 `json:"cores"`
	SizeMB int64 `json:"size_mb"`
	SizeGB int64 `json:"size_gb"`
}

// resources reads cores, memory and total disk from the server's parts.
func (s server) resources() (cores, memoryMB, diskGB int64) {
	var cpu, mem part
	_ = json.Unmarshal(s.CPU, &cpu)
	_ = json.Unmarshal(s.Mem, &mem)
	var disks []part
	_ = json.Unmarshal(s.Disks, &disks)
	for _, d := range disks {
		diskGB += d.SizeGB
	}
	return cpu.Cores, mem.SizeMB, diskGB
}

// access is a client's grant on a server; the primary one is the customer's and carries the
// suspension.
type access struct {
	ID        ref  `json:"id"`
	IsActive  flag `json:"is_active"`
	IsPrimary flag `json:"is_primary"`
	Client    link `json:"client"`
}

// install is one queued OS install (PXE profile) of a server.
type install struct {
	ID      ref
	Status  string
	Profile string // the PXE profile's billing id, "" when the answer does not say
}

// UnmarshalJSON reads id, status and pxe_profile.billing_id, ignoring fields of other shapes.
func (in *install) UnmarshalJSON(b []byte) error {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	if err := in.ID.UnmarshalJSON(o["id"]); err != nil {
		return err
	}
	in.Status = text(o["status"])
	var p struct {
		BillingID ref `json:"billing_id"`
	}
	if json.Unmarshal(o["pxe_profile"], &p) == nil {
		in.Profile = string(p.BillingID)
	}
	return nil
}

// text is a scalar JSON value as text ("" for null, objects and arrays).
func text(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// entity is an IP block assigned to a server.
type entity struct {
	Address   string `json:"address"`
	FullIP    string `json:"full_ip"`
	V6Address string `json:"v6_address"`
}

// clientKey is the answer to POST key: an API key owned by a client.
type clientKey struct {
	Key string `json:"key"`
}

// control is a server's IPMI control.
type control struct {
	ID ref `json:"id"`
}

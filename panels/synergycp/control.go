package synergycp

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ezscale/billing/panels"
)

// powerCommand maps our power action to SynergyCP's IPMI command.
func powerCommand(a panels.PowerAction) (string, bool) {
	switch a {
	case panels.PowerStart:
		return "on", true
	case panels.PowerStop:
		return "off", true
	case panels.PowerRestart:
		return "reset", true
	}
	return "", false
}

// Power sends an IPMI power command as the server's client: SynergyCP's control endpoints take a
// key owned by the client (POST key), then the server's first control gets the command.
func (c *Client) Power(ctx context.Context, s panels.Service, a panels.PowerAction) error {
	op := "power " + string(a) + " server " + s.ID
	cmd, ok := powerCommand(a)
	if !ok {
		return invalid(op, "unknown power action "+string(a))
	}
	if s.ID == "" {
		return invalid(op, "the service has no server id")
	}
	clientID := s.Extra["client_id"]
	if clientID == "" {
		srv, err := c.ownedServer(ctx, s, op)
		if err != nil {
			return err
		}
		clientID = srv.clientID()
	}
	key, err := c.clientKey(ctx, clientID)
	if err != nil {
		return err
	}
	path := "server/" + url.PathEscape(s.ID) + "/control"
	var controls page[control]
	if err := c.do(ctx, request{op: op, method: http.MethodGet, path: path, key: key}, &controls); err != nil {
		return err
	}
	var controlID ref
	for _, ct := range controls.Items {
		if ct.ID != "" {
			controlID = ct.ID
			break
		}
	}
	if controlID == "" {
		return unsupported(op, "the server has no IPMI control")
	}
	return c.do(ctx, request{op: op, method: http.MethodPost, key: key,
		path: path + "/" + url.PathEscape(string(controlID)) + "/command", body: map[string]string{"power": cmd}}, nil)
}

// LoginURL is a single-sign-on link into SynergyCP's client area for the account, opened on the
// service's server when s has one. It carries a fresh key owned by the client, so it should be
// made when the customer clicks, not rendered into pages ahead of time.
func (c *Client) LoginURL(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	clientID := a.ID
	if clientID == "" {
		clientID = s.Extra["client_id"]
	}
	if clientID == "" {
		return "", invalid("single sign-on", "the client (account) id is required")
	}
	key, err := c.clientKey(ctx, clientID)
	if err != nil {
		return "", err
	}
	q := url.Values{"key": {key}}
	if s.ID != "" {
		q.Set("view_type", "server")
		q.Set("view_id", s.ID)
	}
	return c.base + "/auth/sso?" + q.Encode(), nil
}

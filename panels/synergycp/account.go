package synergycp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ezscale/billing/panels"
)

// EnsureAccount finds the SynergyCP client whose billing_id is our customer id, creating it when
// absent. A create that fails (a concurrent EnsureAccount won the uniqueness race, or the answer
// was lost) is followed by a second lookup, and only fails when that finds nothing either.
// Account.ID is the client id; Account.Extra is not used.
func (c *Client) EnsureAccount(ctx context.Context, cu panels.Customer) (panels.Account, error) {
	if cu.ID <= 0 {
		return panels.Account{}, invalid("ensure client", "customer id must be positive")
	}
	if a, ok, err := c.findClient(ctx, cu.ID); err != nil || ok {
		return a, err
	}
	body := map[string]any{
		"email":      cu.Email,
		"first":      cu.FirstName,
		"last":       cu.LastName,
		"billing_id": cu.ID,
		"password":   "", // the client signs in through SSO links, not a password
	}
	var created client
	err := c.do(ctx, request{op: "create client", method: http.MethodPost, path: "client", body: body}, &created)
	if err != nil {
		if a, ok, ferr := c.findClient(ctx, cu.ID); ferr == nil && ok {
			return a, nil
		}
		return panels.Account{}, err
	}
	if created.ID == "" {
		return panels.Account{}, c.fail("create client", http.StatusOK, panels.KindTemporary, "the answer has no client id", nil)
	}
	return panels.Account{ID: string(created.ID)}, nil
}

// findClient looks the client up by billing id. A listed client whose billing_id differs (a panel
// that ignored the filter) is not ours.
func (c *Client) findClient(ctx context.Context, customerID int64) (panels.Account, bool, error) {
	want := strconv.FormatInt(customerID, 10)
	var p page[client]
	err := c.do(ctx, request{op: "find client " + want, method: http.MethodGet, path: "client",
		query: url.Values{"billing_id": {want}, "page": {"1"}, "per_page": {"1"}}}, &p)
	if err != nil {
		return panels.Account{}, false, err
	}
	for _, cl := range p.Items {
		if cl.ID != "" && (cl.BillingID == "" || string(cl.BillingID) == want) {
			return panels.Account{ID: string(cl.ID)}, true, nil
		}
	}
	return panels.Account{}, false, nil
}

// clientKey makes an API key owned by the client, for the client-side calls (power, SSO).
// SynergyCP hands out a new key per request, as the WHMCS module does.
func (c *Client) clientKey(ctx context.Context, clientID string) (string, error) {
	id, err := strconv.ParseInt(clientID, 10, 64)
	if err != nil {
		return "", invalid("create client key", "client id "+strconv.Quote(clientID)+" is not a number")
	}
	var k clientKey
	err = c.do(ctx, request{op: "create key for client " + clientID, method: http.MethodPost, path: "key",
		body: map[string]any{"owner_id": id, "owner_type": "client"}}, &k)
	if err != nil {
		return "", err
	}
	if k.Key == "" {
		return "", c.fail("create key for client "+clientID, http.StatusOK, panels.KindTemporary, "the answer has no key", nil)
	}
	return k.Key, nil
}

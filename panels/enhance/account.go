package enhance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ezscale/billing/panels"
)

// ownerRole is the member role that owns a customer org; SSO logs in as this member.
const ownerRole = "Owner"

// customerMarker is the tag in a customer org's name that carries our customer id, since
// Enhance orgs have no external id field. The brackets keep [ezs-c4] from matching [ezs-c42].
func customerMarker(customerID int64) string { return fmt.Sprintf("[ezs-c%d]", customerID) }

// customer is one item of GET /orgs/{resellerOrg}/customers.
type customer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"` // UNCONFIRMED field; only used to break ties
}

// member is one item of GET /orgs/{org}/members. UNCONFIRMED shape beyond id and roles; the
// client needs id, loginId, email and roles.
type member struct {
	ID      string   `json:"id"`
	LoginID string   `json:"loginId"`
	Email   string   `json:"email"`
	Roles   []string `json:"roles"`
}

func (m member) isOwner() bool { return contains(m.Roles, ownerRole) }

// EnsureAccount finds the customer org carrying our customer id in its name, creating the org,
// its login and the Owner member for whatever is missing. Each step looks before it creates,
// so a call repeated after a crash or a lost answer completes the account instead of
// duplicating it.
func (c *Client) EnsureAccount(ctx context.Context, cu panels.Customer) (panels.Account, error) {
	const op = "ensure account"
	if cu.ID <= 0 {
		return panels.Account{}, invalid(op, "customer id %d is not positive", cu.ID)
	}
	if !strings.Contains(cu.Email, "@") {
		return panels.Account{}, invalid(op, "customer %d has no email address", cu.ID)
	}
	org, found, err := c.findCustomerOrg(ctx, cu.ID)
	if err != nil {
		return panels.Account{}, fmt.Errorf("find customer org for customer %d: %w", cu.ID, err)
	}
	if !found {
		if org, err = c.createCustomerOrg(ctx, cu); err != nil {
			return panels.Account{}, fmt.Errorf("create customer org for customer %d: %w", cu.ID, err)
		}
	}
	members, err := c.members(ctx, org)
	if err != nil {
		return panels.Account{}, fmt.Errorf("list members of customer org %s: %w", org, err)
	}
	if owner, ok := firstOwner(members); ok {
		return account(org, owner), nil
	}
	owner, err := c.createOwner(ctx, org, cu)
	if err != nil {
		return panels.Account{}, fmt.Errorf("create owner login for customer %d in org %s: %w", cu.ID, org, err)
	}
	return account(org, owner), nil
}

func account(org string, owner member) panels.Account {
	return panels.Account{ID: org, Extra: map[string]string{"login_id": owner.LoginID, "member_id": owner.ID}}
}

// findCustomerOrg looks for our customer among the reseller's customers by the name marker. When
// a create race left more than one org with the marker, every caller picks the same one: the
// oldest, then the smallest id.
func (c *Client) findCustomerOrg(ctx context.Context, customerID int64) (string, bool, error) {
	all, err := listAll[customer](ctx, c, "list customers", "/orgs/"+url.PathEscape(c.org)+"/customers", nil)
	if err != nil {
		return "", false, err
	}
	marker := customerMarker(customerID)
	var best *customer
	for i := range all {
		cu := &all[i]
		if !strings.Contains(cu.Name, marker) || cu.ID == "" {
			continue
		}
		if best == nil || cu.CreatedAt < best.CreatedAt || (cu.CreatedAt == best.CreatedAt && cu.ID < best.ID) {
			best = cu
		}
	}
	if best == nil {
		return "", false, nil
	}
	return best.ID, true, nil
}

// createCustomerOrg creates the org and then looks again, so that two concurrent creates for one
// customer settle on the same org (Enhance does not make org names unique). The org that loses
// stays empty; it never gets a login or a subscription.
func (c *Client) createCustomerOrg(ctx context.Context, cu panels.Customer) (string, error) {
	name := strings.TrimSpace(strings.TrimSpace(cu.FirstName) + " " + strings.TrimSpace(cu.LastName))
	if name == "" {
		name = cu.Email
	}
	var created newID
	body := map[string]string{"name": name + " " + customerMarker(cu.ID)}
	if err := c.do(ctx, "create customer org", http.MethodPost, "/orgs/"+url.PathEscape(c.org)+"/customers", nil, body, &created); err != nil {
		return "", err
	}
	org, found, err := c.findCustomerOrg(ctx, cu.ID)
	if err != nil {
		return "", err
	}
	if !found {
		return created.String(), nil
	}
	return org, nil
}

// members lists a customer org's members.
func (c *Client) members(ctx context.Context, org string) ([]member, error) {
	return listAll[member](ctx, c, "list members", "/orgs/"+url.PathEscape(org)+"/members", nil)
}

func firstOwner(members []member) (member, bool) {
	for _, m := range members {
		if m.isOwner() {
			return m, true
		}
	}
	return member{}, false
}

// createOwner creates the customer's login in the realm and makes it the org's Owner.
//
// Logins are unique by email across the realm (409). A 409 is taken as our own earlier login
// only when that email is already a member of this customer org; anything else is a conflict an
// operator must look at, because the email may belong to another org. Enhance offers no
// documented way to find a login by email, so a crash between creating the login and making it a
// member also ends here as a conflict (the login exists, the member does not).
func (c *Client) createOwner(ctx context.Context, org string, cu panels.Customer) (member, error) {
	name := strings.TrimSpace(strings.TrimSpace(cu.FirstName) + " " + strings.TrimSpace(cu.LastName))
	if name == "" {
		name = cu.Email
	}
	// The customer never types this password: they reach the panel through LoginURL (SSO).
	login := map[string]string{"email": cu.Email, "name": name, "password": "Ez-" + rand.Text() + "-a1"}
	var created newID
	err := c.do(ctx, "create login", http.MethodPost, "/logins", url.Values{"orgId": {org}}, login, &created)
	if isKind(err, panels.KindConflict) {
		return c.ownerByEmail(ctx, org, cu.Email, err)
	}
	if err != nil {
		return member{}, err
	}
	loginID := created.String()

	var m newID
	err = c.do(ctx, "add owner member", http.MethodPost, "/orgs/"+url.PathEscape(org)+"/members", nil,
		map[string]any{"loginId": loginID, "roles": []string{ownerRole}}, &m)
	if isKind(err, panels.KindConflict) {
		return c.ownerByEmail(ctx, org, cu.Email, err)
	}
	if err != nil {
		return member{}, err
	}
	return member{ID: m.String(), LoginID: loginID, Email: cu.Email, Roles: []string{ownerRole}}, nil
}

// ownerByEmail resolves a 409 on login or member creation: the email must already be the Owner
// member of this org, otherwise the original conflict is returned with an explanation.
func (c *Client) ownerByEmail(ctx context.Context, org, email string, conflict error) (member, error) {
	members, err := c.members(ctx, org)
	if err != nil {
		return member{}, err
	}
	for _, m := range members {
		if strings.EqualFold(m.Email, email) && m.isOwner() {
			return m, nil
		}
	}
	var pe *panels.Error
	if !errors.As(conflict, &pe) {
		return member{}, conflict
	}
	e := *pe
	e.Message = strings.TrimSpace(fmt.Sprintf("login email %s already exists in the panel but is not the Owner of customer org %s. %s", email, org, e.Message))
	return member{}, &e
}

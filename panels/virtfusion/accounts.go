package virtfusion

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// ExtraExtRelationID is the Account.Extra key holding our customer id as VirtFusion knows it
// (extRelationId); the SSO and user routes are addressed by it, not by the user id.
const ExtraExtRelationID = "ext_relation_id"

// EnsureAccount finds the VirtFusion user whose extRelationId is our customer id, creating it
// when absent. A create that loses a race with another worker is resolved by looking up again.
func (c *Client) EnsureAccount(ctx context.Context, cu panels.Customer) (panels.Account, error) {
	if cu.ID <= 0 {
		return panels.Account{}, invalid("ensure user", fmt.Sprintf("customer id %d is not positive", cu.ID))
	}
	u, found, err := c.userByExtRelation(ctx, cu.ID)
	if err != nil || found {
		return account(u, cu.ID), err
	}
	name := strings.TrimSpace(cu.FirstName + " " + cu.LastName)
	if name == "" {
		name = cu.Email
	}
	body := map[string]any{"name": name, "email": cu.Email, "extRelationId": cu.ID, "sendMail": false}
	var created envelope[user]
	err = c.do(ctx, fmt.Sprintf("create user for customer %d", cu.ID), http.MethodPost, "/users", nil, body, &created)
	if err == nil {
		return account(created.Data, cu.ID), nil
	}
	// Another worker may have created the user between our lookup and our create; VirtFusion
	// then refuses the duplicate extRelationId (422, or 409 if it ever says so). Look again.
	if errors.Is(err, panels.ErrValidation) || errors.Is(err, panels.ErrConflict) {
		if u, found, lerr := c.userByExtRelation(ctx, cu.ID); lerr == nil && found {
			return account(u, cu.ID), nil
		}
	}
	return panels.Account{}, err
}

// userByExtRelation looks a user up by our customer id; a 404 means there is none.
func (c *Client) userByExtRelation(ctx context.Context, customerID int64) (user, bool, error) {
	var got envelope[user]
	path := "/users/" + strconv.FormatInt(customerID, 10) + "/byExtRelation"
	err := c.do(ctx, fmt.Sprintf("find user for customer %d", customerID), http.MethodGet, path, nil, nil, &got)
	if errors.Is(err, panels.ErrNotFound) {
		return user{}, false, nil
	}
	if err != nil {
		return user{}, false, err
	}
	if got.Data.ID <= 0 {
		return user{}, false, &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion,
			Op: fmt.Sprintf("find user for customer %d", customerID), Message: "answer has no user id"}
	}
	return got.Data, true, nil
}

func account(u user, customerID int64) panels.Account {
	if u.ID <= 0 {
		return panels.Account{}
	}
	return panels.Account{
		ID:    strconv.FormatInt(int64(u.ID), 10),
		Extra: map[string]string{ExtraExtRelationID: strconv.FormatInt(customerID, 10)},
	}
}

// LoginURL asks VirtFusion for one-time authentication tokens for the account's user and returns
// the panel host (BaseURL without /api/v1) joined with the answer's endpoint_complete.
func (c *Client) LoginURL(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	const op = "create login tokens"
	ext := a.Extra[ExtraExtRelationID]
	if _, err := positiveID(ext); err != nil {
		return "", invalid(op, "account has no "+ExtraExtRelationID+" (our customer id)")
	}
	var got envelope[struct {
		Authentication struct {
			EndpointComplete string `json:"endpoint_complete"`
		} `json:"authentication"`
	}]
	if err := c.do(ctx, op+" for customer "+ext, http.MethodPost, "/users/"+ext+"/authenticationTokens", nil, nil, &got); err != nil {
		return "", err
	}
	endpoint := got.Data.Authentication.EndpointComplete
	if endpoint == "" {
		return "", &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion, Op: op + " for customer " + ext,
			Message: "answer has no authentication.endpoint_complete"}
	}
	if !strings.HasPrefix(endpoint, "/") {
		endpoint = "/" + endpoint
	}
	return c.host + endpoint, nil
}

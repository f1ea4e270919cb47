package pterodactyl

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels"
)

// userAttrs are the Application API's user attributes we read.
type userAttrs struct {
	ID         int64   `json:"id"`
	ExternalID *string `json:"external_id"`
	UUID       string  `json:"uuid"`
	Username   string  `json:"username"`
	Email      string  `json:"email"`
	FirstName  string  `json:"first_name"`
	LastName   string  `json:"last_name"`
	Language   string  `json:"language"`
}

type userItem struct {
	Attributes userAttrs `json:"attributes"`
}

// EnsureAccount finds the panel user whose external_id is our customer id, creating it when
// absent. A create that loses a race with a concurrent one (the panel answers 422 "has already
// been taken") is resolved by looking the user up again.
func (c *Client) EnsureAccount(ctx context.Context, cu panels.Customer) (panels.Account, error) {
	const op = "ensure user"
	if cu.ID <= 0 {
		return panels.Account{}, c.errorf(op, panels.KindValidation, "customer id %d is not a valid external id", cu.ID)
	}
	if a, ok, err := c.findAccount(ctx, cu.ID); err != nil || ok {
		return a, err
	}
	first, last := strings.TrimSpace(cu.FirstName), strings.TrimSpace(cu.LastName)
	if first == "" {
		first = "Customer" // first_name and last_name are required by the panel
	}
	if last == "" {
		last = strconv.FormatInt(cu.ID, 10)
	}
	body := map[string]any{
		"external_id": strconv.FormatInt(cu.ID, 10), // a string: the panel validates external_id as one
		"username":    username(cu.Email, cu.ID),
		"email":       strings.TrimSpace(cu.Email),
		"first_name":  first,
		"last_name":   last,
	}
	var out userItem
	err := c.do(ctx, "create user", c.appKey, http.MethodPost, "/api/application/users", body, &out)
	if err == nil {
		return account(out.Attributes), nil
	}
	if errors.Is(err, panels.ErrValidation) {
		if a, ok, ferr := c.findAccount(ctx, cu.ID); ferr == nil && ok {
			return a, nil
		}
	}
	return panels.Account{}, err
}

// findAccount is GET /users/external/{customer id}; a 404 is "no such user".
func (c *Client) findAccount(ctx context.Context, customerID int64) (panels.Account, bool, error) {
	var out userItem
	path := "/api/application/users/external/" + url.PathEscape(strconv.FormatInt(customerID, 10))
	err := c.do(ctx, "find user by external id", c.appKey, http.MethodGet, path, nil, &out)
	switch {
	case notFound(err):
		return panels.Account{}, false, nil
	case err != nil:
		return panels.Account{}, false, err
	}
	return account(out.Attributes), true, nil
}

func account(u userAttrs) panels.Account {
	return panels.Account{
		ID:    strconv.FormatInt(u.ID, 10),
		Extra: map[string]string{"uuid": u.UUID, "username": u.Username},
	}
}

// username derives a unique panel username from the email's local part and our customer id:
// lowercase letters, digits, "_", "." and "-", starting and ending alphanumeric (the panel's
// Username rule), e.g. "jane.doe-42".
func username(email string, customerID int64) string {
	local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	var b strings.Builder
	for _, r := range local {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	name := strings.TrimLeft(b.String(), "_.-")
	if len(name) > 40 {
		name = name[:40]
	}
	if name == "" {
		name = "customer"
	}
	return name + "-" + strconv.FormatInt(customerID, 10)
}

// ResetPassword sets a new random password on the customer's panel user (PATCH /users/{id},
// which requires username, email and names to be sent again) and returns it. Pterodactyl servers
// have no root password: this is the password for logging in to the panel.
func (c *Client) ResetPassword(ctx context.Context, a panels.Account, s panels.Service) (string, error) {
	const op = "reset panel password"
	userID := a.ID
	if userID == "" {
		srv, err := c.server(ctx, op, s.ID, "")
		if err != nil {
			return "", err
		}
		userID = strconv.FormatInt(srv.User, 10)
	}
	var cur userItem
	path := "/api/application/users/" + url.PathEscape(userID)
	if err := c.do(ctx, "read user", c.appKey, http.MethodGet, path, nil, &cur); err != nil {
		return "", err
	}
	password, err := newPassword(24)
	if err != nil {
		return "", &panels.Error{Kind: panels.KindTemporary, Panel: panels.Pterodactyl, Op: op, Err: err}
	}
	u := cur.Attributes
	body := map[string]any{
		"username": u.Username, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"password": password,
	}
	if u.Language != "" {
		body["language"] = u.Language
	}
	if err := c.do(ctx, op, c.appKey, http.MethodPatch, path, body, nil); err != nil {
		return "", err
	}
	return password, nil
}

// newPassword is n random letters and digits from crypto/rand.
func newPassword(n int) (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	out := make([]byte, n)
	for i := range out {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		out[i] = alphabet[k.Int64()]
	}
	return string(out), nil
}

// Package enhance is the panels.Client for Enhance (enhance.com) shared web hosting, speaking the
// orchd API (docs/panels.md, "Enhance"). A service is one subscription to a
// plan in the customer's org plus the website created on it; the customer is an org under our
// reseller (or master) org with an Owner login.
//
// Enhance has no external id field, so our ids travel in names: the customer org is named
// "<First Last> [ezs-c<customer id>]" and the subscription's friendlyName is "ezs-<service id>".
// Lookups match those markers, which is what makes every create safe to repeat.
package enhance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/panels"
)

// pageSize is how many list items one request asks for while paging through a list.
const pageSize = 100

// Client talks to one Enhance control panel on behalf of one reseller or master org.
type Client struct {
	base  string // https://host/api, no trailing slash
	token string
	org   string // our reseller or master org uuid ({resellerOrg} in the reference)
	http  *http.Client
}

var _ panels.Client = (*Client)(nil)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// New checks the configuration and returns a client. BaseURL is the orchd API root
// (https://host/api), Token a bearer access token and Extra["org_id"] the uuid of the org
// customers are created under.
func New(cfg panels.Config) (*Client, error) {
	if cfg.Type != "" && cfg.Type != panels.Enhance {
		return nil, fmt.Errorf("enhance: config is for panel type %q", cfg.Type)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("enhance: base URL %q must be an absolute http(s) URL such as https://panel.example.com/api", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("enhance: an API access token is required")
	}
	org := strings.TrimSpace(cfg.Extra["org_id"])
	if org == "" {
		return nil, errors.New(`enhance: Extra["org_id"] (the reseller or master org uuid) is required`)
	}
	if !uuidPattern.MatchString(org) {
		return nil, fmt.Errorf(`enhance: Extra["org_id"] %q is not an org uuid`, org)
	}
	return &Client{base: base, token: strings.TrimSpace(cfg.Token), org: org, http: cfg.HTTPClient()}, nil
}

// Type reports panels.Enhance.
func (c *Client) Type() panels.Type { return panels.Enhance }

// Test reads our own org, which checks the URL, the token and the org id together.
func (c *Client) Test(ctx context.Context) error {
	var org struct {
		ID string `json:"id"`
	}
	return c.do(ctx, "test connection", http.MethodGet, "/orgs/"+url.PathEscape(c.org), nil, nil, &org)
}

// apiError is the spec's HttpError body. UNCONFIRMED for most endpoints: bodies may be empty or
// plain text, so the status code decides the kind and the body only adds words.
type apiError struct {
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

// do sends one request and decodes a 2xx JSON answer into out (when out is non-nil and the body
// is not empty). Any other answer becomes a *panels.Error.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	_, err := c.send(ctx, op, method, path, query, in, out)
	return err
}

// send is do that also returns the status of a successful answer.
func (c *Client) send(ctx context.Context, op, method, path string, query url.Values, in, out any) (int, error) {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, &panels.Error{Kind: panels.KindValidation, Panel: panels.Enhance, Op: op, Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, &panels.Error{Kind: panels.KindValidation, Panel: panels.Enhance, Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Enhance, Op: op, Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return res.StatusCode, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Enhance, Op: op, Status: res.StatusCode, Err: err}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, failure(op, res, raw)
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Enhance, Op: op, Status: res.StatusCode,
				Message: "unreadable answer", Err: err}
		}
	}
	return res.StatusCode, nil
}

// failure turns a non-2xx answer into a panels.Error. Enhance documents 400 invalid input,
// 401 invalid session, 403 insufficient privileges, 404 not found and 409 already exists; a
// reseller out of quota is answered 400 or 403 with "quota" in the body, which is no capacity.
func failure(op string, res *http.Response, raw []byte) *panels.Error {
	e := &panels.Error{
		Kind:    panels.KindForStatus(res.StatusCode),
		Panel:   panels.Enhance,
		Op:      op,
		Status:  res.StatusCode,
		Message: errorMessage(raw),
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		e.RetryAfter = panels.ParseRetryAfter(res.Header, time.Now())
	}
	switch res.StatusCode {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity:
		if bytes.Contains(bytes.ToLower(raw), []byte("quota")) {
			e.Kind = panels.KindNoCapacity
		}
	}
	return e
}

// errorMessage joins the words of an HttpError body, or returns a plain-text body trimmed.
func errorMessage(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var body apiError
	if err := json.Unmarshal(raw, &body); err == nil {
		var parts []string
		for _, p := range []string{body.Message, body.Detail} {
			if p != "" && !contains(parts, p) {
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 && body.Code != "" {
			parts = append(parts, body.Code)
		}
		return strings.Join(parts, ": ")
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		return text
	}
	s := string(raw)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// list is the {"items": [...], "total": N} envelope of every Enhance listing.
type list[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// listAll pages through a listing with offset and limit until total items are read.
func listAll[T any](ctx context.Context, c *Client, op, path string, query url.Values) ([]T, error) {
	var all []T
	for {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("offset", strconv.Itoa(len(all)))
		q.Set("limit", strconv.Itoa(pageSize))
		var page list[T]
		if err := c.do(ctx, op, http.MethodGet, path, q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if len(page.Items) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// newID is a creation answer: 201 {"id": "<uuid>"} or 201 {"id": 17}.
type newID struct {
	ID json.RawMessage `json:"id"`
}

// String returns the id as text whether the panel sent a string or a number.
func (n newID) String() string {
	var s string
	if err := json.Unmarshal(n.ID, &s); err == nil {
		return s
	}
	return strings.TrimSpace(string(n.ID))
}

// invalid is a request we refuse to send because our own input is wrong.
func invalid(op, format string, args ...any) *panels.Error {
	return &panels.Error{Kind: panels.KindValidation, Panel: panels.Enhance, Op: op, Message: fmt.Sprintf(format, args...)}
}

// kindOf reports the Kind of a panel error, and false for anything else.
func kindOf(err error) (panels.Kind, bool) {
	var e *panels.Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

// isKind reports whether err is a panel error of kind k.
func isKind(err error, k panels.Kind) bool {
	got, ok := kindOf(err)
	return ok && got == k
}

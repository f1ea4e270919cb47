// Package virtfusion is the panels.Client for VirtFusion, the VPS panel: users looked up by our
// customer id (extRelationId), servers created then built, and every answer mapped to the
// panels.Error vocabulary. The API facts are in docs/panels.md, "VirtFusion".
package virtfusion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/billing/panels"
)

// apiSuffix is the path every VirtFusion base URL ends in; the SSO link is built on the host
// without it.
const apiSuffix = "/api/v1"

// maxBody caps how much of an answer we read, so a misbehaving panel cannot exhaust memory.
const maxBody = 8 << 20

// Client talks to one VirtFusion panel.
type Client struct {
	base  string // https://host/api/v1, no trailing slash
	host  string // https://host, for SSO links
	token string
	group string // default hypervisor group id, from Config.Extra["hypervisor_group"]
	http  *http.Client

	// passwords holds root passwords from build answers until a Details call hands them over,
	// so the password never has to travel in Service.Extra. See Details.
	mu        sync.Mutex
	passwords map[int64]string
}

var _ panels.Client = (*Client)(nil)

// New checks cfg and returns a client. BaseURL must be the panel's https://host/api/v1 and Token
// an API token; Extra["hypervisor_group"], when set, is the default hypervisor group id for
// packages that do not name one.
func New(cfg panels.Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return nil, errors.New("virtfusion: BaseURL is required (https://panel.example.com/api/v1)")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("virtfusion: BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("virtfusion: BaseURL %q must not carry a query or fragment", cfg.BaseURL)
	}
	if !strings.HasSuffix(u.Path, apiSuffix) {
		return nil, fmt.Errorf("virtfusion: BaseURL %q must end in %s", cfg.BaseURL, apiSuffix)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("virtfusion: Token is required (an API token from the panel)")
	}
	group := strings.TrimSpace(cfg.Extra["hypervisor_group"])
	if group != "" {
		if _, err := positiveID(group); err != nil {
			return nil, fmt.Errorf("virtfusion: Extra hypervisor_group %q is not a group id", group)
		}
	}
	return &Client{
		base:      base,
		host:      strings.TrimSuffix(base, apiSuffix),
		token:     cfg.Token,
		group:     group,
		http:      cfg.HTTPClient(),
		passwords: map[int64]string{},
	}, nil
}

// Type is panels.VirtFusion.
func (c *Client) Type() panels.Type { return panels.VirtFusion }

// Test checks the URL and token with GET /connect.
func (c *Client) Test(ctx context.Context) error {
	return c.do(ctx, "test connection", http.MethodGet, "/connect", nil, nil, nil)
}

// do sends one request and decodes a 2xx answer into out (when out is not nil). Every failure
// comes back as a *panels.Error.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &panels.Error{Kind: panels.KindValidation, Panel: panels.VirtFusion, Op: op, Err: err}
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &panels.Error{Kind: panels.KindValidation, Panel: panels.VirtFusion, Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion, Op: op, Err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion, Op: op, Status: res.StatusCode, Err: err}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return errorFor(op, res, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		// A 2xx that is not the panel's JSON is most likely a proxy or maintenance page.
		return &panels.Error{Kind: panels.KindTemporary, Panel: panels.VirtFusion, Op: op, Status: res.StatusCode,
			Message: "unreadable answer", Err: err}
	}
	return nil
}

// noCapacityPhrase marks VirtFusion's "nothing in the group can take it" answer. VirtFusion has no
// error code for it, only a 422 whose errors read "No hypervisor in the group has enough
// resources" (the phrase our simulator uses; the real wording is UNCONFIRMED), so any 400/422
// message containing this phrase is KindNoCapacity rather than KindValidation.
const noCapacityPhrase = "enough resources"

// errorFor turns a non-2xx answer into a panels.Error carrying the panel's own words: 422
// {"errors":["..."]} (joined), 404/423 {"msg":"..."}, Laravel {"message":"..."}.
func errorFor(op string, res *http.Response, body []byte) *panels.Error {
	msg := panelMessage(body)
	kind := panels.KindForStatus(res.StatusCode)
	if kind == panels.KindValidation && strings.Contains(strings.ToLower(msg), noCapacityPhrase) {
		kind = panels.KindNoCapacity
	}
	return &panels.Error{
		Kind:       kind,
		Panel:      panels.VirtFusion,
		Op:         op,
		Status:     res.StatusCode,
		Message:    msg,
		RetryAfter: panels.ParseRetryAfter(res.Header, time.Now()),
	}
}

// panelMessage reads the message out of any of VirtFusion's error bodies.
func panelMessage(body []byte) string {
	var e struct {
		Msg     string          `json:"msg"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		s := strings.TrimSpace(string(body))
		if s == "" || strings.HasPrefix(s, "<") {
			return ""
		}
		if len(s) > 200 {
			s = s[:200]
		}
		return s
	}
	var parts []string
	if errs := errorStrings(e.Errors); len(errs) > 0 {
		parts = append(parts, errs...)
	} else if e.Message != "" {
		parts = append(parts, e.Message)
	}
	if e.Msg != "" {
		parts = append([]string{e.Msg}, parts...)
	}
	return strings.Join(parts, "; ")
}

// errorStrings flattens "errors": an array of strings (VirtFusion's documented shape) or a Laravel
// validation object of field → messages.
func errorStrings(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, v := range list {
			if s := fmt.Sprint(v); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var fields map[string][]string
	if json.Unmarshal(raw, &fields) == nil {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, fields[k]...)
		}
		return out
	}
	return nil
}

// invalid is a failure we detect before calling the panel.
func invalid(op, msg string) *panels.Error {
	return &panels.Error{Kind: panels.KindValidation, Panel: panels.VirtFusion, Op: op, Message: msg}
}

// positiveID parses a VirtFusion id (a positive integer).
func positiveID(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a VirtFusion id", s)
	}
	return n, nil
}

// idOf parses an id we are given, reporting a validation error for op when it is malformed.
func idOf(op, what, s string) (int64, error) {
	n, err := positiveID(s)
	if err != nil {
		return 0, invalid(op, what+" "+err.Error())
	}
	return n, nil
}

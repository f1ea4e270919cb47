// Package synergycp is the panels.Client for SynergyCP, the dedicated-server panel. Our customers
// are SynergyCP clients found by billing_id; a service is a server taken from the panel's
// inventory, provisioned to the client with billing.id = our service id, and installed over PXE.
// The API facts it follows are in docs/panels.md, "SynergyCP".
package synergycp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ezscale/billing/panels"
)

const panel = panels.SynergyCP

// maxAnswer bounds how much of an answer is read; SynergyCP's pages are small.
const maxAnswer = 8 << 20

// Client is one SynergyCP API host reached with an integration's API key.
type Client struct {
	base       string // API host without the trailing slash, e.g. https://api.example-dc.com
	key        string // integration API key, sent as ?key= on every request
	preInstall string // PXE profile billing id installed before the OS, or ""
	http       *http.Client
}

var _ panels.Client = (*Client)(nil)

// New checks cfg and returns its client. cfg.BaseURL is the API host (https://api.example.com,
// paths are appended to it), cfg.Token the integration's API key. cfg.Extra["pre_install_profile"]
// optionally names a PXE profile billing id (e.g. "format-quick") to run before the package's OS,
// as the WHMCS module's "pre-install" setting does; it is a panel setting, not a package option,
// because FindService must know it to tell a finished create from an interrupted one.
func New(cfg panels.Config) (*Client, error) {
	if cfg.Type != "" && cfg.Type != panel {
		return nil, fmt.Errorf("synergycp: config is for panel type %q", cfg.Type)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("synergycp: base URL %q must be the API host, like https://api.example.com", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("synergycp: base URL %q must not carry a query or fragment", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("synergycp: the API key (token) is required")
	}
	return &Client{
		base:       base,
		key:        strings.TrimSpace(cfg.Token),
		preInstall: strings.TrimSpace(cfg.Extra["pre_install_profile"]),
		http:       cfg.HTTPClient(),
	}, nil
}

// Type is panels.SynergyCP.
func (c *Client) Type() panels.Type { return panel }

// Test lists one client: it needs the right host and a key with the Clients permission.
func (c *Client) Test(ctx context.Context) error {
	var p page[client]
	return c.do(ctx, request{op: "test connection", method: http.MethodGet, path: "client",
		query: url.Values{"page": {"1"}, "per_page": {"1"}}}, &p)
}

// request is one API call.
type request struct {
	op     string // what we were doing, for the error
	method string
	path   string     // appended to the base, e.g. "server/101/access"
	query  url.Values // GET parameters (PHP-style arrays as "name[]" keys)
	body   any        // JSON body for POST/PATCH/DELETE
	key    string     // a client's key instead of the integration key
}

// envelope is every SynergyCP answer: {"error": false, "messages": [...], "data": ...}.
type envelope struct {
	Error    json.RawMessage   `json:"error"`
	Messages []json.RawMessage `json:"messages"`
	Data     json.RawMessage   `json:"data"`
}

// do sends rq and decodes the answer's data into out (when not nil). Like the official PHP
// client, any answer whose "error" is not literally false is a failure, whatever its HTTP status.
func (c *Client) do(ctx context.Context, rq request, out any) error {
	q := url.Values{}
	for k, v := range rq.query {
		q[k] = v
	}
	key := rq.key
	if key == "" {
		key = c.key
	}
	q.Set("key", key)
	target := c.base + "/" + rq.path + "?" + q.Encode()

	var body io.Reader
	if rq.method != http.MethodGet && rq.body != nil {
		b, err := json.Marshal(rq.body)
		if err != nil {
			return c.fail(rq.op, 0, panels.KindValidation, "", fmt.Errorf("encode request: %w", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, target, body)
	if err != nil {
		return c.fail(rq.op, 0, panels.KindTemporary, "", redact(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	res, err := c.http.Do(req)
	if err != nil {
		return c.fail(rq.op, 0, panels.KindTemporary, "", redact(err))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return c.fail(rq.op, res.StatusCode, panels.KindTemporary, "", redact(err))
	}

	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	success := res.StatusCode >= 200 && res.StatusCode < 300
	if success && jsonErr == nil && isFalse(env.Error) {
		if out == nil || len(env.Data) == 0 {
			return nil
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return c.fail(rq.op, res.StatusCode, panels.KindTemporary, "unreadable data in the answer", err)
		}
		return nil
	}

	e := &panels.Error{Panel: panel, Op: rq.op, Status: res.StatusCode, Message: messages(env.Messages)}
	switch {
	case jsonErr != nil && success:
		// A 2xx page that is not the API's JSON: the base URL is most likely not the API host.
		e.Kind = panels.KindUnauthorized
		e.Message = "the answer is not SynergyCP API JSON; is the base URL the api. host?"
	case jsonErr != nil && res.StatusCode == http.StatusNotFound:
		// A 404 without the panel's envelope comes from something in front of it; never let it
		// pass for "already gone".
		e.Kind = panels.KindTemporary
		e.Message = "HTTP 404 without SynergyCP's JSON answer; check the base URL"
	case success:
		// Refused with a 2xx status: the PHP client ignores the status, and so must we.
		e.Kind = panels.KindValidation
	default:
		e.Kind = panels.KindForStatus(res.StatusCode)
	}
	if jsonErr == nil && ignored(env.Data) {
		// VIP clients: SynergyCP refuses automatic suspensions and wipes for staff to review.
		e.Kind = panels.KindConflict
		e.Message = strings.TrimSuffix("pending manual review: "+e.Message, ": ")
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	switch res.StatusCode {
	case http.StatusTooManyRequests, http.StatusLocked, http.StatusServiceUnavailable:
		e.RetryAfter = panels.ParseRetryAfter(res.Header, time.Now())
	}
	return e
}

// fail builds a panels.Error for a call that got no usable answer.
func (c *Client) fail(op string, status int, kind panels.Kind, msg string, err error) *panels.Error {
	return &panels.Error{Panel: panel, Op: op, Status: status, Kind: kind, Message: msg, Err: err}
}

// invalid reports input we refuse before calling the panel.
func invalid(op, msg string) *panels.Error {
	return &panels.Error{Panel: panel, Op: op, Kind: panels.KindValidation, Message: msg}
}

// unsupported reports an operation a dedicated server cannot do.
func unsupported(op, msg string) *panels.Error {
	return &panels.Error{Panel: panel, Op: op, Kind: panels.KindUnsupported, Message: msg}
}

// redact drops the query (which carries the API key) from a transport error's URL.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		if i := strings.IndexByte(cp.URL, '?'); i >= 0 {
			cp.URL = cp.URL[:i]
		}
		return &cp
	}
	return err
}

// isKind reports whether err is a panels.Error of kind k.
func isKind(err error, k panels.Kind) bool {
	var e *panels.Error
	return errors.As(err, &e) && e.Kind == k
}

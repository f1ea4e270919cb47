// Package pterodactyl is the panels.Client for Pterodactyl Panel: game servers created through the
// Application API (a ptla_ key) and powered through the Client API (a root admin's ptlc_ key,
// Config.Extra["client_key"], because the Client API refuses application keys).
//
// Ids we keep: Account.ID is the panel user id; Service.ID is the server id, with
// Service.Extra "identifier" (8-char short uuid, for the Client API and the panel URL), "uuid"
// and "allocation" (the primary allocation id that PATCH /build requires). Users carry our
// customer id and servers "svc-<our service id>" as their external_id, which is how lookups stay
// idempotent after a crash.
//
// Package.PlanID is the egg id. Package.Options: "memory", "swap", "disk" (MB), "io" (10-1000),
// "cpu" (percent of a core, 0 = unlimited), "threads", "databases", "allocations", "backups",
// "location" (location ids, comma-separated; none = any), "port_range" ("25565-25600,27015"),
// "dedicated_ip", "docker_image", "startup", "env.<VAR>" (egg variables), and "nest": when set,
// the egg's image, startup command and variable defaults fill whatever the options leave out.
// Left out with no nest, swap is 0, io 500, cpu 0 and the feature limits 0.
//
// API facts: docs/panels.md, "Pterodactyl".
package pterodactyl

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

// accept is the media type the official modules send; any JSON Accept makes the panel answer an
// auth failure with a 401 envelope instead of a redirect to /auth/login.
const accept = "Application/vnd.pterodactyl.v1+json"

// maxBody caps how much of an answer we read (node listings with allocations are the largest).
const maxBody = 16 << 20

// Client talks to one Pterodactyl panel.
type Client struct {
	base      string // panel root, no trailing slash
	appKey    string // ptla_ application key (or a root admin's ptlc_ key)
	clientKey string // a root admin's ptlc_ key, for the Client API
	http      *http.Client
	now       func() time.Time
}

var _ panels.Client = (*Client)(nil)

// New checks cfg and returns a client. BaseURL is the panel root (https://panel.example.com),
// Token the application API key, Extra["client_key"] a root admin's client API key.
func New(cfg panels.Config) (*Client, error) {
	if cfg.Type != "" && cfg.Type != panels.Pterodactyl {
		return nil, fmt.Errorf("pterodactyl: config is for panel type %q", cfg.Type)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pterodactyl: BaseURL %q must be the panel's http(s) root URL, e.g. https://panel.example.com", cfg.BaseURL)
	}
	if p := strings.ToLower(u.Path); strings.HasSuffix(p, "/api") || strings.Contains(p, "/api/") {
		return nil, fmt.Errorf("pterodactyl: BaseURL %q must be the panel root without /api/...; the client adds /api/application and /api/client", cfg.BaseURL)
	}
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, errors.New("pterodactyl: Token (the ptla_ application API key) is required")
	}
	clientKey := strings.TrimSpace(cfg.Extra["client_key"])
	switch {
	case clientKey == "":
		return nil, errors.New(`pterodactyl: Extra["client_key"] (a root admin's ptlc_ client API key) is required for power actions`)
	case strings.HasPrefix(clientKey, "ptla_"):
		return nil, errors.New(`pterodactyl: Extra["client_key"] is an application key (ptla_); the Client API only accepts a client key (ptlc_) of a root admin`)
	}
	// Redirects are not followed: an auth failure may come back as a 302 to /auth/login, and a
	// followed redirect would turn it into a 200 HTML page (and a POST into a GET).
	hc := *cfg.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: base, appKey: token, clientKey: clientKey, http: &hc, now: time.Now}, nil
}

// Type is panels.Pterodactyl.
func (c *Client) Type() panels.Type { return panels.Pterodactyl }

// Test reads users, servers and nodes with the application key (what provisioning and capacity
// checks need) and the client key's own account, which must be a root admin to power
// customers' servers.
func (c *Client) Test(ctx context.Context) error {
	for _, p := range []string{"users", "servers", "nodes"} {
		if err := c.do(ctx, "list "+p, c.appKey, http.MethodGet, "/api/application/"+p+"?per_page=1", nil, nil); err != nil {
			return err
		}
	}
	var acct struct {
		Attributes struct {
			Username string `json:"username"`
			Admin    bool   `json:"admin"`
		} `json:"attributes"`
	}
	if err := c.do(ctx, "read client key account", c.clientKey, http.MethodGet, "/api/client/account", nil, &acct); err != nil {
		return err
	}
	if !acct.Attributes.Admin {
		return c.errorf("read client key account", panels.KindUnauthorized,
			"client_key belongs to %q, who is not a root admin, so it cannot power customers' servers", acct.Attributes.Username)
	}
	return nil
}

// apiError is one entry of the panel's error envelope.
type apiError struct {
	Code   string `json:"code"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Meta   struct {
		SourceField string `json:"source_field"`
		Rule        string `json:"rule"`
	} `json:"meta"`
}

// reply is a panel answer read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
	errors []apiError
}

// has reports whether the error envelope names an exception class.
func (r *reply) has(code string) bool {
	for _, e := range r.errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// send makes one request and reads the answer; only transport failures are errors here.
func (c *Client) send(ctx context.Context, op, key, method, path string, in any) (*reply, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, &panels.Error{Kind: panels.KindValidation, Panel: panels.Pterodactyl, Op: op, Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, &panels.Error{Kind: panels.KindValidation, Panel: panels.Pterodactyl, Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", accept)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		// Network errors, timeouts and cancellation; the context error stays reachable through
		// errors.Is (e.g. context.Canceled).
		return nil, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Pterodactyl, Op: op, Err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, &panels.Error{Kind: panels.KindTemporary, Panel: panels.Pterodactyl, Op: op, Status: res.StatusCode, Err: err}
	}
	r := &reply{status: res.StatusCode, header: res.Header, body: data}
	if res.StatusCode >= 300 {
		var env struct {
			Errors []apiError `json:"errors"`
		}
		if json.Unmarshal(data, &env) == nil {
			r.errors = env.Errors
		}
	}
	return r, nil
}

// do sends a request, turns a non-2xx answer into a *panels.Error and decodes a 2xx body into out.
func (c *Client) do(ctx context.Context, op, key, method, path string, in, out any) error {
	r, err := c.send(ctx, op, key, method, path, in)
	if err != nil {
		return err
	}
	if r.status < 200 || r.status >= 300 {
		return c.failure(op, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			return &panels.Error{Kind: panels.KindTemporary, Panel: panels.Pterodactyl, Op: op, Status: r.status,
				Message: "unreadable answer: " + snippet(r.body), Err: err}
		}
	}
	return nil
}

// failure maps a non-2xx answer to a panels.Error with the panel's own words.
func (c *Client) failure(op string, r *reply) *panels.Error {
	e := &panels.Error{
		Kind: panels.KindForStatus(r.status), Panel: panels.Pterodactyl, Op: op, Status: r.status,
		RetryAfter: panels.ParseRetryAfter(r.header, c.now()),
	}
	if r.status >= 300 && r.status < 400 {
		loc := r.header.Get("Location")
		e.Message = "redirected to " + loc
		if strings.Contains(loc, "/auth/login") {
			// Handler::unauthenticated for a request the panel did not take as JSON.
			e.Kind = panels.KindUnauthorized
			e.Message += ": the API key was refused"
		} else {
			e.Message += ": is BaseURL the panel's root URL (and https)?"
		}
		return e
	}
	if len(r.errors) == 0 {
		e.Message = snippet(r.body)
		return e
	}
	details := make([]string, 0, len(r.errors))
	for _, ae := range r.errors {
		details = append(details, ae.Detail)
		switch ae.Code {
		case "NoViableAllocationException", "NoViableNodeException":
			// 400 DisplayExceptions of a deploy block that finds no node or port.
			e.Kind = panels.KindNoCapacity
		}
	}
	e.Message = strings.Join(details, "; ")
	return e
}

// errorf makes a panels.Error for a failure found on our side.
func (c *Client) errorf(op string, kind panels.Kind, format string, args ...any) *panels.Error {
	return &panels.Error{Kind: kind, Panel: panels.Pterodactyl, Op: op, Message: fmt.Sprintf(format, args...)}
}

// snippet is the start of a non-JSON body, for messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// notFound reports whether err is the panel's 404.
func notFound(err error) bool { return errors.Is(err, panels.ErrNotFound) }

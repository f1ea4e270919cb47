// Package sim is a fake PayPal REST API for tests and dev mode: OAuth tokens, Orders v2 with a
// tiny approve page, captures, refunds and webhook verification, with the shapes, status codes
// and error envelope PayPal documents (see docs/gateways.md).
//
// It is stateful and in memory behind one mutex. POSTs are idempotent by PayPal-Request-Id:
// a repeat answers 200 with the first answer's body. Webhook deliveries the simulator signs
// (Deliveries, SignedEvent) verify as SUCCESS; anything else verifies as FAILURE. FailNext
// makes the next requests answer 500 or 429.
//
// The handler expects to be mounted at the root of its host: links it returns are built from
// the request's Host.
package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	ClientID string // the only client id the token endpoint accepts
	Secret   string // its secret
	// WebhookID is our webhook's id; verification answers SUCCESS only for it.
	WebhookID string
	// Now is the clock for create_time fields; nil means time.Now.
	Now func() time.Time
	// OmitCaptureDetails answers captures without purchase_units, as PayPal's minimal
	// representation may (PayPal does not document it), so clients must GET the order.
	OmitCaptureDetails bool
	// PendingRefunds answers refunds with status PENDING (as an eCheck-funded capture's are,
	// status_details.reason ECHECK) instead of COMPLETED.
	PendingRefunds bool
}

// Server is a running simulator (New) or, through Handler, one to mount on another server.
type Server struct {
	// URL is the root of the running simulator, e.g. http://127.0.0.1:41234; the API base a
	// client is given.
	URL string

	opts    Options
	now     func() time.Time
	httpSrv *httptest.Server
	handler http.Handler
	page    *template.Template

	mu            sync.Mutex
	tokens        map[string]bool
	orders        map[string]*order
	captures      map[string]*capture
	refunds       map[string]*refund
	replays       map[string][]byte // "<route> <PayPal-Request-Id>" → first answer's body
	transmissions map[string]Delivery
	deliveries    []Delivery
	faults        []int             // statuses the next API requests answer with
	declines      map[string]string // order id → issue its next capture fails with
	requests      map[string]int    // by route pattern, e.g. "POST /v2/checkout/orders"
}

// New starts a simulator on a local port; call Close when done.
func New(o Options) *Server {
	s := NewHandler(o)
	s.httpSrv = httptest.NewServer(s.handler)
	s.URL = s.httpSrv.URL
	return s
}

// NewHandler returns a simulator that is not listening, to mount Handler elsewhere.
func NewHandler(o Options) *Server {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		opts:          o,
		now:           now,
		tokens:        map[string]bool{},
		orders:        map[string]*order{},
		captures:      map[string]*capture{},
		refunds:       map[string]*refund{},
		replays:       map[string][]byte{},
		transmissions: map[string]Delivery{},
		declines:      map[string]string{},
		requests:      map[string]int{},
		page:          parseApprovePage(),
	}
	s.handler = s.routes()
	return s
}

// Handler serves the simulated API and approve page.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops a simulator started by New.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", s.api(false, s.token))
	mux.HandleFunc("POST /v2/checkout/orders", s.api(true, s.createOrder))
	mux.HandleFunc("GET /v2/checkout/orders/{id}", s.api(true, s.getOrder))
	mux.HandleFunc("POST /v2/checkout/orders/{id}/capture", s.api(true, s.captureOrder))
	mux.HandleFunc("GET /v2/payments/captures/{id}", s.api(true, s.getCapture))
	mux.HandleFunc("POST /v2/payments/captures/{id}/refund", s.api(true, s.refundCapture))
	mux.HandleFunc("POST /v1/notifications/verify-webhook-signature", s.api(true, s.verifyWebhook))
	mux.HandleFunc("GET /checkoutnow", s.approvePage)
	mux.HandleFunc("POST /checkoutnow", s.approveForm)
	mux.HandleFunc("/", s.api(false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, detail{Issue: "INVALID_RESOURCE_ID", Description: "No route for " + r.Method + " " + r.URL.Path})
	}))
	return mux
}

// FailNext makes the next n API requests (the token endpoint included) answer status, e.g.
// 500 INTERNAL_SERVER_ERROR or 429 RATE_LIMIT_REACHED, without touching any state.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, status)
	}
}

// Requests reports how many requests reached a route, e.g.
// "POST /v1/notifications/verify-webhook-signature", failed ones included.
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// api counts the request, answers an injected fault if one is due and, when auth is set,
// requires a Bearer token the token endpoint issued.
func (s *Server) api(auth bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.Pattern]++
		fault := 0
		if len(s.faults) > 0 {
			fault, s.faults = s.faults[0], s.faults[1:]
		}
		token, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		authorized := hasBearer && s.tokens[token]
		s.mu.Unlock()
		switch {
		case fault != 0:
			writeError(w, fault)
		case auth && !authorized:
			writeError(w, http.StatusUnauthorized)
		default:
			h(w, r)
		}
	}
}

// token issues an access token for the configured client (POST /v1/oauth2/token). Errors use
// the OAuth shape {"error","error_description"}, not the REST envelope, as PayPal's do.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.opts.ClientID || secret != s.opts.Secret || s.opts.ClientID == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL or not supported"})
		return
	}
	tok := "A21AA" + randomHex(24)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"scope":        "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
		"access_token": tok,
		"token_type":   "Bearer",
		"app_id":       "APP-80W284485P519543T",
		"expires_in":   32400, // a JSON number: plutov fails on strings
		"nonce":        s.now().UTC().Format(time.RFC3339) + randomHex(8),
	})
}

// replayed answers a POST again with its first answer when its PayPal-Request-Id was seen on
// this route. Only successes are kept: a failed attempt (say, capturing before approval) may
// be retried with the same id once the cause is gone. Call with s.mu held.
func (s *Server) replayed(w http.ResponseWriter, r *http.Request) bool {
	key := replayKey(r)
	if key == "" {
		return false
	}
	body, ok := s.replays[key]
	if ok {
		writeRaw(w, http.StatusOK, body)
	}
	return ok
}

// remember keeps a success for replays and writes it with status. Call with s.mu held.
func (s *Server) remember(w http.ResponseWriter, r *http.Request, status int, v any) {
	body := mustJSON(v)
	if key := replayKey(r); key != "" {
		s.replays[key] = body
	}
	writeRaw(w, status, body)
}

func replayKey(r *http.Request) string {
	id := r.Header.Get("PayPal-Request-Id")
	if id == "" {
		return ""
	}
	return r.Method + " " + r.URL.Path + " " + id
}

// baseURL is the scheme and host the request came to, for links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// newID returns an id in PayPal's style: 17 upper-case letters and digits.
func newID() string {
	const alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
	var b [17]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: encode %T: %v", v, err)) // only our own plain structs are encoded
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) { writeRaw(w, status, mustJSON(v)) }

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Paypal-Debug-Id", randomHex(7))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
